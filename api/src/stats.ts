import type { Metrics } from '@brisk/core';

/**
 * Recent pipeline figures for dashboards (`GET /api/v1/stats`). Prometheus histograms are cumulative since
 * the process started; a dashboard wants "now". Once a second the sampler copies the few counters it needs, and
 * a read compares the newest copy with the one WINDOW_MS older: rates and percentiles over the last seconds,
 * read from the same buckets /metrics exports (so a percentile is exact to one bucket, 0.25 ms below 2 ms).
 */
const SAMPLE_MS = 1_000;
const WINDOW_MS = 10_000;
/** A sample younger than this is replaced rather than kept: reads sample too, and may come in bursts. */
const MIN_SPACING_MS = 200;

interface Buckets {
  /** Upper bounds (seconds) and cumulative counts, as prom-client reports them. */
  readonly le: number[];
  readonly counts: number[];
}

interface Sample {
  readonly atMs: number;
  readonly applied: number;
  readonly total: number;
  readonly l1Hits: number;
  readonly l1Misses: number;
  readonly commitToStore: Buckets;
  readonly commitToPush: Buckets;
}

export interface LatencySummary {
  p50: number | null;
  p99: number | null;
}

export interface PipelineStats {
  at: string;
  windowSeconds: number;
  events: { applied: number; total: number };
  eventsPerSecond: number;
  slotLagBytes: number | null;
  latencyMs: { commitToStore: LatencySummary; commitToServe: LatencySummary };
  l1: { hits: number; misses: number; hitRatio: number | null };
  streams: number;
}

export class StatsSampler {
  private readonly samples: Sample[] = [];
  private readonly timer: NodeJS.Timeout;
  private sampling: Promise<void> | null = null;

  constructor(
    private readonly metrics: Metrics,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.timer = setInterval(() => void this.sample(), SAMPLE_MS);
    this.timer.unref();
    void this.sample();
  }

  async read(slotLagBytes: number | null): Promise<PipelineStats> {
    await this.sample();
    const newest = this.samples[this.samples.length - 1]!;
    const oldest = this.samples[0]!;
    const seconds = Math.max(1, newest.atMs - oldest.atMs) / 1000;
    const hits = newest.l1Hits - oldest.l1Hits;
    const misses = newest.l1Misses - oldest.l1Misses;
    return {
      at: new Date(newest.atMs).toISOString(),
      windowSeconds: Math.round(seconds),
      events: { applied: newest.applied, total: newest.total },
      eventsPerSecond: Math.round((newest.applied - oldest.applied) / seconds),
      slotLagBytes,
      latencyMs: {
        commitToStore: summarise(oldest.commitToStore, newest.commitToStore),
        commitToServe: summarise(oldest.commitToPush, newest.commitToPush),
      },
      l1: {
        hits: newest.l1Hits,
        misses: newest.l1Misses,
        hitRatio: hits + misses === 0 ? null : hits / (hits + misses),
      },
      streams: (await this.metrics.streams.get()).values[0]?.value ?? 0,
    };
  }

  close(): void {
    clearInterval(this.timer);
  }

  private sample(): Promise<void> {
    this.sampling ??= this.take().finally(() => {
      this.sampling = null;
    });
    return this.sampling;
  }

  private async take(): Promise<void> {
    const m = this.metrics;
    const [events, hits, misses, store, push] = await Promise.all([
      m.engineEvents.get(),
      m.l1Hits.get(),
      m.l1Misses.get(),
      m.commitToStore.get(),
      m.commitToPush.get(),
    ]);
    let applied = 0;
    let total = 0;
    for (const value of events.values) {
      total += value.value;
      if (value.labels.outcome === 'applied') applied += value.value;
    }
    const atMs = this.nowMs();
    const last = this.samples[this.samples.length - 1];
    if (last !== undefined && atMs - last.atMs < MIN_SPACING_MS && this.samples.length > 1)
      this.samples.pop();
    this.samples.push({
      atMs,
      applied,
      total,
      l1Hits: hits.values[0]?.value ?? 0,
      l1Misses: misses.values[0]?.value ?? 0,
      commitToStore: buckets(store.values),
      commitToPush: buckets(push.values),
    });
    // The window is kept by time, not by count: every read adds a sample too, so a count would shrink it.
    // The oldest sample kept is the newest one at least WINDOW_MS old, the baseline the window is read from.
    let first = 0;
    while (first + 1 < this.samples.length && this.samples[first + 1]!.atMs <= atMs - WINDOW_MS) first++;
    this.samples.splice(0, first);
  }
}

function buckets(values: readonly { value: number; labels: Record<string, unknown>; metricName?: string }[]) {
  const le: number[] = [];
  const counts: number[] = [];
  for (const value of values) {
    if (!value.metricName?.endsWith('_bucket')) continue;
    const bound = value.labels.le;
    le.push(bound === '+Inf' ? Number.POSITIVE_INFINITY : Number(bound));
    counts.push(value.value);
  }
  return { le, counts };
}

/** Quantiles of the observations made between two samples, as the upper bound of the bucket that holds them. */
function summarise(before: Buckets, after: Buckets): LatencySummary {
  const delta = after.counts.map((count, i) => count - (before.counts[i] ?? 0));
  const total = delta[delta.length - 1] ?? 0;
  if (total <= 0) return { p50: null, p99: null };
  const quantile = (q: number) => {
    const rank = q * total;
    const i = delta.findIndex((count) => count >= rank);
    const bound = after.le[i] ?? Number.POSITIVE_INFINITY;
    // Beyond the last finite bucket the true value is unknown; report that bound rather than infinity.
    const finite = Number.isFinite(bound) ? bound : after.le[after.le.length - 2]!;
    return Math.round(finite * 1e6) / 1e3;
  };
  return { p50: quantile(0.5), p99: quantile(0.99) };
}
