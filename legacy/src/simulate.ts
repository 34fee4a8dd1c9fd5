import { randomUUID } from 'node:crypto';
import { briskError, sleep } from '@brisk/core';
import type { Product } from './catalogue.ts';
import type { Mapper, Queryable } from './mapper.ts';
import { mulberry32, shuffled } from './random.ts';

/**
 * The traffic behind `brisk simulate`: shoppers browsing the demo catalogue, written the way the legacy
 * application writes them, through UserActivityMapper's insertActivity (this module has no SQL of its own).
 */

export const ACTIVITY_MIX = [
  ['VIEW_PRODUCT', 0.7],
  ['CLICK_PRODUCT', 0.2],
  ['ADD_TO_CART', 0.07],
  ['PURCHASE', 0.03],
] as const;

export type ActivityType = (typeof ACTIVITY_MIX)[number][0];

export interface Activity {
  readonly userId: string;
  readonly productId: string;
  readonly activityType: ActivityType;
}

/** A few users are much busier than most, without one user dominating. */
export const USER_SKEW = 0.8;
/** Product popularity: the head of the catalogue gets most of the views, as in real shops. */
export const PRODUCT_SKEW = 1.1;
// Fixed, so which products are the bestsellers is the same on every run whatever `random` is.
const POPULARITY_SEED = 0x5eed;

/**
 * Zipf-distributed 0-based ranks: P(rank k) is proportional to 1 / (k + 1)^s. The CDF is computed once, so a
 * draw is one random number and a binary search.
 */
export function zipfSampler(n: number, s: number, random: () => number): () => number {
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`zipfSampler: n must be a positive integer (got ${n})`);
  if (!Number.isFinite(s) || s < 0) throw new RangeError(`zipfSampler: s must be finite and >= 0 (got ${s})`);
  const cdf = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) {
    total += 1 / (k + 1) ** s;
    cdf[k] = total;
  }
  for (let k = 0; k < n; k++) cdf[k]! /= total;
  // Rounding can leave the last entry a hair under 1, where a draw of 0.9999999999 would fall off the end.
  cdf[n - 1] = 1;
  return () => {
    const u = random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}

/** Draws who does what to which product; deterministic for a seeded `random`. */
export function activityPicker(options: {
  readonly products: readonly Pick<Product, 'id'>[];
  readonly users: number;
  readonly random: () => number;
}): () => Activity {
  const { products, users, random } = options;
  if (products.length === 0) throw new RangeError('activityPicker: the product list is empty');
  const byPopularity = shuffled(
    products.map((p) => p.id),
    mulberry32(POPULARITY_SEED),
  );
  const user = zipfSampler(users, USER_SKEW, random);
  const product = zipfSampler(byPopularity.length, PRODUCT_SKEW, random);
  return () => ({
    userId: `user-${user() + 1}`,
    productId: byPopularity[product()]!,
    activityType: pickActivityType(random()),
  });
}

function pickActivityType(u: number): ActivityType {
  let cumulative = 0;
  for (const [type, share] of ACTIVITY_MIX) {
    cumulative += share;
    if (u < cumulative) return type;
  }
  // The shares sum to 1 only up to float rounding; a draw in that sliver belongs to the last type.
  return ACTIVITY_MIX[ACTIVITY_MIX.length - 1]![0];
}

/**
 * Rate limiting with time passed in, so pacing is tested without a clock. Tokens accrue at `ratePerSecond`
 * up to `capacity`: after a stall (a slow database holding every in-flight slot, a paused event loop) the
 * simulator resumes at the target rate instead of firing everything it "owes" at once.
 */
