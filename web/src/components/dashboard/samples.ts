import type { PipelineStats } from '../../app/services.ts';
import type { Point } from './chart.ts';

/** The browser keeps two minutes of history: the endpoint sends one sample a second. */
export const CAPACITY = 120;

/** One `PipelineStats`, flattened to the figures the dashboard plots. */
export interface Sample {
  /** When the API took the sample, epoch milliseconds. */
  readonly t: number;
  readonly windowSeconds: number;
  readonly eventsPerSecond: number;
  readonly slotLagBytes: number | null;
  readonly storeP50: number | null;
  readonly storeP99: number | null;
  readonly serveP50: number | null;
  readonly serveP99: number | null;
  readonly hitRatio: number | null;
  /** Cumulative since the API process started. */
  readonly hits: number;
  readonly misses: number;
  readonly streams: number;
}

export type Figure = Exclude<keyof Sample, 't'>;

export function toSample(stats: PipelineStats): Sample {
  const { commitToStore, commitToServe } = stats.latencyMs;
  return {
    t: Date.parse(stats.at),
    windowSeconds: stats.windowSeconds,
    eventsPerSecond: stats.eventsPerSecond,
    slotLagBytes: stats.slotLagBytes,
    storeP50: commitToStore.p50,
    storeP99: commitToStore.p99,
    serveP50: commitToServe.p50,
    serveP99: commitToServe.p99,
    hitRatio: stats.l1.hitRatio,
    hits: stats.l1.hits,
    misses: stats.l1.misses,
    streams: stats.streams,
  };
}

/**
 * The history with `next` added and the oldest dropped beyond `capacity`. A new array every time: Qwik
 * re-renders when a signal's value changes identity, and copying 120 small objects a second costs nothing.
 * A sample no newer than the last one replaces it (the endpoint repeats the current figures on reconnect, and
 * the server render's sample is usually the first event's too); an older one leaves the history as it was.
 */
export function appendSample(
  history: readonly Sample[],
  next: Sample,
  capacity = CAPACITY,
): readonly Sample[] {
  const last = history[history.length - 1];
  if (last !== undefined && next.t < last.t) return history;
  const kept = last !== undefined && next.t === last.t ? history.slice(0, -1) : history.slice();
  kept.push(next);
  return kept.length > capacity ? kept.slice(kept.length - capacity) : kept;
}

export function pointsOf(history: readonly Sample[], figure: Figure): Point[] {
  return history.map((sample) => ({ t: sample.t, v: sample[figure] }));
}
