import { setTimeout as delay } from 'node:timers/promises';
import { BriskError } from '@brisk/core';
import { describe, expect, it } from 'vitest';
import { demoCatalogue } from '../src/catalogue.ts';
import { loadMapper, parseMapper, type Queryable, USER_ACTIVITY_MAPPER_PATH } from '../src/mapper.ts';
import { mulberry32 } from '../src/random.ts';
import {
  ACTIVITY_MIX,
  activityPicker,
  burstCapacity,
  MAX_KEPT_ERRORS,
  simulate,
  TokenBucket,
  zipfSampler,
} from '../src/simulate.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const mapper = await loadMapper(USER_ACTIVITY_MAPPER_PATH);
const products = demoCatalogue();

function histogram(draw: () => number, n: number, draws: number): number[] {
  const counts = new Array<number>(n).fill(0);
  const outOfRange: number[] = [];
  for (let i = 0; i < draws; i++) {
    const rank = draw();
    if (Number.isInteger(rank) && rank >= 0 && rank < n) counts[rank]!++;
    else outOfRange.push(rank);
  }
  expect(outOfRange).toEqual([]);
  return counts;
}

/** Stands in for a pg Pool: records inserts, optionally slowly or failing, and tracks concurrency. */
function fakeDb(options: { latencyMs?: number; fail?: (call: number) => boolean } = {}) {
  const values: unknown[][] = [];
  const state = { inFlight: 0, maxInFlight: 0, completed: 0 };
  const db: Queryable = {
    async query(_text, params) {
      const call = values.push(params);
      state.inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      try {
        if (options.latencyMs !== undefined) await delay(options.latencyMs);
        if (options.fail?.(call)) throw new Error(`insert ${call} failed`);
        return { rows: [], rowCount: 1 };
      } finally {
        state.inFlight--;
        state.completed++;
      }
    },
  };
  return { db, values, state };
}

describe('zipfSampler', () => {
  it('makes rank 0 the most frequent, decreasing over the first ranks, about k^-s apart', () => {
    const counts = histogram(zipfSampler(50, 1.1, mulberry32(3)), 50, 200_000);
    expect(Math.max(...counts)).toBe(counts[0]);
    for (let k = 1; k < 6; k++) expect(counts[k]!).toBeLessThan(counts[k - 1]!);
    expect(counts[0]! / counts[1]!).toBeGreaterThan(2 ** 1.1 * 0.9);
    expect(counts[0]! / counts[1]!).toBeLessThan(2 ** 1.1 * 1.1);
    expect(counts[49]!).toBeGreaterThan(0);
  });

  it('is uniform for s = 0', () => {
    const counts = histogram(zipfSampler(4, 0, mulberry32(9)), 4, 40_000);
    for (const count of counts) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });

  it('maps the extremes of [0, 1) to the first and last rank', () => {
    expect(zipfSampler(10, 1, () => 0)()).toBe(0);
    expect(zipfSampler(10, 1, () => 1 - Number.EPSILON / 2)()).toBe(9);
    expect(zipfSampler(1, 1.1, Math.random)()).toBe(0);
  });

  it('rejects impossible arguments', () => {
    expect(() => zipfSampler(0, 1, Math.random)).toThrow(RangeError);
    expect(() => zipfSampler(2.5, 1, Math.random)).toThrow(RangeError);
    expect(() => zipfSampler(10, -1, Math.random)).toThrow(RangeError);
  });
});

