/**
 * End-to-end benchmark of the embedded pipeline (`npm run bench:e2e`). Not a test: it prints a table and writes
 * JSON to bench/results/. Everything runs on this machine: embedded PostgreSQL (fsync on), redis-server with
 * AOF + appendfsync always, and `brisk start` as a separate process, as a user would run it. The load comes
 * from a third process (pgbench when installed, else bench/load.ts), like a legacy application's.
 *
 *  1. Latency at fixed insert rates (default 200, 1000, 5000 single-row autocommit inserts per second):
 *     - commit -> stored: Brisk's own per-event histogram brisk_commit_to_store_seconds (PostgreSQL commit
 *       timestamp to the Redis write being acknowledged, i.e. fsynced), read from /metrics before and after the
 *       step; quantiles interpolated within its 0.25 ms buckets, as Prometheus' histogram_quantile does.
 *     - commit -> API: a probe user gets a new view every ~20 ms while the load runs; a client polls
 *       GET /api/v1/features/user/{probe} back to back, from before the insert, until the new product shows.
 *       Latency = response received - meta.commitTs (same machine clock). Resolution: one request (~0.1 ms).
 *  2. Sustained drain: a backlog of single-row transactions committed while Brisk is stopped, drained by Brisk
 *     (from the moment it streams until its slot is confirmed past the backlog) and, as the baseline, by bare
 *     pg-logical-replication on its own slot (no processing, auto-acknowledge). Events/s and their ratio.
 *
 * Environment: BENCH_RATES=200,1000,5000 BENCH_SECONDS=10 BENCH_BACKLOG=200000.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureDemoSchema } from '@brisk/legacy';
import pg from 'pg';
import { startEmbeddedPostgres } from '../cli/src/harness/postgres.ts';
import { startRedis } from '../cli/src/harness/redis.ts';
import {
  bareDrain,
  confirmedLsn,
  currentLsn,
  findPgbench,
  insertBacklog,
  load,
  machine,
  probe,
  sleep,
  summary,
} from './common.ts';

const RATES = (process.env.BENCH_RATES ?? '200,1000,5000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 200_000);
const ROOT = path.resolve(import.meta.dirname, '..');

async function startBrisk(env: Record<string, string>) {
  const child = spawn(process.execPath, [path.join(ROOT, 'cli/bin/brisk.js'), 'start'], {
    cwd: ROOT,
    env: { ...process.env, API_PORT: '0', BRISK_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 600; i++) {
    const line = output.split('\n').find((l) => l.startsWith('{"databaseUrl"'));
    if (line) {
      const { apiUrl } = JSON.parse(line) as { apiUrl: string };
      return {
        apiUrl,
        stop: async () => {
          child.kill('SIGTERM');
          await exited;
        },
      };
    }
    if (child.exitCode !== null) throw new Error(`brisk start exited:\n${output}`);
    await sleep(100);
  }
  throw new Error(`brisk start did not come up:\n${output}`);
}

type Buckets = Map<number, number>;

/** Cumulative bucket counts of Brisk's commit -> decoded and commit -> stored histograms, by upper bound in ms. */
async function latencyBuckets(apiUrl: string): Promise<{ decoded: Buckets; stored: Buckets }> {
  const text = await (await fetch(`${apiUrl}/metrics`)).text();
  const read = (metric: string) => {
    const buckets: Buckets = new Map();
    for (const match of text.matchAll(new RegExp(`^${metric}_bucket\\{le="([^"]+)"\\} (\\d+)$`, 'gm'))) {
      buckets.set(match[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[1]) * 1000, Number(match[2]));
    }
    return buckets;
  };
  return { decoded: read('brisk_commit_to_decode_seconds'), stored: read('brisk_commit_to_store_seconds') };
}

