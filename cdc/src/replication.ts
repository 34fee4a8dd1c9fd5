import type { Socket } from 'node:net';
import { BriskError, briskError, type Lsn, PG_EPOCH_US, readLsn, writeLsn } from '@brisk/core';
import pg from 'pg';

/**
 * One logical replication connection: START_REPLICATION on a named slot, XLogData and keepalives in, standby
 * status updates out. No retry and no decoding here; the connector owns the lifecycle.
 *
 * We send our own status updates instead of pg-logical-replication's: its acknowledge(lsn) reports lsn + 1,
 * and because the next transaction's records may begin exactly at the previous commit's end LSN, a crash
 * after such an ack can skip that transaction; its timer also acknowledges the last *seen* LSN (issue #22).
 * Here the flush position is exactly what the caller says is durable, and nothing else.
 */
export interface ReplicationHandlers {
  /** One XLogData message: the WAL start of its record and the pgoutput payload. */
  onData(walStart: Lsn, payload: Buffer): void;
  /** A primary keepalive: the server has sent everything up to walEnd. */
  onKeepalive(walEnd: Lsn, replyRequested: boolean): void;
}

export interface ReplicationOptions {
  readonly connectionString: string;
  readonly slot: string;
  readonly publication: string;
  readonly handlers: ReplicationHandlers;
}

/** The parts of node-postgres' connection object we drive directly (not in its public types). */
interface WireConnection {
  on(event: 'copyData', listener: (message: { chunk: Buffer }) => void): void;
  once(event: 'replicationStart', listener: () => void): void;
  sendCopyFromChunk(chunk: Buffer): void;
  stream: Socket;
}

const SLOT_NAME = /^[a-z0-9_]{1,63}$/;
const PUBLICATION_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export class ReplicationConnection {
  private readonly client: pg.Client;
  private readonly wire: WireConnection;
  private readonly options: ReplicationOptions;
  private closing = false;
  private endedPromise: Promise<void> | null = null;

  /**
   * Creates the connection object without connecting, so callers hold it (and can pause or answer through
   * it) before the first message can possibly arrive: messages that follow CopyBothResponse in the same socket
   * read are delivered synchronously, before any promise continuation runs.
   */
  constructor(options: ReplicationOptions) {
    // Identifiers cannot be bound as parameters in replication commands; they come from validated config, and
    // are checked again here so this module is safe on its own.
    if (!SLOT_NAME.test(options.slot)) throw new TypeError(`invalid slot name '${options.slot}'`);
    if (!PUBLICATION_NAME.test(options.publication)) {
      throw new TypeError(`invalid publication name '${options.publication}'`);
    }
    this.options = options;
    this.client = new pg.Client({
      connectionString: options.connectionString,
      replication: 'database',
      application_name: 'brisk-connector',
      // Text output of timestamptz in UTC with ISO layout, the one shape values.ts has a fast path for.
      options: '-c TimeZone=UTC -c DateStyle=ISO -c extra_float_digits=3',
    } as pg.ClientConfig);
    this.client.on('error', () => {
      // Surfaced through the START_REPLICATION promise; an unhandled 'error' event would crash the process.
    });
    this.wire = (this.client as unknown as { connection: WireConnection }).connection;
  }

  /** Settles when the stream ends: resolves after close(), rejects when the server or network ends it. */
  get ended(): Promise<void> {
    return this.endedPromise ?? Promise.resolve();
  }

  /** Connects and starts streaming; resolves once the server has switched to CopyBoth mode. */
  async start(): Promise<void> {
    const { handlers, slot, publication } = this.options;
    try {
      await this.client.connect();
    } catch (error) {
      await this.client.end().catch(() => {});
      throw classify(error);
    }
    this.wire.on('copyData', ({ chunk }) => {
      const kind = chunk[0];
      if (kind === 0x77) {
        // 'w': XLogData = walStart(8) walEnd(8) sendTime(8) payload
        handlers.onData(readLsn(chunk, 1), chunk.subarray(25));
      } else if (kind === 0x6b) {
        // 'k': keepalive = walEnd(8) sendTime(8) replyRequested(1)
        handlers.onKeepalive(readLsn(chunk, 1), chunk[17] === 1);
      }
    });
    const started = new Promise<void>((resolve) => this.wire.once('replicationStart', resolve));
    const command =
      `START_REPLICATION SLOT "${slot}" LOGICAL 0/0 ` +
      `(proto_version '1', publication_names '"${publication}"')`;
    this.endedPromise = this.client.query(command).then(
      () => undefined,
      (error: unknown) => {
        if (this.closing) return undefined;
        throw classify(error);
      },
    );
    try {
      await Promise.race([started, this.endedPromise]);
    } catch (error) {
      await this.client.end().catch(() => {});
      throw error;
    }
  }

  /**
   * Standby status update. `flushed` moves the slot's confirmed_flush_lsn: everything committed before it is
   * never sent again, so it must only cover work that is durable downstream.
   */
  sendStatus(received: Lsn, flushed: Lsn, replyRequested = false): void {
    if (this.closing) return;
    const message = Buffer.alloc(34);
    message[0] = 0x72; // 'r'
    writeLsn(message, received, 1);
    writeLsn(message, flushed, 9);
    writeLsn(message, flushed, 17);
    const clientTimeUs = Math.round((performance.timeOrigin + performance.now()) * 1000) - PG_EPOCH_US;
    message.writeUInt32BE(Math.floor(clientTimeUs / 4_294_967_296), 25);
    message.writeUInt32BE(clientTimeUs % 4_294_967_296, 29);
    message[33] = replyRequested ? 1 : 0;
    this.wire.sendCopyFromChunk(message);
  }

  /** Stop reading from the socket: the server keeps the WAL in the slot instead of us buffering it. */
  pause(): void {
    this.wire.stream.pause();
  }

  resume(): void {
    this.wire.stream.resume();
  }

  async close(): Promise<void> {
    if (this.closing) return this.ended.catch(() => {});
    this.closing = true;
    this.wire.stream.resume();
    await this.client.end().catch(() => {});
    await this.ended.catch(() => {});
  }
}

/** Maps driver and server errors to Brisk codes; SQLSTATEs from the PostgreSQL error code appendix. */
export function classify(error: unknown): BriskError {
  if (error instanceof BriskError) return error;
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  const text = message ?? String(error);
  if (code === '55006') {
    return briskError(
      'BRISK_SLOT_IN_USE',
      `${text}. Another connector holds the slot; Brisk retries until it is free.`,
      error,
    );
  }
  if (code === '42704') {
    return briskError(
      'BRISK_SLOT_MISMATCH',
      `${text}. The slot disappeared; restart Brisk to recreate it.`,
      error,
    );
  }
  if (code === '42501' || code === '28000') {
    return briskError(
      'BRISK_PG_PRIVILEGE',
      `${text}. Grant replication to the role: ALTER ROLE <user> WITH REPLICATION; and allow it in pg_hba.conf.`,
      error,
    );
  }
  if (code === '28P01' || code === '3D000') {
    return briskError('BRISK_CONFIG_INVALID', `DATABASE_URL was refused: ${text}`, error);
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || code === '57P03') {
    return briskError('BRISK_PG_UNREACHABLE', `PostgreSQL is unreachable: ${text}`, error);
  }
  return briskError('BRISK_REPLICATION_LOST', `replication stream ended: ${text}`, error);
}
