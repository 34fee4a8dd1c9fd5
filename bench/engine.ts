/**
 * Feature engine benchmark (`npm run bench:engine`). Not a test: prints a table, writes JSON to bench/results/.
 *
 *  1. Apply throughput at 100k users: Debezium insert events (the connector's objects, built in memory) go
 *     through the engine into a real redis-server (AOF, appendfsync always), submitted the way the connector
 *     does (batches in flight behind each other). First pass: every user is new to the cache; second pass: every
 *     user is in L1. Baseline in the same run: the pure engine (plan + apply in memory, no Redis) on the same
 *     events. Features are computed when read, so the feature set costs nothing at apply time.
 *  2. Read latency of the full default feature vector (all 10 features) at 100k users, in-process: from L1
 *     (state cached, features computed) and from Redis (a fresh cache: one HGETALL, then computed).
 *
 * Environment: BENCH_USERS=100000 BENCH_EVENTS=300000 BENCH_READS=20000.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ChangeEvent } from '@brisk/cdc';
import { createMetrics, silentLogger, systemClock } from '@brisk/core';
import {
  applyPlan,
  computeFeatures,
  emptyState,
  FeatureEngine,
  parseActivityEvent,
  plan,
  type UserState,
} from '@brisk/features';
import { demoCatalogue } from '@brisk/legacy';
import { RedisFeatureStore } from '@brisk/store';
import { startRedis } from '../cli/src/harness/redis.ts';

const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 300_000);
const READS = Number(process.env.BENCH_READS ?? 20_000);
const ROOT = path.resolve(import.meta.dirname, '..');
const SOURCE = { schema: 'public', table: 'user_activity' };
const TYPES = ['VIEW_PRODUCT', 'VIEW_PRODUCT', 'VIEW_PRODUCT', 'CLICK_PRODUCT', 'ADD_TO_CART'];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
const round = (v: number) => Math.round(v * 1000) / 1000;

const PRODUCTS = demoCatalogue();

/** Events [from, to) of a pass, built when needed, as the connector builds them. */
function events(from: number, to: number, startLsn: number, nowMs: number, count: number): ChangeEvent[] {
  const products = PRODUCTS;
  const list: ChangeEvent[] = [];
  for (let i = from; i < to; i++) {
    const lsn = startLsn + i * 100;
    const at = new Date(nowMs - 600_000 + Math.floor((i / count) * 590_000)).toISOString();
    list.push({
      before: null,
      after: {
        id: `row-${startLsn}-${i}`,
        user_id: `user-${(i * 7919) % USERS}`,
        activity_type: TYPES[i % TYPES.length]!,
        product_id: products[(i * 31) % products.length]!.id,
        activity_timestamp: at,
      },
      source: {
        version: 'bench',
        connector: 'postgresql',
        name: 'cdc',
        ts_ms: nowMs,
        snapshot: 'false',
        db: 'bench',
        sequence: `["${lsn - 50}","${lsn}"]`,
        ts_us: nowMs * 1000,
        ts_ns: nowMs * 1_000_000,
        schema: 'public',
        table: 'user_activity',
        txId: i,
        lsn,
        xmin: null,
      },
      op: 'c',
      ts_ms: nowMs,
      ts_us: nowMs * 1000,
      ts_ns: nowMs * 1_000_000,
    });
  }
  return list;
}

/**
 * Submits a pass in batches of 1000, built as they are submitted, with up to 4 in flight like the connector's
 * window; returns events/s (building the events is included, as the connector's envelope building would be).
 */
async function applyThroughput(engine: FeatureEngine, startLsn: number, nowMs: number): Promise<number> {
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < EVENTS; i += 1000) {
    inFlight.push(engine.submit(events(i, Math.min(EVENTS, i + 1000), startLsn, nowMs, EVENTS), null));
    if (inFlight.length >= 4) await inFlight.shift();
  }
  await Promise.all(inFlight);
  return EVENTS / ((performance.now() - started) / 1000);
}

function pureThroughput(startLsn: number, nowMs: number): number {
  const states = new Map<string, UserState>();
  const limits = { maxRows: 500, retentionUs: 7 * 86_400e6, truncatedBeforeLsn: 0 };
  const started = performance.now();
  for (let i = 0; i < EVENTS; i += 1000) {
    const perUser = new Map<string, Parameters<typeof plan>[1][number][]>();
    for (const event of events(i, Math.min(EVENTS, i + 1000), startLsn, nowMs, EVENTS)) {
      const parsed = parseActivityEvent(event, SOURCE);
      if (parsed.ok !== true || parsed.change.kind !== 'upsert') continue;
      const changes = perUser.get(parsed.change.userId) ?? [];
      changes.push(parsed.change);
      perUser.set(parsed.change.userId, changes);
    }
    const nowUs = systemClock.nowUs();
    for (const [userId, changes] of perUser) {
      const state = states.get(userId) ?? emptyState(userId);
      states.set(userId, state);
      const planned = plan(state, changes, limits, nowUs);
      if (planned) applyPlan(state, planned);
    }
  }
  return EVENTS / ((performance.now() - started) / 1000);
}