/** Quantiles of the observations between two scrapes, interpolated linearly within a bucket. */
function histogramSummary(before: Buckets, after: Buckets) {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const total = counts.at(-1) ?? 0;
  const quantile = (q: number) => {
    const rank = q * total;
    for (let i = 0; i < bounds.length; i++) {
      if (counts[i]! >= rank) {
        const lower = i === 0 ? 0 : bounds[i - 1]!;
        const upper = Number.isFinite(bounds[i]!) ? bounds[i]! : lower;
        const below = i === 0 ? 0 : counts[i - 1]!;
        const inBucket = counts[i]! - below;
        return (
          Math.round((lower + (upper - lower) * (inBucket === 0 ? 1 : (rank - below) / inBucket)) * 100) / 100
        );
      }
    }
    return Number.NaN;
  };
  return {
    n: total,
    p50: quantile(0.5),
    p99: quantile(0.99),
    maxBucket: bounds.find((_, i) => counts[i] === total),
  };
}

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'brisk-bench-'));
  await chmod(dir, 0o755);
  const postgres = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg') });
  const redis = await startRedis({ dir: path.join(dir, 'redis') });
  const pool = new pg.Pool({ connectionString: postgres.url, max: 24 });
  pool.on('error', () => {});
  const results: Record<string, unknown> = { date: new Date().toISOString(), machine: machine() };
  try {
    await ensureDemoSchema(pool, {
      schema: 'public',
      table: 'user_activity',
      publication: 'dbz_publication',
    });
    const pgVersion = (await pool.query('SHOW server_version')).rows[0].server_version as string;
    (results.machine as Record<string, unknown>).postgres = pgVersion;
    const env = {
      DATABASE_URL: postgres.url,
      REDIS_URL: redis.url,
      BRISK_SLOT: 'bench',
      BRISK_DATA_DIR: path.join(dir, 'brisk'),
    };
    await mkdir(env.BRISK_DATA_DIR, { recursive: true });

    // 1. Latency at fixed rates.
    const pgbench = await findPgbench();
    (results.machine as Record<string, unknown>).loadGenerator = pgbench ? 'pgbench' : 'bench/load.ts';
    await pool.query('CREATE SEQUENCE IF NOT EXISTS bench_user');
    const brisk = await startBrisk(env);
    const latency: Record<string, unknown>[] = [];
    for (const rate of RATES) {
      const before = await latencyBuckets(brisk.apiUrl);
      let stopProbe = false;
      const probing = probe(pool, brisk.apiUrl, () => stopProbe);
      let achieved: number;
      try {
        achieved = await load(pgbench, postgres.url, rate, SECONDS, `r${rate}-`, dir);
        await sleep(200);
      } finally {
        stopProbe = true;
      }
      const visible = await probing;
      const after = await latencyBuckets(brisk.apiUrl);
      const row = {
        targetRate: rate,
        achievedRate: Math.round(achieved),
        commitToDecodedMs: histogramSummary(before.decoded, after.decoded),
        commitToStoreMs: histogramSummary(before.stored, after.stored),
        commitToApiMs: summary(visible),
      };
      latency.push(row);
      console.log(JSON.stringify(row));
    }
    results.latency = latency;

    // 2. Sustained drain: Brisk against bare pg-logical-replication, on the same backlog.
    await brisk.stop();
    await pool.query("SELECT pg_create_logical_replication_slot('bench_bare', 'pgoutput')");
    const backlogStart = await currentLsn(pool);
    const t0 = performance.now();
    await insertBacklog(pool, BACKLOG);
    const insertRate = BACKLOG / ((performance.now() - t0) / 1000);
    const backlogEnd = await currentLsn(pool);
    console.log(`backlog: ${BACKLOG} single-row transactions written at ${Math.round(insertRate)}/s`);

    const launched = performance.now();
    const again = await startBrisk(env);
    // From the moment it streams (process start, tsx compilation and preflight excluded, reported apart).
    const drainStart = performance.now();
    const startupMs = drainStart - launched;
    while ((await confirmedLsn(pool, 'bench')) < backlogEnd) await sleep(5);
    const briskSeconds = (performance.now() - drainStart) / 1000;
    await again.stop();
    const bareRate = await bareDrain(postgres.url, 'bench_bare', BACKLOG);
    const briskRate = BACKLOG / briskSeconds;
    results.drain = {
      backlogRows: BACKLOG,
      backlogWalBytes: backlogEnd - backlogStart,
      briskEventsPerSecond: Math.round(briskRate),
      briskStartupMs: Math.round(startupMs),
      bareEventsPerSecond: Math.round(bareRate),
      ratio: Math.round((briskRate / bareRate) * 100) / 100,
    };
    console.log(JSON.stringify(results.drain));

    printTable(results);
    await mkdir(path.join(ROOT, 'bench/results'), { recursive: true });
    const file = path.join(ROOT, 'bench/results', `e2e-${(results.date as string).slice(0, 10)}.json`);
    await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\nwritten to ${path.relative(ROOT, file)}`);
  } finally {
    await pool.end();
    await redis.stop();
    await postgres.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function printTable(results: Record<string, unknown>) {
  const latency = results.latency as {
    targetRate: number;
    achievedRate: number;
    commitToDecodedMs: ReturnType<typeof histogramSummary>;
    commitToStoreMs: ReturnType<typeof histogramSummary>;
    commitToApiMs: ReturnType<typeof summary>;
  }[];
  console.log(
    '\n| inserts/s (target / achieved) | commit -> decoded p50 / p99 (ms) | commit -> stored p50 / p99 (ms) | commit -> API p50 / p99 / max (ms) | events / probes |',
  );
  console.log('|---|---|---|---|---|');
  for (const r of latency) {
    const d = r.commitToDecodedMs;
    const s = r.commitToStoreMs;
    const a = r.commitToApiMs;
    console.log(
      `| ${r.targetRate} / ${r.achievedRate} | ${d.p50} / ${d.p99} | ${s.p50} / ${s.p99} | ${a.p50} / ${a.p99} / ${a.max} | ${s.n} / ${a.n} |`,
    );
  }
  const d = results.drain as Record<string, number>;
  console.log(
    `\nsustained drain of ${d.backlogRows} events: Brisk ${d.briskEventsPerSecond}/s (after a ${d.briskStartupMs} ms start), ` +
      `bare pg-logical-replication ${d.bareEventsPerSecond}/s, ratio ${d.ratio}`,
  );
}

await main();
