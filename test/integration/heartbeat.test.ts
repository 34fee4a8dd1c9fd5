import { parseLsn } from '@brisk/core';
import { afterAll, expect, it } from 'vitest';
import {
  createTestDatabase,
  runCleanups,
  startTestPipeline,
  startTestRedis,
  waitFor,
} from '../support/harness.ts';

/**
 * A durable slot keeps WAL until its confirmed position moves. When user_activity is idle but the rest of the
 * database is busy, Brisk must still move the slot forward (status updates that ask for the server's position),
 * or the server's disk fills with WAL nobody will read.
 */
afterAll(runCleanups);

it('advances an idle slot while other tables generate WAL', async () => {
  const db = await createTestDatabase();
  const redis = await startTestRedis();
  const pipeline = await startTestPipeline(db, redis.url, { BRISK_HEARTBEAT_MS: '200' });
  try {
    await db.pool.query('CREATE TABLE unrelated (id serial PRIMARY KEY, payload text)');
    const slotLsn = async () => {
      const { rows } = await db.pool.query(
        'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
        [db.slot],
      );
      return parseLsn(rows[0].lsn);
    };
    const start = await slotLsn();
    for (let i = 0; i < 20; i++) {
      await db.pool.query(
        "INSERT INTO unrelated (payload) SELECT repeat('x', 200) FROM generate_series(1, 500)",
      );
    }
    const busyUntil = parseLsn((await db.pool.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn);
    expect(busyUntil - start).toBeGreaterThan(1_000_000);
    await waitFor(async () => (await slotLsn()) >= busyUntil, {
      timeoutMs: 10_000,
      what: 'the idle slot to move past the unrelated writes',
    });
    const lag = await pipeline.connector.slotLagBytes();
    expect(lag).not.toBeNull();
    expect(lag!).toBeLessThan(busyUntil - start);
  } finally {
    await pipeline.stop();
  }
});
