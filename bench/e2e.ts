/**
 * End-to-end benchmark of the embedded pipeline (`npm run bench:e2e`). Not a test: it prints a table and writes
 * JSON to bench/results/. Everything runs on this machine: embedded PostgreSQL (fsync on), redis-server with
 * AOF + appendfsync always, and `brisk start` as a separate process, as a user would run it.
 *
 *  1. Latency at fixed insert rates (default 200, 1000, 5000 single-row autocommit inserts per second):
 *     - commit -> stored: PostgreSQL's commit timestamp to the moment this process receives the store's change
 *       notification for that user (published right after the Redis write is acknowledged, fsynced).
 *     - commit -> API: a probe user gets a new view every ~20 ms while the load runs; a client polls
 *       GET /api/v1/features/user/{probe} back to back until it shows the new product. Latency = response
 *       received - meta.commitTs. Resolution: one request (~0.2 ms).
 *  2. Sustained drain: a backlog of single-row... committed while Brisk is stopped, drained by Brisk (until its
 *     slot is confirmed past the backlog) and, as the baseline, by bare pg-logical-replication on its own slot
 *     (no processing, auto-acknowledge). Reported as events/s and as a ratio.
 *
 * Environment: BENCH_RATES=200,1000,5000 BENCH_SECONDS=10 BENCH_BACKLOG=200000.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseLsn } from '@brisk/core';
import { ensureDemoSchema } from '@brisk/legacy';
import pg from 'pg';
import { LogicalReplicationService, PgoutputPlugin } from 'pg-logical-replication';
import { createClient } from 'redis';
import { startEmbeddedPostgres } from '../cli/src/harness/postgres.ts';
import { startRedis } from '../cli/src/harness/redis.ts';

const RATES = (process.env.BENCH_RATES ?? '200,1000,5000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 200_000);
const ROOT = path.resolve(import.meta.dirname, '..');

const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function summary(samplesMs: number[]) {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const round = (v: number) => Math.round(v * 100) / 100;
  return {
    n: sorted.length,
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? Number.NaN),
  };
}

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

/** Inserts single-row autocommit transactions at `rate` per second for `seconds`, each for a fresh user. */
async function load(pool: pg.Pool, rate: number, seconds: number, userPrefix: string): Promise<number> {
  const total = Math.round(rate * seconds);
  const started = performance.now();
  let issued = 0;
  const inFlight = new Set<Promise<unknown>>();
  while (issued < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    while (issued < due && inFlight.size < 64) {
      const n = issued++;
      const p = pool
        .query(
          'INSERT INTO user_activity (id, user_id, activity_type, product_id, activity_timestamp) VALUES ($1,$2,$3,$4,now())',
          [randomUUID(), `${userPrefix}${n}`, 'VIEW_PRODUCT', `prod-${n % 300}`],
        )
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await sleep(1);
  }
  await Promise.all(inFlight);
  return total / ((performance.now() - started) / 1000);
}

/** Every ~20 ms: a new view for the probe user, then poll the API until it is visible. */
async function probe(pool: pg.Pool, apiUrl: string, stop: () => boolean): Promise<number[]> {
  const samples: number[] = [];
  let n = 0;
  while (!stop()) {
    const product = `probe-${n++}`;
    await pool.query(
      'INSERT INTO user_activity (id, user_id, activity_type, product_id, activity_timestamp) VALUES ($1,$2,$3,$4,now())',
      [randomUUID(), 'bench-probe', 'VIEW_PRODUCT', product],
    );
    for (;;) {
      const response = await fetch(`${apiUrl}/api/v1/features/user/bench-probe`);
      const body = (await response.json()) as {
        features: { lastViewedProduct: string };
        meta: { commitTs: string };
      };
      if (body.features.lastViewedProduct === product) {
        const received = nowUs();
        samples.push((received - isoToUs(body.meta.commitTs)) / 1000);
        break;
      }
    }
    await sleep(20);
  }
  return samples;
}

function isoToUs(iso: string): number {
  const match = /\.(\d+)Z$/.exec(iso);
  const fraction = match ? Number(match[1]!.padEnd(6, '0').slice(0, 6)) : 0;
  return Math.floor(Date.parse(iso) / 1000) * 1_000_000 + fraction;
}

async function currentLsn(pool: pg.Pool): Promise<number> {
  return parseLsn((await pool.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn);
}

async function confirmedLsn(pool: pg.Pool, slot: string): Promise<number> {
  const { rows } = await pool.query(
    'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
    [slot],
  );
  return rows[0] ? parseLsn(rows[0].lsn) : 0;
}

async function insertBacklog(pool: pg.Pool, count: number): Promise<void> {
  // One row per transaction, like the legacy application; 16 writers keep PostgreSQL's group commit busy.
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < count) {
        const n = next++;
        await pool.query(
          'INSERT INTO user_activity (id, user_id, activity_type, product_id, activity_timestamp) VALUES ($1,$2,$3,$4,now())',
          [
            randomUUID(),
            `backlog-${n % 50_000}`,
            n % 10 < 7 ? 'VIEW_PRODUCT' : 'CLICK_PRODUCT',
            `prod-${n % 300}`,
          ],
        );
      }
    }),
  );
}