async function readLatency(store: RedisFeatureStore, users: string[]) {
  const samples: number[] = [];
  for (const user of users) {
    const started = performance.now();
    const state = await store.get(user);
    const vector = computeFeatures(state, {
      nowUs: systemClock.nowUs(),
      catalogue: store.catalogue(),
      truncatedBeforeLsn: store.truncatedBeforeLsn(),
    });
    JSON.stringify(vector);
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return {
    n: samples.length,
    p50: round(percentile(samples, 50)),
    p99: round(percentile(samples, 99)),
    max: round(samples.at(-1)!),
  };
}

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'brisk-bench-engine-'));
  const redis = await startRedis({ dir });
  const open = () =>
    RedisFeatureStore.open({
      url: redis.url,
      slot: 'bench',
      durability: 'strict',
      userTtlSeconds: 604_800,
      l1MaxBytes: 1024 * 1024 * 1024,
      metrics: createMetrics({ defaultMetrics: false }),
      logger: silentLogger,
    });
  try {
    const store = await open();
    const engine = new FeatureEngine({
      store,
      source: SOURCE,
      maxRowsPerUser: 500,
      retentionUs: 7 * 86_400e6,
      metrics: createMetrics({ defaultMetrics: false }),
      logger: silentLogger,
      catalogueTable: { schema: 'public', table: 'product' },
    });
    const nowMs = Date.now();
    // The catalogue first, as the initial snapshot would deliver it.
    await engine.submit(
      demoCatalogue().map((p, i) => ({
        before: null,
        after: { id: p.id, name: p.name, category: p.category, price: p.price },
        source: {
          table: 'product',
          schema: 'public',
          lsn: 10 + i,
          sequence: `[null,"${10 + i}"]`,
          ts_us: nowMs * 1000,
        },
        op: 'r',
      })) as unknown as ChangeEvent[],
    );
    const cold = await applyThroughput(engine, 1_000_000, nowMs);
    console.log(`apply, users new to the cache: ${Math.round(cold)} events/s`);
    const warm = await applyThroughput(engine, 1_000_000_000, nowMs);
    console.log(`apply, users in L1: ${Math.round(warm)} events/s`);
    const pure = pureThroughput(1_000_000, nowMs);
    console.log(`pure engine (no Redis): ${Math.round(pure)} events/s`);
    await engine.stop();

    const users = Array.from({ length: READS }, (_, i) => `user-${(i * 104_729) % USERS}`);
    const fresh = await open();
    const fromRedis = await readLatency(fresh, users);
    const fromL1 = await readLatency(fresh, users);
    await fresh.close();
    await store.close();
    const rowsPerUser = (EVENTS * 2) / USERS;
    console.log(`full vector from Redis: ${JSON.stringify(fromRedis)}; from L1: ${JSON.stringify(fromL1)}`);

    const results = {
      date: new Date().toISOString(),
      machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version },
      users: USERS,
      eventsPerPass: EVENTS,
      rowsPerUser,
      applyEventsPerSecond: {
        newToCache: Math.round(cold),
        inL1: Math.round(warm),
        pureEngineNoRedis: Math.round(pure),
      },
      fullVectorReadMs: { fromL1, fromRedis },
    };
    console.log('\n| measure | result |\n|---|---|');
    console.log(
      `| apply, users new to the cache (engine + Redis) | ${results.applyEventsPerSecond.newToCache} events/s |`,
    );
    console.log(`| apply, users in L1 (engine + Redis) | ${results.applyEventsPerSecond.inL1} events/s |`);
    console.log(
      `| apply, pure engine in memory | ${results.applyEventsPerSecond.pureEngineNoRedis} events/s |`,
    );
    console.log(
      `| full vector from L1, p50 / p99 / max | ${fromL1.p50} / ${fromL1.p99} / ${fromL1.max} ms |`,
    );
    console.log(
      `| full vector from Redis, p50 / p99 / max | ${fromRedis.p50} / ${fromRedis.p99} / ${fromRedis.max} ms |`,
    );
    await mkdir(path.join(ROOT, 'bench/results'), { recursive: true });
    const file = path.join(ROOT, 'bench/results', `engine-${results.date.slice(0, 10)}.json`);
    await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\nwritten to ${path.relative(ROOT, file)}`);
  } finally {
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