describe('activityPicker', () => {
  it('follows the activity mix and draws users and products from the given ranges', () => {
    const next = activityPicker({ products, users: 100, random: mulberry32(11) });
    const types = new Map<string, number>();
    const users = new Map<string, number>();
    const ids = new Set(products.map((p) => p.id));
    const draws = 50_000;
    const strangers = new Set<string>();
    for (let i = 0; i < draws; i++) {
      const activity = next();
      types.set(activity.activityType, (types.get(activity.activityType) ?? 0) + 1);
      users.set(activity.userId, (users.get(activity.userId) ?? 0) + 1);
      if (!ids.has(activity.productId)) strangers.add(activity.productId);
    }
    expect(strangers.size).toBe(0);
    for (const [type, share] of ACTIVITY_MIX) expect((types.get(type) ?? 0) / draws).toBeCloseTo(share, 2);
    expect([...users.keys()].every((u) => /^user-([1-9]\d?|100)$/.test(u))).toBe(true);
    const busiest = [...users.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    expect(busiest).toBe('user-1');
  });

  it('ranks product popularity the same whatever the random source', () => {
    const favourite = (seed: number) => {
      const next = activityPicker({ products, users: 10, random: mulberry32(seed) });
      const counts = new Map<string, number>();
      for (let i = 0; i < 20_000; i++) {
        const { productId } = next();
        counts.set(productId, (counts.get(productId) ?? 0) + 1);
      }
      return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    };
    expect(favourite(1)).toBe(favourite(2));
  });

  it('repeats the same activities for the same seed', () => {
    const a = activityPicker({ products, users: 50, random: mulberry32(5) });
    const b = activityPicker({ products, users: 50, random: mulberry32(5) });
    const run = (next: () => unknown) => Array.from({ length: 20 }, next);
    expect(run(a)).toEqual(run(b));
  });
});

describe('TokenBucket', () => {
  it('allows one event at once, then one per 1/rate', () => {
    const bucket = new TokenBucket(100, 5, 0);
    expect(bucket.tryTake(0)).toBe(true);
    expect(bucket.tryTake(0)).toBe(false);
    expect(bucket.tryTake(9)).toBe(false);
    expect(bucket.tryTake(10)).toBe(true);
    expect(bucket.tryTake(10)).toBe(false);
  });

  it('saves up at most `capacity` tokens while idle', () => {
    const bucket = new TokenBucket(100, 5, 0);
    let taken = 0;
    while (bucket.tryTake(60_000)) taken++;
    expect(taken).toBe(5);
  });

  it('keeps earned tokens when the clock steps back', () => {
    const bucket = new TokenBucket(1000, 10, 0);
    expect(bucket.tryTake(0)).toBe(true);
    expect(bucket.tryTake(3)).toBe(true);
    expect(bucket.tryTake(-100)).toBe(true);
    expect(bucket.tryTake(-100)).toBe(true);
    expect(bucket.tryTake(-100)).toBe(false);
  });

  it('rejects a rate or capacity that could never pace', () => {
    expect(() => new TokenBucket(0, 1, 0)).toThrow(RangeError);
    expect(() => new TokenBucket(Number.POSITIVE_INFINITY, 1, 0)).toThrow(RangeError);
    expect(() => new TokenBucket(10, 0.5, 0)).toThrow(RangeError);
  });

  it('sizes bursts to 20 ms of traffic, at least one event', () => {
    expect(burstCapacity(10)).toBe(1);
    expect(burstCapacity(1000)).toBe(20);
  });
});

describe('simulate', () => {
  it('writes exactly `count` activities through insertActivity', async () => {
    const { db, values } = fakeDb();
    const result = await simulate({ db, mapper, products, users: 20, ratePerSecond: 5000, count: 40 });
    expect(result).toMatchObject({ written: 40, failed: 0, errors: [] });
    expect(values).toHaveLength(40);
    const ids = new Set(products.map((p) => p.id));
    for (const [id, userId, type, productId, at] of values) {
      expect(id).toMatch(UUID);
      expect(userId).toMatch(/^user-([1-9]|1\d|20)$/);
      expect(ACTIVITY_MIX.map(([t]) => t)).toContain(type);
      expect(ids.has(productId as string)).toBe(true);
      expect(at).toBeInstanceOf(Date);
    }
    expect(new Set(values.map((v) => v[0])).size).toBe(40);
    expect(result.achievedRate).toBeCloseTo((40 * 1000) / result.elapsedMs, 6);
  });

  it('paces to the target rate', async () => {
    const { db } = fakeDb();
    const result = await simulate({ db, mapper, products, users: 5, ratePerSecond: 400, count: 20 });
    expect(result.written).toBe(20);
    // One token up front, then 19 more at 400/s: 47.5 ms at the least.
    expect(result.elapsedMs).toBeGreaterThanOrEqual(45);
  });

  it('slows to the database instead of queueing more than maxInFlight inserts', async () => {
    const { db, state } = fakeDb({ latencyMs: 20 });
    const result = await simulate({
      db,
      mapper,
      products,
      users: 5,
      ratePerSecond: 100_000,
      count: 24,
      maxInFlight: 4,
    });
    expect(result.written).toBe(24);
    expect(state.maxInFlight).toBe(4);
    expect(result.elapsedMs).toBeGreaterThanOrEqual((24 / 4) * 20 - 5);
  });

  it('counts failures, keeps the first few messages and carries on', async () => {
    const { db } = fakeDb({ fail: (call) => call % 3 === 0 });
    const result = await simulate({ db, mapper, products, users: 5, ratePerSecond: 5000, count: 30 });
    expect(result.written).toBe(20);
    expect(result.failed).toBe(10);
    expect(result.errors).toHaveLength(MAX_KEPT_ERRORS);
    expect(result.errors[0]).toMatch(/^insert \d+ failed$/);
  });

  it('stops on abort and waits for the inserts already sent', async () => {
    const { db, state, values } = fakeDb({ latencyMs: 15 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 40);
    const result = await simulate({
      db,
      mapper,
      products,
      users: 5,
      ratePerSecond: 1000,
      signal: controller.signal,
    });
    expect(result.written).toBeGreaterThan(0);
    expect(result.written).toBe(values.length);
    expect(state.completed).toBe(values.length);
    expect(state.inFlight).toBe(0);
    await delay(30);
    expect(values.length).toBe(result.written);
  });

  it('stops after durationMs', async () => {
    const { db } = fakeDb();
    const result = await simulate({ db, mapper, products, users: 5, ratePerSecond: 200, durationMs: 60 });
    expect(result.elapsedMs).toBeGreaterThanOrEqual(60);
    expect(result.written).toBeGreaterThanOrEqual(6);
    expect(result.written).toBeLessThanOrEqual(16);
  });

  it('reports progress while running', async () => {
    const { db } = fakeDb();
    const reports: { written: number; elapsedMs: number }[] = [];
    await simulate({
      db,
      mapper,
      products,
      users: 5,
      ratePerSecond: 500,
      durationMs: 60,
      progressEveryMs: 10,
      onProgress: (p) => reports.push(p),
    });
    expect(reports.length).toBeGreaterThanOrEqual(2);
    expect(reports.at(-1)!.written).toBeGreaterThan(reports[0]!.written);
  });

  it('refuses a mapper without insertActivity, and a run with no way to stop', async () => {
    const { db } = fakeDb();
    const other = parseMapper('<mapper namespace="m"><select id="q">SELECT 1</select></mapper>', 'Other.xml');
    await expect(
      simulate({ db, mapper: other, products, users: 1, ratePerSecond: 1, count: 1 }),
    ).rejects.toBeInstanceOf(BriskError);
    await expect(simulate({ db, mapper, products, users: 1, ratePerSecond: 1 })).rejects.toThrow(
      /never stop/,
    );
  });
});