/** The baseline: pg-logical-replication with its pgoutput plugin draining a slot, doing nothing per row. */
async function bareDrain(url: string, slot: string, rows: number): Promise<number> {
  const service = new LogicalReplicationService(
    { connectionString: url },
    { acknowledge: { auto: true, timeoutSeconds: 1 } },
  );
  const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: ['dbz_publication'] });
  let seen = 0;
  let started = 0;
  const done = new Promise<number>((resolve) => {
    service.on('data', (_lsn: string, message: { tag: string }) => {
      if (message.tag !== 'insert') return;
      if (seen++ === 0) started = performance.now();
      if (seen === rows) resolve(rows / ((performance.now() - started) / 1000));
    });
  });
  service.subscribe(plugin, slot).catch(() => {});
  const rate = await done;
  await service.stop();
  return rate;
}

function machine() {
  const cpus = os.cpus();
  const version = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' }).trim().split('\n')[0];
    } catch {
      return 'unknown';
    }
  };
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    redis: version('redis-server', ['--version']),
    os: `${os.type()} ${os.release()}`,
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
    const brisk = await startBrisk(env);
    const subscriber = createClient({ url: redis.url });
    await subscriber.connect();
    const latency: Record<string, unknown>[] = [];
    for (const rate of RATES) {
      const prefix = `r${rate}-`;
      const stored: number[] = [];
      await subscriber.subscribe('brisk:changes', (message) => {
        const received = nowUs();
        for (const [user, , commitUs] of JSON.parse(message) as [string, number, number | null][]) {
          if (commitUs !== null && user.startsWith(prefix)) stored.push((received - commitUs) / 1000);
        }
      });
      let stopProbe = false;
      const probing = probe(pool, brisk.apiUrl, () => stopProbe);
      const achieved = await load(pool, rate, SECONDS, prefix);
      await sleep(200);
      stopProbe = true;
      const visible = await probing;
      await subscriber.unsubscribe('brisk:changes');
      const row = {
        targetRate: rate,
        achievedRate: Math.round(achieved),
        commitToStoreMs: summary(stored),
        commitToApiMs: summary(visible),
      };
      latency.push(row);
      console.log(JSON.stringify(row));
    }
    subscriber.destroy();
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
    commitToStoreMs: ReturnType<typeof summary>;
    commitToApiMs: ReturnType<typeof summary>;
  }[];
  console.log(
    '\n| rate (target/achieved) | commit->store p50 / p99 / max (ms) | commit->API p50 / p99 / max (ms) | API samples |',
  );
  console.log('|---|---|---|---|');
  for (const r of latency) {
    const s = r.commitToStoreMs;
    const a = r.commitToApiMs;
    console.log(
      `| ${r.targetRate} / ${r.achievedRate} | ${s.p50} / ${s.p99} / ${s.max} | ${a.p50} / ${a.p99} / ${a.max} | ${a.n} |`,
    );
  }
  const d = results.drain as Record<string, number>;
  console.log(
    `\nsustained drain of ${d.backlogRows} events: Brisk ${d.briskEventsPerSecond}/s (after a ${d.briskStartupMs} ms start), ` +
      `bare pg-logical-replication ${d.bareEventsPerSecond}/s, ratio ${d.ratio}`,
  );
}

await main();
