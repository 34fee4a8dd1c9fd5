import { randomUUID } from 'node:crypto';
import { parseLsn } from '@brisk/core';
import type pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import {
  compareWithTable,
  createTestDatabase,
  lastViewedBySql,
  runCleanups,
  spawnBrisk,
  startTestRedis,
  type TestDatabase,
  waitFor,
} from '../support/harness.ts';

/**
 * Crash safety of the embedded pipeline: `brisk start` is SIGKILLed again and again while a writer keeps
 * changing user_activity with plain SQL (inserts, updates that also move rows between users, deletes,
 * multi-row and very large transactions). After the last restart has caught up, the rows Brisk holds for each
 * user must be exactly the rows the table holds — none missing, none extra, every one at its latest version —
 * and lastViewedProduct must equal the same quantity computed by SQL.
 */
const USERS = Array.from({ length: 24 }, (_, i) => `crash-u${i}`);
/** Half an hour back: every row stays inside activityCount1h's window, clear of its edge, while the test runs. */
const BASE_US = (Date.now() - 1_800_000) * 1000;

let db: TestDatabase;

afterAll(runCleanups);

class Writer {
  private counter = 0;
  private readonly live: string[] = [];
  private stopped = false;
  private readonly loops: Promise<void>[] = [];
  written = 0;

  constructor(private readonly pool: pg.Pool) {}

  start(concurrency = 3): void {
    for (let i = 0; i < concurrency; i++) this.loops.push(this.loop());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  /** Unique per call, mostly increasing, sometimes up to 50 ms in the past (late events). */
  private timestamp(): string {
    const n = this.counter++;
    const late = Math.random() < 0.2 ? Math.floor(Math.random() * 50) : 0;
    const us = BASE_US + (n - late) * 1000 + (n % 1000);
    return new Date(Math.floor(us / 1000))
      .toISOString()
      .replace('Z', `${String(us % 1000).padStart(3, '0')}Z`);
  }

  private row(): unknown[] {
    const user = USERS[Math.floor(Math.random() * USERS.length)]!;
    const type = Math.random() < 0.7 ? 'VIEW_PRODUCT' : 'CLICK_PRODUCT';
    return [randomUUID(), user, type, `prod-${Math.floor(Math.random() * 300)}`, this.timestamp()];
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const dice = Math.random();
      if (dice < 0.7 || this.live.length < 20) {
        const values = this.row();
        await this.pool.query(
          'INSERT INTO user_activity (id, user_id, activity_type, product_id, activity_timestamp) VALUES ($1,$2,$3,$4,$5)',
          values,
        );
        this.live.push(values[0] as string);
        this.written++;
      } else if (dice < 0.8) {
        const id = this.live[Math.floor(Math.random() * this.live.length)]!;
        const move = Math.random() < 0.3;
        await this.pool.query(
          'UPDATE user_activity SET product_id = $2, activity_timestamp = $3, user_id = COALESCE($4, user_id) WHERE id = $1',
          [
            id,
            `prod-u${Math.floor(Math.random() * 300)}`,
            this.timestamp(),
            move ? USERS[Math.floor(Math.random() * USERS.length)] : null,
          ],
        );
        this.written++;
      } else if (dice < 0.9) {
        const index = Math.floor(Math.random() * this.live.length);
        const [id] = this.live.splice(index, 1);
        await this.pool.query('DELETE FROM user_activity WHERE id = $1', [id]);
        this.written++;
      } else {
        await this.transaction(5);
      }
    }
  }

  async transaction(size: number): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const rows = Array.from({ length: size }, () => this.row());
      // One multi-row INSERT per 500 rows keeps a 20k-row transaction quick to write.
      for (let offset = 0; offset < rows.length; offset += 500) {
        const chunk = rows.slice(offset, offset + 500);
        const placeholders = chunk.map(
          (_, i) => `($${i * 5 + 1},$${i * 5 + 2},$${i * 5 + 3},$${i * 5 + 4},$${i * 5 + 5})`,
        );
        await client.query(
          `INSERT INTO user_activity (id, user_id, activity_type, product_id, activity_timestamp) VALUES ${placeholders.join(',')}`,
          chunk.flat(),
        );
      }
      await client.query('COMMIT');
      for (const row of rows) this.live.push(row[0] as string);
      this.written += size;
    } finally {
      client.release();
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('loses nothing and applies nothing twice across repeated SIGKILLs', async () => {
  db = await createTestDatabase();
  const redis = await startTestRedis();
  const env = {
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    BRISK_SLOT: db.slot,
    BRISK_HEARTBEAT_MS: '200',
    BRISK_MAX_ROWS_PER_USER: '100000',
  };
  const writer = new Writer(db.pool);

  const killPoints: { afterMs: number; downMs: number; bigTransaction?: boolean }[] = [
    { afterMs: 0, downMs: 200 }, // as soon as it announced itself
    { afterMs: 150, downMs: 0 },
    { afterMs: 700, downMs: 400 },
    { afterMs: 50, downMs: 100, bigTransaction: true }, // while a 20k-row transaction is being applied
    { afterMs: 300, downMs: 50 },
    { afterMs: 1200, downMs: 300 },
  ];
  for (const point of killPoints) {
    const brisk = await spawnBrisk(env);
    await brisk.runtime();
    // Rows committed before the slot exists are not in its stream (that is the initial snapshot's job), so
    // the writer starts once the first process has created the slot.
    if (point === killPoints[0]) writer.start();
    // Committed just before the kill: Brisk is still decoding and applying it (in chunks) when it dies.
    if (point.bigTransaction) await writer.transaction(20_000);
    await sleep(point.afterMs);
    brisk.child.kill('SIGKILL');
    await brisk.exited;
    await sleep(point.downMs);
  }

  const final = await spawnBrisk(env);
  const runtime = await final.runtime();
  await sleep(300);
  await writer.stop();
  expect(writer.written).toBeGreaterThan(20_000);

  // Caught up when the slot is confirmed past everything written.
  const end = parseLsn((await db.pool.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn);
  await waitFor(
    async () => {
      const { rows } = await db.pool.query(
        'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
        [db.slot],
      );
      return rows[0] && parseLsn(rows[0].lsn) >= end;
    },
    { timeoutMs: 120_000, what: 'the slot to be confirmed past the last write' },
  ).catch((error: unknown) => {
    console.log(`--- output of the last brisk start ---\n${final.output().slice(-5000)}`);
    throw error;
  });

  const { differences, rows } = await compareWithTable(db.pool, redis.url, db.slot, USERS);
  expect(differences.slice(0, 20)).toEqual([]);
  expect(rows).toBeGreaterThan(10_000);
  for (const user of USERS) {
    const api = (await (await fetch(`${runtime.apiUrl}/api/v1/features/user/${user}`)).json()) as {
      features: { lastViewedProduct: string | null; activityCount1h: number };
    };
    const { rows: counted } = await db.pool.query(
      `SELECT count(*)::int AS n FROM user_activity WHERE user_id = $1 AND activity_timestamp > now() - interval '1 hour'`,
      [user],
    );
    // Nothing lost, nothing counted twice, across every kill.
    expect(api.features.activityCount1h, `activityCount1h of ${user}`).toBe(counted[0].n);
    // The writer's timestamps are unique, so SQL names exactly one product.
    expect(await lastViewedBySql(db.pool, user), `lastViewedProduct of ${user}`).toEqual([
      api.features.lastViewedProduct,
    ]);
  }
  final.child.kill('SIGTERM');
  expect(await final.exited).toBe(0);
}, 300_000);
