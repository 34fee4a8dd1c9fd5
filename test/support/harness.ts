import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Config, createMetrics, loadConfig, silentLogger } from '@brisk/core';
import { ensureDemoSchema } from '@brisk/legacy';
import { RedisFeatureStore } from '@brisk/store';
import pg from 'pg';
import { inject } from 'vitest';
import { type SpawnedRedis, startRedis } from '../../cli/src/harness/redis.ts';
import type { RuntimeInfo } from '../../cli/src/harness/runtime.ts';
import { type Pipeline, startPipeline } from '../../cli/src/pipeline.ts';

/**
 * Shared integration-test helpers. Every resource gets a unique name and registers its own cleanup, so test
 * files do not see each other's databases, slots or Redis data.
 */
export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

export async function tempDir(prefix = 'brisk-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  // Traversable by the `postgres` user that runs embedded PostgreSQL when the tests run as root.
  await chmod(dir, 0o755);
  onCleanup(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const cleanups: (() => Promise<unknown>)[] = [];
/** File-level cleanup, run in reverse order by `runCleanups` (call it from afterAll). */
export function onCleanup(fn: () => Promise<unknown>): void {
  cleanups.push(fn);
}
export async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => {});
}

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  readonly slot: string;
  readonly pool: pg.Pool;
}

/**
 * A fresh database with the demo schema in the shared embedded server, and a unique slot name for it (slots
 * are cluster-wide). Cleanup drops the slot, then the database.
 */
export async function createTestDatabase(adminUrl = inject('pgAdminUrl')): Promise<TestDatabase> {
  const name = uniqueName('brisk_it');
  const slot = uniqueName('slot');
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = withDatabase(adminUrl, name);
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => {});
  await ensureDemoSchema(pool, { schema: 'public', table: 'user_activity', publication: 'dbz_publication' });
  onCleanup(async () => {
    await pool.end();
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    for (let i = 0; i < 50; i++) {
      const active = await client.query(
        'SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1 AND active',
        [slot],
      );
      if (active.rowCount === 0) break;
      await client.query('SELECT pg_terminate_backend($1)', [active.rows[0].active_pid]);
      await new Promise((r) => setTimeout(r, 100));
    }
    await client.query(
      'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1',
      [slot],
    );
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.end();
  });
  return { url, name, slot, pool };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export async function startTestRedis(): Promise<SpawnedRedis> {
  const redis = await startRedis({ dir: await tempDir('brisk-redis-') });
  onCleanup(() => redis.stop());
  return redis;
}

/** A validated config for a test pipeline: ephemeral API port, the test's slot, quiet logs. */
export function testConfig(db: TestDatabase, redisUrl: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    API_PORT: '0',
    BRISK_SLOT: db.slot,
    BRISK_LOG_LEVEL: 'silent',
    BRISK_HEARTBEAT_MS: '200',
    ...env,
  });
}

export const quiet = silentLogger;

/** The embedded pipeline in this process, on the test's database and Redis; stopped by the caller. */
export function startTestPipeline(
  db: TestDatabase,
  redisUrl: string,
  env: Record<string, string> = {},
): Promise<Pipeline> {
  return startPipeline({
    config: testConfig(db, redisUrl, env),
    databaseUrl: db.url,
    redisUrl,
    logger: silentLogger,
  });
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  { timeoutMs = 10_000, intervalMs = 10, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value as T;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface BriskProcess {
  readonly child: ChildProcess;
  readonly dataDir: string;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
  runtime(): Promise<RuntimeInfo>;
}

/** `brisk start` as a child process (the real CLI), for tests that SIGKILL it. */
export async function spawnBrisk(env: Record<string, string>): Promise<BriskProcess> {
  const dataDir = env.BRISK_DATA_DIR ?? (await tempDir('brisk-data-'));
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'cli/bin/brisk.js'), 'start'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      API_PORT: '0',
      WEB_PORT: '0',
      BRISK_LOG_LEVEL: 'warn',
      ...env,
      BRISK_DATA_DIR: dataDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return {
    child,
    dataDir,
    output: () => output,
    exited,
    runtime: () =>
      waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`brisk exited with ${child.exitCode}:\n${output}`);
          // runtime.json is rewritten at every start; only the line printed by *this* process counts.
          const line = output.split('\n').find((l) => l.startsWith('{"databaseUrl"'));
          return line ? (JSON.parse(line) as RuntimeInfo) : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 20, what: 'brisk start to print its runtime line' },
      ),
  };
}

