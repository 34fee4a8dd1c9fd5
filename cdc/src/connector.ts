import {
  type BackoffPolicy,
  backoffDelay,
  briskError,
  type Clock,
  DEFAULT_BACKOFF,
  type DecimalHandling,
  formatLsn,
  isRetriable,
  type Logger,
  type Lsn,
  type Metrics,
  sleep,
  systemClock,
} from '@brisk/core';
import pg from 'pg';
import {
  buildEvent,
  buildSource,
  type EnvelopeOptions,
  keyFromRow,
  rowFromTuple,
  type SourceChange,
  type TransactionContext,
} from './envelope.ts';
import { PgoutputDecoder, type PgoutputMessage } from './pgoutput.ts';
import { ensureSlot, type PreflightReport, preflight, type SourceSpec, slotLagBytes } from './preflight.ts';
import { ReplicationConnection } from './replication.ts';

/** A transaction (or, for a very large one, a chunk of it) handed downstream in commit order. */
export interface TransactionBatch {
  readonly changes: readonly SourceChange[];
  readonly xid: number;
  readonly commitTimeUs: number;
  /** Where the slot may be confirmed once this batch, and all before it, are durable. Null on non-final chunks. */
  readonly endLsn: Lsn | null;
}

export interface ChangeSink {
  /**
   * Resolves once the batch's effects are durable downstream. Rejects only when they cannot be made durable:
   * a retriable error makes the connector reconnect and replay from the slot, any other stops it.
   */
  write(batch: TransactionBatch): Promise<void>;
}

const DRAIN_TIMEOUT_MS = 5_000;

/** Stands in for a transaction when only a position (from a keepalive) is handed downstream. */
const KEEPALIVE_CONTEXT: TransactionContext = { xid: 0, commitTimeUs: 0, lastCommitLsn: null };

export type ConnectorState =
  | 'idle'
  | 'connecting'
  | 'streaming'
  | 'backoff'
  | 'stopping'
  | 'stopped'
  | 'failed';

/** Every state lists where it may go; `satisfies` makes a forgotten state a compile error. */
const TRANSITIONS = {
  idle: ['connecting', 'stopping'],
  connecting: ['streaming', 'backoff', 'stopping', 'failed'],
  streaming: ['backoff', 'stopping', 'failed'],
  backoff: ['connecting', 'stopping', 'failed'],
  stopping: ['stopped'],
  stopped: [],
  failed: [],
} as const satisfies Record<ConnectorState, readonly ConnectorState[]>;

export interface ConnectorOptions {
  readonly connectionString: string;
  readonly source: SourceSpec;
  readonly topicPrefix: string;
  readonly decimalHandling: DecimalHandling;
  /** Status update period; each one asks the server for its position so an idle slot advances too. */
  readonly heartbeatMs: number;
  readonly sink: ChangeSink;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly backoff?: BackoffPolicy;
  /** Events handed downstream but not yet durable, beyond which the socket is paused (the slot holds the WAL). */
  readonly maxInFlightEvents?: number;
  /** A transaction larger than this is handed downstream in chunks rather than buffered whole. */
  readonly maxChunkEvents?: number;
}

interface AckEntry {
  /** Null for a non-final chunk: its completion allows nothing to be confirmed by itself. */
  readonly lsn: Lsn | null;
  done: boolean;
}

interface OpenTransaction {
  readonly context: TransactionContext;
  changes: SourceChange[];
  counts: Map<string, number>;
}

/** One connection's worth of stream state; replaced wholesale on reconnect so late completions are ignored. */
interface Session {
  readonly connection: ReplicationConnection;
  readonly decoder: PgoutputDecoder;
  /** Pending acknowledgements in stream order; entries before `ackHead` are settled and skipped. */
  acks: AckEntry[];
  ackHead: number;
  received: Lsn;
  /** The highest position handed downstream so far. */
  queued: Lsn;
  confirmed: Lsn;
  sentConfirmed: Lsn;
  statusScheduled: boolean;
  tx: OpenTransaction | null;
  lastCommitLsn: Lsn | null;
  inFlightEvents: number;
  paused: boolean;
  fail: (error: unknown) => void;
}

export class Connector {
  private readonly options: ConnectorOptions;
  private readonly clock: Clock;
  private readonly pool: pg.Pool;
  private readonly log: Logger;
  private readonly maxInFlight: number;
  private readonly maxChunk: number;
  private stateValue: ConnectorState = 'idle';
  private readonly listeners = new Set<(state: ConnectorState) => void>();
  private session: Session | null = null;
  private stopSignal = new AbortController();
  private running: Promise<void> | null = null;
  private envelope: EnvelopeOptions | null = null;
  private report: PreflightReport | null = null;
  private failure: unknown = null;