export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly capacity: number,
    nowMs: number,
  ) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) {
      throw new RangeError(`TokenBucket: ratePerSecond must be a positive number (got ${ratePerSecond})`);
    }
    if (!(capacity >= 1)) throw new RangeError(`TokenBucket: capacity must be at least 1 (got ${capacity})`);
    // One token up front: the first event goes out at once rather than 1/rate seconds late.
    this.tokens = 1;
    this.lastMs = nowMs;
  }

  tryTake(nowMs: number): boolean {
    // A clock that steps back must not drain tokens already earned.
    const elapsedMs = Math.max(0, nowMs - this.lastMs);
    this.tokens = Math.min(this.capacity, this.tokens + (elapsedMs * this.ratePerSecond) / 1000);
    this.lastMs = Math.max(this.lastMs, nowMs);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Timer jitter worth of tokens (20 ms): enough to absorb late ticks, too few to be a visible burst. */
export function burstCapacity(ratePerSecond: number): number {
  return Math.max(1, Math.ceil(ratePerSecond * 0.02));
}

export interface SimulateOptions {
  /** A Pool, so concurrent inserts get their own connections; its search_path must reach `user_activity`. */
  readonly db: Queryable;
  /** UserActivityMapper (its `insertActivity` statement is the only SQL the simulator runs). */
  readonly mapper: Mapper;
  readonly products: readonly Pick<Product, 'id'>[];
  /** Users `user-1`..`user-<users>`. */
  readonly users: number;
  readonly ratePerSecond: number;
  /** Stop after this long. At least one of durationMs, count and signal is required. */
  readonly durationMs?: number;
  /** Stop after this many inserts (written or failed). */
  readonly count?: number;
  readonly signal?: AbortSignal;
  /** Source of every choice; pass a seeded one (mulberry32) for a reproducible run. Default Math.random. */
  readonly random?: () => number;
  /** Called about once per `progressEveryMs` (default 1000) while running. */
  readonly onProgress?: (progress: SimulateProgress) => void;
  readonly progressEveryMs?: number;
  /** Most inserts awaiting the database at once (default 32); at the limit the simulator waits, not queues. */
  readonly maxInFlight?: number;
}

export interface SimulateProgress {
  readonly written: number;
  readonly failed: number;
  readonly inFlight: number;
  readonly elapsedMs: number;
}

export interface SimulateResult {
  readonly written: number;
  readonly failed: number;
  /** The first MAX_KEPT_ERRORS failure messages. */
  readonly errors: readonly string[];
  readonly elapsedMs: number;
  /** Rows written per second over elapsedMs. */
  readonly achievedRate: number;
}

export const MAX_KEPT_ERRORS = 5;
const TICK_MS = 2;

export async function simulate(options: SimulateOptions): Promise<SimulateResult> {
  const { db, mapper, durationMs, count, signal, onProgress } = options;
  const maxInFlight = options.maxInFlight ?? 32;
  const progressEveryMs = options.progressEveryMs ?? 1000;
  if (durationMs === undefined && count === undefined && signal === undefined) {
    throw new RangeError('simulate: give durationMs, count or signal, or it would never stop');
  }
  if (!Number.isInteger(options.users) || options.users < 1) {
    throw new RangeError(`simulate: users must be a positive integer (got ${options.users})`);
  }
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
    throw new RangeError(`simulate: maxInFlight must be a positive integer (got ${maxInFlight})`);
  }
  if (!mapper.statements.has('insertActivity')) {
    throw briskError(
      'BRISK_MAPPER_INVALID',
      `${mapper.source} has no insertActivity statement; simulate needs the seed's UserActivityMapper.xml.`,
    );
  }

  const next = activityPicker({
    products: options.products,
    users: options.users,
    random: options.random ?? Math.random,
  });
  const started = performance.now();
  const bucket = new TokenBucket(options.ratePerSecond, burstCapacity(options.ratePerSecond), started);
  const inFlight = new Set<Promise<void>>();
  const errors: string[] = [];
  let launched = 0;
  let written = 0;
  let failed = 0;
  let lastProgress = started;

  const launch = () => {
    launched++;
    const write: Promise<void> = mapper
      .run(db, 'insertActivity', { id: randomUUID(), ...next(), activityTimestamp: new Date() })
      .then(
        () => {
          written++;
        },
        (error: unknown) => {
          failed++;
          if (errors.length < MAX_KEPT_ERRORS)
            errors.push(error instanceof Error ? error.message : String(error));
        },
      )
      .finally(() => inFlight.delete(write));
    inFlight.add(write);
  };
  const countReached = () => count !== undefined && launched >= count;

  for (;;) {
    const now = performance.now();
    if (signal?.aborted || countReached() || (durationMs !== undefined && now - started >= durationMs)) break;
    while (inFlight.size < maxInFlight && !countReached() && bucket.tryTake(now)) launch();
    if (onProgress !== undefined && now - lastProgress >= progressEveryMs) {
      lastProgress = now;
      onProgress({ written, failed, inFlight: inFlight.size, elapsedMs: now - started });
    }
    await sleep(TICK_MS, signal);
  }
  await Promise.all(inFlight);

  const elapsedMs = performance.now() - started;
  return {
    written,
    failed,
    errors,
    elapsedMs,
    achievedRate: elapsedMs > 0 ? (written * 1000) / elapsedMs : 0,
  };
}