export async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, 'utf8')) as T;
}

/**
 * Ground truth: the live rows Brisk holds for each user (read straight from Redis) against the rows the
 * table holds. Returns one line per difference; empty when they agree exactly.
 */
export async function compareWithTable(
  pool: pg.Pool,
  redisUrl: string,
  slot: string,
  users: readonly string[],
): Promise<{ differences: string[]; rows: number }> {
  const store = await RedisFeatureStore.open({
    url: redisUrl,
    slot,
    durability: 'none',
    userTtlSeconds: 604_800,
    l1MaxBytes: 64 * 1024 * 1024,
    metrics: createMetrics({ defaultMetrics: false }),
    logger: silentLogger,
  });
  const differences: string[] = [];
  let rows = 0;
  try {
    const states = await store.freshStates(users);
    for (const user of users) {
      const result = await pool.query(
        `SELECT id::text, activity_type, product_id,
                (extract(epoch from activity_timestamp) * 1000000)::bigint::text AS us
           FROM user_activity WHERE user_id = $1`,
        [user],
      );
      const expected = new Map(
        result.rows.map((r) => [r.id as string, `${r.activity_type}|${r.product_id}|${r.us}`]),
      );
      rows += expected.size;
      const actual = new Map<string, string>();
      for (const [id, row] of states.get(user)!.rows) {
        if (row.data) actual.set(id, `${row.data.type}|${row.data.productId}|${row.eventUs}`);
      }
      for (const [id, value] of expected) {
        if (!actual.has(id)) differences.push(`${user}: missing ${id} (${value})`);
        else if (actual.get(id) !== value)
          differences.push(`${user}: ${id} is ${actual.get(id)}, table has ${value}`);
      }
      for (const id of actual.keys()) if (!expected.has(id)) differences.push(`${user}: extra ${id}`);
    }
  } finally {
    await store.close();
  }
  return { differences, rows };
}

/**
 * lastViewedProduct computed by SQL: the products of the user's newest VIEW_PRODUCT rows. Several when views
 * share a timestamp: Brisk breaks such ties by commit order, which SQL cannot see, so any of them is right.
 */
export async function lastViewedBySql(pool: pg.Pool, user: string): Promise<(string | null)[]> {
  const { rows } = await pool.query(
    `SELECT product_id FROM user_activity
      WHERE user_id = $1 AND activity_type = 'VIEW_PRODUCT' AND product_id IS NOT NULL
        AND activity_timestamp = (SELECT max(activity_timestamp) FROM user_activity
                                   WHERE user_id = $1 AND activity_type = 'VIEW_PRODUCT' AND product_id IS NOT NULL)`,
    [user],
  );
  return rows.length === 0 ? [null] : rows.map((r) => r.product_id as string);
}

/** Runs `brisk <args>` to completion; returns its exit code and everything it printed. */
export function runBrisk(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'cli/bin/brisk.js'), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, API_PORT: '0', WEB_PORT: '0', BRISK_LOG_LEVEL: 'warn', ...env },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('exit', (code) => resolve({ code, output }));
  });
}

/** A long-running `brisk <command>` (connector, engine, serve) as a child process, for tests that kill it. */
export interface BriskCommand {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export function spawnBriskCommand(command: string, env: Record<string, string>): BriskCommand {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'cli/bin/brisk.js'), command], {
    cwd: REPO_ROOT,
    env: { ...process.env, API_PORT: '0', WEB_PORT: '0', BRISK_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 1_000_000) output = output.slice(-500_000);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  onCleanup(() => kill());
  return { child, output: () => output, exited, kill };
}
