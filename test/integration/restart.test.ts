import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { ensureDemoSchema } from '@brisk/legacy';
import pg from 'pg';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../../cli/src/harness/postgres.ts';
import { type SpawnedRedis, startRedis } from '../../cli/src/harness/redis.ts';
import type { Pipeline } from '../../cli/src/pipeline.ts';
import {
  compareWithTable,
  runCleanups,
  startTestPipeline,
  tempDir,
  uniqueName,
  waitFor,
} from '../support/harness.ts';

/**
 * The connector and store survive their servers restarting: PostgreSQL stopped and started (the connector
 * reconnects with backoff and resumes from the slot), Redis stopped gracefully and killed outright (AOF with
 * fsync always keeps every acknowledged write), and a replication connection cut mid-burst (the server resends
 * what was not confirmed; re-applying it changes nothing). A Redis that comes back empty stops the pipeline.
 */
const USERS = ['r-u1', 'r-u2', 'r-u3', 'r-u4'];
let root: string;
let postgres: EmbeddedPostgres;
let redis: SpawnedRedis;
let pool: pg.Pool;
let pipeline: Pipeline;
const slot = uniqueName('restart');
let inserted = 0;

async function insertBurst(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const user = USERS[inserted % USERS.length]!;
    await pool.query(
      'INSERT INTO user_activity (id, user_id, activity_type, product_id, activity_timestamp) VALUES ($1,$2,$3,$4,$5)',
      [
        randomUUID(),
        user,
        'VIEW_PRODUCT',
        `prod-${inserted}`,
        new Date(Date.UTC(2026, 10, 24, 8, 0, 0, inserted)),
      ],
    );
    inserted++;
  }
}

async function lastViewed(user: string): Promise<string | null> {
  const body = (await (await fetch(`${pipeline.apiUrl}/api/v1/features/user/${user}`)).json()) as {
    features: { lastViewedProduct: string | null };
  };
  return body.features.lastViewedProduct;
}

/** The last inserted row's product is visible for its user. */
async function caughtUp(what: string): Promise<void> {
  const n = inserted - 1;
  await waitFor(async () => (await lastViewed(USERS[n % USERS.length]!)) === `prod-${n}`, {
    timeoutMs: 30_000,
    what,
  });
}

async function expectMatchesTable(): Promise<void> {
  const { differences, rows } = await compareWithTable(pool, redis.url, slot, USERS);
  expect(differences.slice(0, 10)).toEqual([]);
  expect(rows).toBe(inserted);
}

function metric(text: string, name: string): number {
  const match = new RegExp(`^${name} (\\d+(?:\\.\\d+)?)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

async function scrape(): Promise<string> {
  return (await fetch(`${pipeline.apiUrl}/metrics`)).text();
}

beforeAll(async () => {
  root = await tempDir('brisk-restart-');
  postgres = await startEmbeddedPostgres({ dataDir: path.join(root, 'pg'), settings: { fsync: 'off' } });
  redis = await startRedis({ dir: path.join(root, 'redis') });
  pool = new pg.Pool({ connectionString: postgres.url, max: 2 });
  pool.on('error', () => {});
  await ensureDemoSchema(pool, { schema: 'public', table: 'user_activity', publication: 'dbz_publication' });
  pipeline = await startTestPipeline({ url: postgres.url, name: 'brisk', slot, pool }, redis.url);
  await insertBurst(20);
  await caughtUp('the first burst');
});

afterAll(async () => {
  await pipeline?.stop();
  await pool?.end();
  await redis?.stop();
  await postgres?.stop();
  await runCleanups();
});

describe('server restarts', () => {
  it('resumes after PostgreSQL restarts', async () => {
    await postgres.stop();
    await waitFor(() => pipeline.connector.state === 'backoff' || pipeline.connector.state === 'connecting', {
      what: 'the connector to notice',
    });
    expect((await fetch(`${pipeline.apiUrl}/readyz`)).status).toBe(503);
    postgres = await startEmbeddedPostgres({ dataDir: path.join(root, 'pg'), port: postgres.port });
    await waitFor(() => pipeline.connector.state === 'streaming', {
      timeoutMs: 30_000,
      what: 'streaming again',
    });
    await insertBurst(20);
    await caughtUp('rows written after the restart');
    expect(metric(await scrape(), 'brisk_connector_reconnects_total')).toBeGreaterThanOrEqual(1);
    await expectMatchesTable();
  });

  it('holds writes while Redis is stopped and applies them when it is back', async () => {
    await redis.stop();
    await insertBurst(30); // committed in PostgreSQL while Redis is down: the slot keeps them
    await new Promise((resolve) => setTimeout(resolve, 300));
    redis = await startRedis({ dir: path.join(root, 'redis'), port: redis.port });
    await caughtUp('rows written while Redis was down');
    await expectMatchesTable();
  });

  it('keeps every acknowledged write when Redis is killed with SIGKILL', async () => {
    await insertBurst(200);
    await redis.kill();
    redis = await startRedis({ dir: path.join(root, 'redis'), port: redis.port });
    await caughtUp('rows around the Redis crash');
    await expectMatchesTable();
  });

  it('re-applies what the server resends after a cut connection without changing anything', async () => {
    const before = await scrape();
    const admin = createClient({ url: redis.url });
    await admin.connect();
    // A script that spins for 400 ms blocks Redis: the engine's write of the next rows is stuck in flight.
    const blocked = admin.eval(
      "local t = redis.call('TIME') local stop = t[1] * 1000000 + t[2] + 400000 " +
        "repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] >= stop return 1",
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    const client = await pool.connect();
    await client.query('BEGIN');
    for (let i = 0; i < 50; i++) {
      await client.query(
        'INSERT INTO user_activity (id, user_id, activity_type, product_id, activity_timestamp) VALUES ($1,$2,$3,$4,$5)',
        [
          randomUUID(),
          USERS[inserted % USERS.length],
          'VIEW_PRODUCT',
          `prod-${inserted}`,
          new Date(Date.UTC(2026, 10, 24, 8, 0, 0, inserted)),
        ],
      );
      inserted++;
    }
    await client.query('COMMIT');
    client.release();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Cut the stream while those 50 rows are applied but cannot yet be confirmed.
    await pool.query(
      'SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1',
      [slot],
    );
    await blocked;
    admin.destroy();
    await caughtUp('the transaction around the cut');
    await expectMatchesTable();
    const after = await scrape();
    expect(metric(after, 'brisk_connector_reconnects_total')).toBeGreaterThan(
      metric(before, 'brisk_connector_reconnects_total'),
    );
    // The server resent the unconfirmed transaction; every event of it was already applied, so a no-op.
    const duplicates = (text: string) => metric(text, 'brisk_engine_events_total\\{outcome="duplicate"\\}');
    await waitFor(async () => duplicates(await scrape()) - duplicates(before) >= 50, {
      what: '50 duplicates',
    });
  });

  it('stops with BRISK_STORE_LOST_DATA when Redis comes back without acknowledged data', async () => {
    const admin = createClient({ url: redis.url });
    await admin.connect();
    await admin.flushAll();
    // Drop the pipeline's connection, as a restart of a Redis without persistence would.
    await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes']);
    admin.destroy();
    await insertBurst(1);
    const error = (await pipeline.failed.catch((e: unknown) => e)) as { code?: string; message?: string };
    expect(error.code).toBe('BRISK_STORE_LOST_DATA');
    expect(error.message).toMatch(/pg_drop_replication_slot/);
  });
});
