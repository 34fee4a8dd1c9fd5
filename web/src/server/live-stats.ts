import type { ServerResponse } from 'node:http';
import type { PipelineStats } from '../app/services.ts';
import { formatSse } from '../app/sse.ts';
import { openEventStream } from './http.ts';

/**
 * `GET /live/stats`: the pipeline figures once a second as server-sent events, for the /live dashboard.
 * However many dashboards are open, one poller per process asks the feature API (a hundred open tabs must not
 * become a hundred requests a second); it runs only while at least one client listens. A client that joins
 * gets the newest event at once (at most one interval old), or the first poll's, which starts immediately.
 */
const MAX_BUFFERED_BYTES = 256 * 1024;

export interface StatsHubOptions {
  readonly fetchStats: (signal: AbortSignal) => Promise<PipelineStats | null>;
  readonly intervalMs?: number;
}

export class StatsHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private last: string | null = null;
  /**
   * Bumped by stop(): a poll still awaiting the API when the last client left must not carry on as a second
   * poller once a new client has started a fresh one.
   */
  private generation = 0;
  /** Polls made, for tests: one poller means this grows with time, not with clients. */
  polls = 0;

  constructor(private readonly options: StatsHubOptions) {
    this.intervalMs = options.intervalMs ?? 1_000;
  }

  get size(): number {
    return this.clients.size;
  }

  add(response: ServerResponse): void {
    openEventStream(response);
    if (this.last !== null) response.write(this.last);
    this.clients.add(response);
    response.on('close', () => {
      this.clients.delete(response);
      if (this.clients.size === 0) this.stop();
    });
    if (!this.running) {
      this.running = true;
      void this.poll();
    }
  }

  /** Ends every client stream and the poller. */
  close(): void {
    for (const client of this.clients) client.end();
    this.clients.clear();
    this.stop();
  }

  private stop(): void {
    this.running = false;
    this.generation++;
    this.last = null;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private async poll(): Promise<void> {
    const generation = this.generation;
    const started = performance.now();
    this.polls++;
    const stats = await this.options
      .fetchStats(AbortSignal.timeout(Math.max(100, this.intervalMs - 100)))
      .catch(() => null);
    if (!this.running || generation !== this.generation) return;
    this.last =
      stats === null
        ? formatSse('unavailable', JSON.stringify({ message: 'The feature API is not answering; retrying.' }))
        : formatSse('stats', JSON.stringify(stats));
    for (const client of this.clients) {
      // A dashboard that stops reading would buffer an event a second for ever; it reconnects when it wakes.
      if (client.writableLength > MAX_BUFFERED_BYTES) client.destroy();
      else client.write(this.last);
    }
    const wait = Math.max(0, this.intervalMs - (performance.now() - started));
    this.timer = setTimeout(() => void this.poll(), wait);
    this.timer.unref();
  }
}