  constructor(options: ConnectorOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.log = options.logger.child({ component: 'cdc' });
    this.maxInFlight = options.maxInFlightEvents ?? 4000;
    this.maxChunk = options.maxChunkEvents ?? 1000;
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: 2,
      application_name: 'brisk-connector-sql',
    });
    this.pool.on('error', (error) => this.log.warn({ err: error }, 'idle PostgreSQL connection failed'));
  }

  get state(): ConnectorState {
    return this.stateValue;
  }

  /** The position confirmed to PostgreSQL as durably applied, or null before the first connection. */
  get confirmedLsn(): Lsn | null {
    return this.session?.confirmed ?? null;
  }

  onStateChange(listener: (state: ConnectorState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Starts the connect/stream/reconnect loop. Resolves when the stream is first open; rejects if the source
   * can never work (configuration, privileges) — retriable failures are retried with backoff instead.
   */
  start(): Promise<void> {
    if (this.running) throw new Error('connector already started');
    const firstStream = new Promise<void>((resolve, reject) => {
      const off = this.onStateChange((state) => {
        if (state === 'streaming') {
          off();
          resolve();
        } else if (state === 'failed' || state === 'stopped') {
          off();
          reject(this.failure ?? briskError('BRISK_REPLICATION_LOST', 'connector stopped before streaming'));
        }
      });
    });
    this.running = this.run();
    return firstStream;
  }

  /** Settles when the connector has stopped for good: resolves after stop(), rejects with a fatal error. */
  async done(): Promise<void> {
    await this.running;
    if (this.stateValue === 'failed') throw this.failure;
  }

  /** Stops reading, lets in-flight batches finish (at most DRAIN_TIMEOUT_MS), confirms what is durable, closes. */
  async stop(): Promise<void> {
    if (this.stateValue === 'stopped' || this.stateValue === 'failed') return;
    if (!this.running) {
      this.transition('stopping');
      this.transition('stopped');
      await this.pool.end();
      return;
    }
    this.stopSignal.abort();
    await this.running;
  }

  async slotLagBytes(): Promise<number | null> {
    return slotLagBytes(this.pool, this.options.source.slot);
  }

  private async run(): Promise<void> {
    let attempt = 0;
    const signal = this.stopSignal.signal;
    while (!signal.aborted) {
      this.transition('connecting');
      try {
        await this.connectAndStream(signal, () => {
          attempt = 0;
        });
      } catch (error) {
        if (signal.aborted) break;
        if (!isRetriable(error)) {
          this.failure = error;
          this.log.error({ err: error }, 'connector failed; it will not retry');
          this.transition('failed');
          this.options.metrics.connectorStreaming.set(0);
          await this.pool.end().catch(() => {});
          return;
        }
        const delay = backoffDelay(attempt++, this.options.backoff ?? DEFAULT_BACKOFF);
        this.log.warn({ err: error, retryInMs: delay }, 'replication stream interrupted; reconnecting');
        this.options.metrics.connectorReconnects.inc();
        this.transition('backoff');
        await sleep(delay, signal);
      }
    }
    this.transition('stopping');
    this.transition('stopped');
    this.options.metrics.connectorStreaming.set(0);
    await this.pool.end().catch(() => {});
  }

  private async connectAndStream(signal: AbortSignal, onStreaming: () => void): Promise<void> {
    const { source } = this.options;
    // Quiet: the pipeline ran the same checks at start and gave their advice once; here they only guard.
    this.report = await preflight(this.pool, source);
    const slot = await ensureSlot(this.pool, source.slot);
    if (slot.created) this.log.info({ slot: source.slot }, 'created durable replication slot');
    this.envelope = {
      topicPrefix: this.options.topicPrefix,
      database: this.report.database,
      decimalHandling: this.options.decimalHandling,
      nowUs: () => this.clock.nowUs(),
    };

    let failStream: (error: unknown) => void = () => {};
    const streamFailed = new Promise<never>((_, reject) => {
      failStream = reject;
    });
    // It may fail during the very first socket read, before the race below listens.
    streamFailed.catch(() => {});
    const start = slot.confirmedFlushLsn ?? 0;
    // The session exists before START_REPLICATION is sent: the first messages can arrive in the same socket
    // read as the server's CopyBothResponse, before `start()` resolves, and none of them may be missed.
    const session: Session = {
      connection: new ReplicationConnection({
        connectionString: this.options.connectionString,
        slot: source.slot,
        publication: source.publication,
        handlers: {
          onData: (walStart, payload) => {
            try {
              this.onMessage(session, walStart, session.decoder.decode(payload));
            } catch (error) {
              session.fail(error);
            }
          },
          onKeepalive: (walEnd, replyRequested) => this.onKeepalive(session, walEnd, replyRequested),
        },
      }),
      decoder: new PgoutputDecoder(),
      acks: [],
      ackHead: 0,
      received: start,
      queued: start,
      confirmed: start,
      sentConfirmed: start,
      statusScheduled: false,
      tx: null,
      lastCommitLsn: slot.confirmedFlushLsn,
      inFlightEvents: 0,
      paused: false,
      fail: (error) => failStream(error),
    };
    const { connection } = session;
    this.session = session;
    try {
      await connection.start();
    } catch (error) {
      this.session = null;
      throw error;
    }
    this.options.metrics.slotConfirmedLsn.set(start);
    this.options.metrics.connectorStreaming.set(1);
    this.transition('streaming');
    onStreaming();
    this.log.info({ slot: source.slot, from: formatLsn(start) }, 'streaming changes');

    const heartbeat = setInterval(() => {
      const current = this.session;
      if (current === session) current.connection.sendStatus(current.received, current.confirmed, true);
    }, this.options.heartbeatMs);
    const stopped = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    try {
      await Promise.race([connection.ended, streamFailed, stopped]);
      if (!signal.aborted) {
        throw briskError('BRISK_REPLICATION_LOST', 'the server ended the replication stream');
      }
      await this.drain(session);
    } finally {
      clearInterval(heartbeat);
      this.options.metrics.connectorStreaming.set(0);
      if (this.session === session) this.session = null;
      await connection.close();
    }
  }

  /** On stop: wait (bounded) for batches already handed downstream, then confirm what became durable. */
  private async drain(session: Session): Promise<void> {
    this.transition('stopping');
    session.connection.pause();
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (session.acks.slice(session.ackHead).some((a) => !a.done) && Date.now() < deadline) await sleep(5);
    if (session.confirmed !== session.sentConfirmed) {
      session.connection.sendStatus(session.received, session.confirmed);
      session.sentConfirmed = session.confirmed;
    }
  }

  private onMessage(session: Session, walStart: Lsn, message: PgoutputMessage): void {
    if (walStart > session.received) session.received = walStart;
    switch (message.tag) {
      case 'begin':
        session.tx = {
          context: {
            xid: message.xid,
            commitTimeUs: message.commitTimeUs,
            lastCommitLsn: session.lastCommitLsn,
          },
          changes: [],
          counts: new Map(),
        };
        return;
      case 'commit': {
        const tx = this.openTx(session, 'commit');
        session.tx = null;
        session.lastCommitLsn = message.commitLsn;
        this.handOff(session, tx, message.endLsn);
        this.options.metrics.cdcTransactions.inc();
        this.options.metrics.commitToDecode.observe(
          Math.max(0, this.clock.nowUs() - message.commitTimeUs) / 1e6,
        );
        for (const [label, count] of tx.counts) {
          const [table, op] = label.split('\u0000') as [string, string];
          this.options.metrics.cdcEvents.inc({ table, op }, count);
        }
        return;
      }
      case 'insert':
      case 'update':
      case 'delete': {
        const tx = this.openTx(session, message.tag);
        const envelope = this.envelope!;
        const { relation } = message;
        const source = buildSource(relation, tx.context, walStart, envelope);
        let change: SourceChange;
        if (message.tag === 'insert') {
          const after = rowFromTuple(relation, message.after, envelope);
          change = {
            key: keyFromRow(relation, after),
            event: buildEvent('c', null, after, source, envelope),
            columns: relation.columns,
          };
        } else if (message.tag === 'update') {
          const before =
            message.before === null
              ? null
              : rowFromTuple(relation, message.before, envelope, message.beforeIsKeyOnly);
          const after = rowFromTuple(relation, message.after, envelope);
          change = {
            key: keyFromRow(relation, after),
            event: buildEvent('u', before, after, source, envelope),
            columns: relation.columns,
          };
        } else {
          const before = rowFromTuple(relation, message.before, envelope, message.beforeIsKeyOnly);
          change = {
            key: keyFromRow(relation, before),
            event: buildEvent('d', before, null, source, envelope),
            columns: relation.columns,
          };
        }
        this.push(session, tx, change, `${relation.schema}.${relation.table}`);
        return;
      }
      case 'truncate': {
        const tx = this.openTx(session, 'truncate');
        for (const relation of message.relations) {
          const source = buildSource(relation, tx.context, walStart, this.envelope!);
          const change = { key: null, event: buildEvent('t', null, null, source, this.envelope!) };
          this.push(session, tx, change, `${relation.schema}.${relation.table}`);
        }
        return;
      }
      default:
        // relation and type messages only feed the decoder's cache; origin and logical messages carry no rows.
        return;
    }
  }

  private openTx(session: Session, what: string): OpenTransaction {
    if (!session.tx) throw briskError('BRISK_PGOUTPUT_PROTOCOL', `pgoutput: ${what} outside a transaction`);
    return session.tx;
  }

  private push(session: Session, tx: OpenTransaction, change: SourceChange, table: string): void {
    tx.changes.push(change);
    const label = `${table}\u0000${change.event.op}`;
    tx.counts.set(label, (tx.counts.get(label) ?? 0) + 1);
    if (tx.changes.length >= this.maxChunk) {
      this.handOff(session, tx, null);
      tx.changes = [];
    }
  }

  /**
   * Hands a batch downstream and queues its acknowledgement behind every earlier one. Batches without changes
   * (an empty transaction, a keepalive position) go downstream too: the store records every position before
   * PostgreSQL is told, so its checkpoint is never behind the slot and a restart can tell a healthy Redis
   * from one that lost data.
   */
  private handOff(session: Session, tx: OpenTransaction, endLsn: Lsn | null): void {
    const entry: AckEntry = { lsn: endLsn, done: false };
    session.acks.push(entry);
    if (endLsn !== null && endLsn > session.queued) session.queued = endLsn;
    const count = tx.changes.length;
    session.inFlightEvents += count;
    if (!session.paused && session.inFlightEvents >= this.maxInFlight) {
      session.paused = true;
      session.connection.pause();
    }
    const batch: TransactionBatch = {
      changes: tx.changes,
      xid: tx.context.xid,
      commitTimeUs: tx.context.commitTimeUs,
      endLsn,
    };
    this.options.sink.write(batch).then(
      () => {
        entry.done = true;
        session.inFlightEvents -= count;
        if (session.paused && session.inFlightEvents < this.maxInFlight / 2) {
          session.paused = false;
          session.connection.resume();
        }
        this.advance(session);
      },
      (error: unknown) => session.fail(error),
    );
  }

  private onKeepalive(session: Session, walEnd: Lsn, replyRequested: boolean): void {
    if (walEnd > session.received) session.received = walEnd;
    // Between transactions, the server has sent everything committed before walEnd: once the batches already
    // handed downstream are durable, nothing before walEnd is owed. This is what lets a slot advance while the
    // captured table is idle and the rest of the database is busy.
    if (session.tx === null && walEnd > session.queued && walEnd > session.confirmed) {
      this.handOff(session, { context: KEEPALIVE_CONTEXT, changes: [], counts: new Map() }, walEnd);
    }
    if (replyRequested) {
      session.connection.sendStatus(session.received, session.confirmed);
      session.sentConfirmed = session.confirmed;
    }
  }

  private advance(session: Session): void {
    const { acks } = session;
    let confirmed = session.confirmed;
    let head = session.ackHead;
    while (head < acks.length && acks[head]!.done) {
      const lsn = acks[head]!.lsn;
      if (lsn !== null && lsn > confirmed) confirmed = lsn;
      head++;
    }
    // Settled entries are dropped in bulk: shifting the array once per transaction is quadratic in a backlog.
    if (head > 4096 && head * 2 > acks.length) {
      session.acks = acks.slice(head);
      head = 0;
    }
    session.ackHead = head;
    if (confirmed === session.confirmed) return;
    session.confirmed = confirmed;
    this.options.metrics.slotConfirmedLsn.set(confirmed);
    if (session.statusScheduled) return;
    // One status message per event-loop turn however many batches completed in it.
    session.statusScheduled = true;
    setImmediate(() => {
      session.statusScheduled = false;
      if (this.session !== session || session.sentConfirmed === session.confirmed) return;
      session.connection.sendStatus(session.received, session.confirmed);
      session.sentConfirmed = session.confirmed;
    });
  }

  private transition(next: ConnectorState): void {
    const current = this.stateValue;
    if (current === next) return;
    if (!(TRANSITIONS[current] as readonly ConnectorState[]).includes(next)) {
      throw new Error(`connector: illegal transition ${current} -> ${next}`);
    }
    this.stateValue = next;
    for (const listener of this.listeners) listener(next);
  }
}
