import type { ServerResponse } from 'node:http';
import type { Metrics } from '@brisk/core';
import type { ChangeFeed } from './waiters.ts';

/**
 * Server-sent feature streams. One listener on the store's change feed dispatches each change to the streams
 * of that user only (a map lookup, never a scan of every stream). Each event is the user's whole vector at a
 * version, so a stream never needs a queue: while a client is slow, newer changes only raise the version the
 * next event will carry, and a client that does not read for `slowClientMs` is disconnected. Memory per stream
 * is bounded by one event in the socket buffer, whatever the change rate.
 */
export interface StreamPayload {
  readonly version: number;
  /** Commit time of the newest event folded in, microseconds; null for a user with no events. */
  readonly commitUs: number | null;
  readonly json: string;
}

export interface StreamOptions {
  readonly feed: ChangeFeed;
  /** Called when the change feed may have missed notifications (a reconnect): every stream re-reads. */
  readonly resync?: (listener: () => void) => () => void;
  /** The user's current vector, serialised. */
  readonly read: (userId: string) => Promise<StreamPayload>;
  readonly metrics: Metrics;
  readonly heartbeatMs: number;
  readonly slowClientMs: number;
  readonly maxStreams: number;
  readonly nowUs: () => number;
  readonly onError: (error: unknown, userId: string) => void;
}

class Stream {
  /** The version of the last event written; -1 before the first. */
  sent: number;
  private dirty = true;
  private pumping = false;
  private closed = false;
  private heartbeat: NodeJS.Timeout;
  private slowTimer: NodeJS.Timeout | null = null;
  private delivered = false;

  constructor(
    readonly userId: string,
    private readonly response: ServerResponse,
    lastEventId: number | null,
    private readonly owner: FeatureStreams,
  ) {
    this.sent = lastEventId ?? -1;
    this.heartbeat = setInterval(() => this.write(': hb\n\n'), owner.options.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Something changed for this user (or may have): make sure an event with the newest version follows. */
  poke(): void {
    this.dirty = true;
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    const { options } = this.owner;
    try {
      while (this.dirty && !this.closed && this.slowTimer === null) {
        this.dirty = false;
        const payload = await options.read(this.userId);
        if (this.closed) return;
        // The first event always goes out, unless Last-Event-ID says the client already has this version.
        if (payload.version === this.sent) continue;
        // The first event of a connection is a catch-up (a new stream, or a reconnect with Last-Event-ID),
        // not a push of a change that just happened: it is not a commit -> push latency.
        const initial = !this.delivered;
        this.delivered = true;
        this.sent = payload.version;
        this.write(`id: ${payload.version}\nevent: features\ndata: ${payload.json}\n\n`);
        options.metrics.streamEvents.inc();
        if (!initial && payload.commitUs !== null) {
          options.metrics.commitToPush.observe(Math.max(0, options.nowUs() - payload.commitUs) / 1e6);
        }
      }
    } catch (error) {
      // The store is unreachable: end the stream; the client's EventSource reconnects with Last-Event-ID.
      options.onError(error, this.userId);
      this.close();
    } finally {
      this.pumping = false;
    }
  }

  private write(chunk: string): void {
    if (this.closed || this.slowTimer !== null) return;
    if (this.response.write(chunk)) return;
    // The socket buffer is full: nothing more is written until it drains; too long, and the client is dropped.
    this.slowTimer = setTimeout(() => {
      this.owner.options.metrics.streamsDropped.inc({ reason: 'slow_client' });
      this.close();
    }, this.owner.options.slowClientMs);
    this.response.once('drain', () => {
      if (this.slowTimer !== null) clearTimeout(this.slowTimer);
      this.slowTimer = null;
      if (this.dirty) this.poke();
    });
  }

  close(): void {
    if (this.closed) return;

    this.closed = true;
    clearInterval(this.heartbeat);
    if (this.slowTimer !== null) clearTimeout(this.slowTimer);
    this.owner.remove(this);
    this.response.destroy();
  }
}

export class FeatureStreams {
  private readonly byUser = new Map<string, Set<Stream>>();
  private count = 0;
  private readonly unsubscribe: () => void;
  private readonly unsubscribeResync: () => void;

  constructor(readonly options: StreamOptions) {
    this.unsubscribe = options.feed((changes) => {
      for (const { userId, version } of changes) {
        const streams = this.byUser.get(userId);
        if (!streams) continue;
        for (const stream of streams) if (version > stream.sent) stream.poke();
      }
    });
    this.unsubscribeResync =
      options.resync?.(() => {
        for (const streams of this.byUser.values()) for (const stream of streams) stream.poke();
      }) ?? (() => {});
  }

  get size(): number {
    return this.count;
  }

  /** False when the limit of open streams is reached (the caller answers 503). */
  canOpen(): boolean {
    return this.count < this.options.maxStreams;
  }

  /** Takes over a response whose headers are not sent yet and keeps it open until either side closes. */
  open(userId: string, response: ServerResponse, lastEventId: number | null): void {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // Proxies such as nginx buffer responses unless told not to; a buffered stream is not live.
      'x-accel-buffering': 'no',
    });
    // Ask EventSource to come back quickly after a drop; it then sends Last-Event-ID.
    response.write('retry: 1000\n\n');
    const stream = new Stream(userId, response, lastEventId, this);
    response.once('close', () => stream.close());
    const streams = this.byUser.get(userId);
    if (streams) streams.add(stream);
    else this.byUser.set(userId, new Set([stream]));
    this.count++;
    this.options.metrics.streams.set(this.count);
    stream.poke();
  }

  remove(stream: Stream): void {
    const streams = this.byUser.get(stream.userId);
    if (!streams?.delete(stream)) return;
    if (streams.size === 0) this.byUser.delete(stream.userId);
    this.count--;
    this.options.metrics.streams.set(this.count);
  }

  close(): void {
    this.unsubscribe();
    this.unsubscribeResync();
    for (const streams of [...this.byUser.values()]) for (const stream of [...streams]) stream.close();
  }
}
