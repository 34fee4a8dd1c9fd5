import { randomUUID } from 'node:crypto';
import {
  demoCatalogue,
  ensureDemoSchema,
  loadMapper,
  simulate,
  USER_ACTIVITY_MAPPER_PATH,
} from '@brisk/legacy';
import { afterAll, expect, it } from 'vitest';
import {
  compareWithTable,
  createTestDatabase,
  lastViewedBySql,
  runBrisk,
  runCleanups,
  startTestPipeline,
  startTestRedis,
  waitFor,
} from '../support/harness.ts';

/**
 * The legacy side: the seed's mapper XML runs against PostgreSQL with bound parameters, the demo schema is
 * idempotent, and simulated legacy traffic flows through the whole pipeline into exactly the table's state.
 */
afterAll(runCleanups);

it('creates the demo schema once and leaves it alone after', async () => {
  const db = await createTestDatabase();
  const again = await ensureDemoSchema(db.pool, {
    schema: 'public',
    table: 'user_activity',
    publication: 'dbz_publication',
  });
  expect(again).toEqual({ createdTable: false, createdPublication: false, productsLoaded: 0 });
  const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM product');
  expect(rows[0].n).toBe(demoCatalogue().length);
});

it('runs the seed mapper with bound parameters, values arriving unchanged', async () => {
  const db = await createTestDatabase();
  const mapper = await loadMapper(USER_ACTIVITY_MAPPER_PATH);
  const id = randomUUID();
  const sneaky = "user'); DROP TABLE user_activity; --";
  const result = await mapper.run(db.pool, 'insertActivity', {
    id,
    userId: sneaky,
    activityType: 'VIEW_PRODUCT',
    productId: null,
    activityTimestamp: new Date('2026-11-24T10:00:00.123Z'),
  });
  expect(result.rowCount).toBe(1);
  const { rows } = await db.pool.query('SELECT * FROM user_activity WHERE id = $1', [id]);
  expect(rows[0]).toMatchObject({ user_id: sneaky, activity_type: 'VIEW_PRODUCT', product_id: null });
  expect((rows[0].activity_timestamp as Date).toISOString()).toBe('2026-11-24T10:00:00.123Z');
});

it('feeds simulated legacy traffic through the pipeline into exactly the table state', async () => {
  const db = await createTestDatabase();
  const redis = await startTestRedis();
  const pipeline = await startTestPipeline(db, redis.url);
  try {
    const result = await simulate({
      db: db.pool,
      mapper: await loadMapper(USER_ACTIVITY_MAPPER_PATH),
      products: demoCatalogue(),
      users: 25,
      ratePerSecond: 2000,
      count: 1000,
    });
    expect(result).toMatchObject({ written: 1000, failed: 0 });
    const types = await db.pool.query(
      'SELECT activity_type, count(*)::int AS n FROM user_activity GROUP BY 1',
    );
    expect(types.rows.map((r) => r.activity_type).sort()).toEqual([
      'ADD_TO_CART',
      'CLICK_PRODUCT',
      'PURCHASE',
      'VIEW_PRODUCT',
    ]);
    const users = Array.from({ length: 25 }, (_, i) => `user-${i + 1}`);
    await waitFor(
      async () => (await compareWithTable(db.pool, redis.url, db.slot, users)).differences.length === 0,
      {
        what: 'the store to match the table',
      },
    );
    for (const user of users) {
      const body = (await (await fetch(`${pipeline.apiUrl}/api/v1/features/user/${user}`)).json()) as {
        features: { lastViewedProduct: string | null };
      };
      expect(await lastViewedBySql(db.pool, user), user).toContain(body.features.lastViewedProduct);
    }
  } finally {
    await pipeline.stop();
  }
});

it('brisk simulate writes the requested number of events and reports them', async () => {
  const db = await createTestDatabase();
  const { code, output } = await runBrisk(['simulate', '--users', '10', '--rate', '500', '--count', '200'], {
    DATABASE_URL: db.url,
  });
  expect(code).toBe(0);
  const result = JSON.parse(output.trim().split('\n').at(-1)!) as { written: number; failed: number };
  expect(result).toMatchObject({ written: 200, failed: 0 });
  const { rows } = await db.pool.query(
    'SELECT count(DISTINCT user_id)::int AS users, count(*)::int AS n FROM user_activity',
  );
  expect(rows[0].n).toBe(200);
  expect(rows[0].users).toBeLessThanOrEqual(10);
});

it('brisk simulate rejects a bad argument with usage', async () => {
  const { code, output } = await runBrisk(['simulate', '--rate', 'fast'], {
    DATABASE_URL: 'postgres://x@127.0.0.1:1/x',
  });
  expect(code).toBe(2);
  expect(output).toContain("--rate must be a positive number (got 'fast')");
  expect(output).toContain('Usage: brisk simulate');
});
