/**
 * Scale-out benchmark (`npm run bench:kafka`), on librdkafka's mock Kafka cluster (3 brokers, in memory): the
 * only Kafka-protocol cluster this machine can run, so figures say nothing about real brokers' disks or network.
 * Not a test: prints a table, writes bench/results/kafka.json.
 *
 * Processes, as in production: embedded PostgreSQL (fsync on), redis-server (AOF, appendfsync always), the mock
 * cluster, `brisk connector`, two `brisk engine` (one consumer group), one `brisk serve`; load from a further
 * process (pgbench or bench/load.ts). All share this machine's cores.
 *
 *  1. Commit -> visible on the serving instance, at fixed insert rates (default 1000 and 10000 single-row
 *     inserts/s): a probe user gets a new view every ~20 ms; a request waiting for its next version
 *     (`?minVersion=`) is sent before the insert; latency = answer received - meta.commitTs (same clock).
 *  2. Connector throughput into Kafka: a backlog of single-row transactions committed while the connector is
 *     stopped; events/s from its start until the slot is confirmed past the backlog (Kafka acknowledged all of
 *     it), against bare pg-logical-replication draining its own slot in the same run.
 *
 * Environment: BENCH_RATES=1000,10000 BENCH_SECONDS=10 BENCH_BACKLOG=100000.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureDemoSchema } from '@brisk/legacy';
import pg from 'pg';
import { startEmbeddedPostgres } from '../cli/src/harness/postgres.ts';
import { startRedis } from '../cli/src/harness/redis.ts';
import { startMockKafka } from '../test/support/kafka.ts';
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

const RATES = (process.env.BENCH_RATES ?? '1000,10000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 100_000);
const ROOT = path.resolve(import.meta.dirname, '..');
const SLOT = 'bench_kafka';

function brisk(command: string, env: Record<string, string>) {
  const child: ChildProcess = spawn(process.execPath, [path.join(ROOT, 'cli/bin/brisk.js'), command], {
    cwd: ROOT,
    env: { ...process.env, API_PORT: '0', BRISK_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    output: () => output,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'brisk-bench-kafka-'));
  await chmod(dir, 0o755);
  const postgres = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg') });
  const redis = await startRedis({ dir: path.join(dir, 'redis') });
  const kafka = await startMockKafka({ brokers: 3 });
  await kafka.createTopic('cdc.public.user_activity', 6);
  await kafka.createTopic('cdc.public.product', 2);
  const pool = new pg.Pool({ connectionString: postgres.url, max: 24 });
  pool.on('error', () => {});
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: machine(),
    kafka: 'librdkafka 2.0.2 mock cluster, 3 brokers, in memory (not Apache Kafka)',
  };
  const stops: (() => Promise<void>)[] = [];
  try {
    await ensureDemoSchema(pool, {
      schema: 'public',
      table: 'user_activity',
      publication: 'dbz_publication',
    });
    await pool.query('CREATE SEQUENCE IF NOT EXISTS bench_user');
    const env = {
      DATABASE_URL: postgres.url,
      REDIS_URL: redis.url,
      KAFKA_BROKERS: kafka.bootstrap,
      BRISK_SLOT: SLOT,
      BRISK_SNAPSHOT: 'never',
      BRISK_KAFKA_IDEMPOTENT: 'false',
    };
    let connector = brisk('connector', env);
    stops.push(() => connector.stop());
    for (let i = 0; i < 2; i++) {
      const engine = brisk('engine', env);
      stops.push(engine.stop);
    }
    const serve = brisk('serve', env);
    stops.push(serve.stop);
    let apiUrl = '';
    for (let i = 0; i < 600 && apiUrl === ''; i++) {
      const line = serve
        .output()
        .split('\n')
        .find((l) => l.startsWith('{"apiUrl"'));
      if (line) apiUrl = (JSON.parse(line) as { apiUrl: string }).apiUrl;
      else await sleep(100);
    }
    if (apiUrl === '') throw new Error('brisk serve did not start');
    // Wait until the group is formed and a probe row round-trips before measuring.
    let warm = false;
    for (let i = 0; i < 120 && !warm; i++) {
      let calls = 0;
      const samples = await probe(pool, apiUrl, () => calls++ > 0).catch(() => []);
      warm = samples.length > 0;
    }

    const pgbench = await findPgbench();
    const latency: Record<string, unknown>[] = [];
    for (const rate of RATES) {
      let stop = false;
      const probing = probe(pool, apiUrl, () => stop);
      const achieved = await load(pgbench, postgres.url, rate, SECONDS, `kafka-r${rate}`, dir);
      stop = true;
      const samples = await probing;
      const row = { targetRate: rate, achievedRate: Math.round(achieved), commitToApiMs: summary(samples) };
      latency.push(row);
      process.stderr.write(`${JSON.stringify(row)}\n`);
      await sleep(2_000);
    }
    results.latency = latency;

    // Connector throughput: backlog while the connector is stopped, then drain it into Kafka.
    await connector.stop();
    await pool.query("SELECT pg_create_logical_replication_slot('bench_bare', 'pgoutput')");
    await insertBacklog(pool, BACKLOG);
    const end = await currentLsn(pool);
    const started = performance.now();
    connector = brisk('connector', env);
    while ((await confirmedLsn(pool, SLOT)) < end) await sleep(20);
    const connectorRate = BACKLOG / ((performance.now() - started) / 1000);
    const bareRate = await bareDrain(postgres.url, 'bench_bare', BACKLOG);
    results.connectorThroughput = {
      events: BACKLOG,
      connectorEventsPerSecond: Math.round(connectorRate),
      bareDrainEventsPerSecond: Math.round(bareRate),
      ratio: Math.round((connectorRate / bareRate) * 100) / 100,
      note: 'connector time includes process start and producer connect',
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await pool.end();
    await kafka.stop();
    await redis.stop();
    await postgres.stop();
    await rm(dir, { recursive: true, force: true });
  }
  await mkdir(path.join(ROOT, 'bench/results'), { recursive: true });
  await writeFile(path.join(ROOT, 'bench/results/kafka.json'), `${JSON.stringify(results, null, 2)}\n`);
  printTable(results);
}

function printTable(results: Record<string, unknown>) {
  const m = results.machine as { cpu: string; cores: number };
  console.log(`\nKafka mode (${results.kafka}), ${results.date}, ${m.cpu} x${m.cores}`);
  console.log('| target ev/s | achieved | commit -> API p50 | p99 | max | n |');
  console.log('|---|---|---|---|---|---|');
  for (const row of results.latency as {
    targetRate: number;
    achievedRate: number;
    commitToApiMs: { p50: number; p99: number; max: number; n: number };
  }[]) {
    const l = row.commitToApiMs;
    console.log(
      `| ${row.targetRate} | ${row.achievedRate} | ${l.p50} ms | ${l.p99} ms | ${l.max} ms | ${l.n} |`,
    );
  }
  const t = results.connectorThroughput as Record<string, number>;
  console.log(
    `\nconnector into Kafka: ${t.connectorEventsPerSecond} events/s; bare pg-logical-replication drain ${t.bareDrainEventsPerSecond} events/s; ratio ${t.ratio}`,
  );
}

await main();
