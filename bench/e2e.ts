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
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { access, chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseLsn } from '@brisk/core';
import { ensureDemoSchema } from '@brisk/legacy';
import pg from 'pg';
import { LogicalReplicationService, PgoutputPlugin } from 'pg-logical-replication';
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

async function findPgbench(): Promise<string | null> {
  const candidates = (process.env.PATH ?? '').split(':').map((dir) => path.join(dir, 'pgbench'));
  for (const version of await readdir('/usr/lib/postgresql').catch(() => [] as string[])) {
    candidates.push(`/usr/lib/postgresql/${version}/bin/pgbench`);
  }
  for (const candidate of candidates) {
    try {
      await access(candidate, 1);
      execFileSync(candidate, ['--version']);
      return candidate;
    } catch {}
  }
  return null;
}

/** Single-row autocommit inserts at `rate` per second for `seconds`, each for a fresh user, from another process. */
async function load(
  pgbench: string | null,
  url: string,
  rate: number,
  seconds: number,
  prefix: string,
  dir: string,
): Promise<number> {
  const run = (command: string, args: string[], env: NodeJS.ProcessEnv) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.on('exit', (code) =>
        code === 0 ? resolve(output) : reject(new Error(`${command} failed:\n${output}`)),
      );
    });
  if (pgbench) {
    const script = path.join(dir, 'insert.sql');
    await writeFile(
      script,
      "INSERT INTO user_activity VALUES (gen_random_uuid(), 'r' || :rate || '-' || nextval('bench_user'), 'VIEW_PRODUCT', " +
        "'prod-' || (random() * 299)::int, now());\n",
    );
    await chmod(script, 0o644);
    const u = new URL(url);
    const output = await run(
      pgbench,
      [
        '-n',
        '-c',
        '8',
        '-j',
        '2',
        '-R',
        String(rate),
        '-T',
        String(seconds),
        '-D',
        `rate=${rate}`,
        '-f',
        script,
        '-h',
        u.hostname,
        '-p',
        u.port,
        '-U',
        decodeURIComponent(u.username),
        u.pathname.slice(1),
      ],
      { ...process.env, PGPASSWORD: decodeURIComponent(u.password) },
    );
    return Number(/tps = ([\d.]+)/.exec(output)?.[1] ?? Number.NaN);
  }
  const output = await run(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'bench/load.ts'), url, String(rate), String(seconds), prefix],
    process.env,
  );
  return (JSON.parse(output.trim().split('\n').at(-1)!) as { achievedRate: number }).achievedRate;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function getJson<T>(url: string): Promise<T> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve(JSON.parse(body) as T));
      })
      .on('error', reject);
  });
}

/**
 * Every ~20 ms: a new view for the probe user. One request waits for the user's next version
 * (`?minVersion=`), sent before the insert; the feature is visible when its answer arrives.
 */
async function probe(pool: pg.Pool, apiUrl: string, stop: () => boolean): Promise<number[]> {
  type Body = { features: { lastViewedProduct: string }; meta: { version: number; commitTs: string } };
  const url = `${apiUrl}/api/v1/features/user/bench-probe`;
  const samples: number[] = [];
  let n = 0;
  while (!stop()) {
    const product = `probe-${n++}`;
    const { meta } = await getJson<Body>(url);
    const visible = getJson<Body>(`${url}?minVersion=${meta.version + 1}&waitMs=5000`);
    const inserted = pool.query(
      'INSERT INTO user_activity (id, user_id, activity_type, product_id, activity_timestamp) VALUES ($1,$2,$3,$4,now())',
      [randomUUID(), 'bench-probe', 'VIEW_PRODUCT', product],
    );
    const body = await visible;
    const received = nowUs();
    if (body.features.lastViewedProduct !== product)
      throw new Error(`probe ${product} not visible within 5 s`);
    samples.push((received - isoToUs(body.meta.commitTs)) / 1000);
    await inserted;
    await sleep(20);
  }
  return samples;
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
