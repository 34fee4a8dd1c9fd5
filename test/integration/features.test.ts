import { randomUUID } from 'node:crypto';
import { makeProduct } from '@brisk/features';
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  runCleanups,
  startTestPipeline,
  startTestRedis,
  type TestDatabase,
  waitFor,
} from '../support/harness.ts';

/**
 * The feature engine against PostgreSQL: every default feature equals the same quantity computed by SQL over
 * user_activity (joined with product) at the same moment; rows that exist before Brisk first starts are read by
 * the initial snapshot; a category change in the catalogue reaches the features that read it; a 30 s count
 * falls to zero with no new events; and the batch, selection and recommendation endpoints.
 */
afterAll(runCleanups);

type Features = Record<string, unknown> & {
  lastViewedProduct: string | null;
  lastClickedCategory: string | null;
  viewCount30s: number;
  clickCount30s: number;
  viewCount5m: number;
  clickCount5m: number;
  activityCount1h: number;
  recentProducts: string[];
  topCategories5m: { category: string; count: number }[];
  embedding: number[];
};
interface Body {
  userId: string;
  features: Features;
  meta: { version: number; lsn: string | null };
}

const TYPES = ['VIEW_PRODUCT', 'CLICK_PRODUCT', 'ADD_TO_CART', 'PURCHASE', 'WISHLIST'];
/** Offsets from now (seconds) that stay clear of the 30 s, 5 min and 1 h edges while a test runs. */
const AGE_RANGES: [number, number][] = [
  [2, 15],
  [45, 240],
  [420, 3000],
  [4000, 20000],
];

function randomAgeSeconds(random: () => number): number {
  const [low, high] = AGE_RANGES[Math.floor(random() * AGE_RANGES.length)]!;
  return low + random() * (high - low);
}

async function insert(
  db: TestDatabase,
  user: string,
  type: string,
  product: string | null,
  ageSeconds: number,
) {
  const id = randomUUID();
  await db.pool.query(
    `INSERT INTO user_activity VALUES ($1, $2, $3, $4, clock_timestamp() - make_interval(secs => $5))`,
    [id, user, type, product, ageSeconds],
  );
  return id;
}

/** Each default feature, computed by SQL at the database's now(). */
async function featuresBySql(db: TestDatabase, user: string): Promise<Omit<Features, 'embedding'>> {
  const q = async (text: string) => (await db.pool.query(text, [user])).rows;
  const count = async (types: string[] | null, window: string) =>
    (
      await db.pool.query(
        `SELECT count(*)::int AS n FROM user_activity
          WHERE user_id = $1 AND ($2::text[] IS NULL OR activity_type = ANY($2))
            AND activity_timestamp > now() - $3::interval`,
        [user, types, window],
      )
    ).rows[0].n as number;
  const lastViewed = await q(
    `SELECT product_id FROM user_activity WHERE user_id = $1 AND activity_type = 'VIEW_PRODUCT'
        AND product_id IS NOT NULL ORDER BY activity_timestamp DESC LIMIT 1`,
  );
  const lastClicked = await q(
    `SELECT p.category FROM user_activity a JOIN product p ON p.id = a.product_id
      WHERE a.user_id = $1 AND a.activity_type = 'CLICK_PRODUCT' ORDER BY a.activity_timestamp DESC LIMIT 1`,
  );
  const recent = await q(
    `SELECT product_id FROM user_activity WHERE user_id = $1 AND product_id IS NOT NULL
      GROUP BY product_id ORDER BY max(activity_timestamp) DESC LIMIT 10`,
  );
  const top = await q(
    `SELECT p.category, count(*)::int AS count FROM user_activity a JOIN product p ON p.id = a.product_id
      WHERE a.user_id = $1 AND a.activity_timestamp > now() - interval '5 minutes'
      GROUP BY p.category ORDER BY count(*) DESC, max(a.activity_timestamp) DESC LIMIT 3`,
  );
  return {
    lastViewedProduct: lastViewed[0]?.product_id ?? null,
    lastClickedCategory: lastClicked[0]?.category ?? null,
    viewCount30s: await count(['VIEW_PRODUCT'], '30 seconds'),
    clickCount30s: await count(['CLICK_PRODUCT'], '30 seconds'),
    viewCount5m: await count(['VIEW_PRODUCT'], '5 minutes'),
    clickCount5m: await count(['CLICK_PRODUCT'], '5 minutes'),
    activityCount1h: await count(null, '1 hour'),
    recentProducts: recent.map((r) => r.product_id),
    topCategories5m: top.map((r) => ({ category: r.category, count: r.count })),
  };
}

/** The behaviour embedding recomputed from the table: decayed mean (half-life 60 s) of product embeddings. */
async function embeddingBySql(db: TestDatabase, user: string, nowMs: number): Promise<number[]> {
  const { rows } = await db.pool.query(
    `SELECT p.name, p.category, extract(epoch FROM a.activity_timestamp) * 1000 AS at_ms
       FROM user_activity a JOIN product p ON p.id = a.product_id
      WHERE a.user_id = $1 AND a.activity_type IN ('VIEW_PRODUCT', 'CLICK_PRODUCT')`,
    [user],
  );
  const sum = new Array(32).fill(0);
  let total = 0;
  for (const row of rows) {
    const weight = 2 ** (-Math.max(0, nowMs - Number(row.at_ms)) / 60_000);
    const embedding = makeProduct('x', row.name, row.category, null).embedding;
    total += weight;
    embedding.forEach((v, i) => {
      sum[i] += weight * v;
    });
  }
  return sum.map((v) => (total === 0 ? 0 : v / total));
}

async function get(apiUrl: string, user: string, query = ''): Promise<Body> {
  const response = await fetch(`${apiUrl}/api/v1/features/user/${encodeURIComponent(user)}${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as Body;
}

async function lsnNow(db: TestDatabase): Promise<string> {
  return (await db.pool.query('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0].lsn;
}

function lsnValue(text: string | null): number {
  if (text === null) return 0;
  const [high, low] = text.split('/');
  return Number.parseInt(high!, 16) * 2 ** 32 + Number.parseInt(low!, 16);
}

describe('features against SQL ground truth', () => {
  it('reads pre-existing rows in the initial snapshot, then follows inserts, updates, deletes and moves', async () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const db = await createTestDatabase();
    const users = ['gt-1', 'gt-2', 'gt-3', 'gt-4', 'gt-5'];
    const products = [
      ...Array.from({ length: 12 }, (_, i) => `prod-${String(i + 1).padStart(3, '0')}`),
      'no-such-product',
    ];
    const ids: string[] = [];
    const writeSome = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const dice = random();
        if (dice < 0.7 || ids.length < 5) {
          const product = random() < 0.08 ? null : products[Math.floor(random() * products.length)]!;
          ids.push(
            await insert(
              db,
              users[Math.floor(random() * users.length)]!,
              TYPES[Math.floor(random() * TYPES.length)]!,
              product,
              randomAgeSeconds(random),
            ),
          );
        } else if (dice < 0.85) {
          const id = ids[Math.floor(random() * ids.length)]!;
          await db.pool.query(
            `UPDATE user_activity SET activity_type = $2, product_id = $3, user_id = $4,
                    activity_timestamp = clock_timestamp() - make_interval(secs => $5) WHERE id = $1`,
            [
              id,
              TYPES[Math.floor(random() * TYPES.length)],
              products[Math.floor(random() * products.length)],
              users[Math.floor(random() * users.length)],
              randomAgeSeconds(random),
            ],
          );
        } else {
          const [id] = ids.splice(Math.floor(random() * ids.length), 1);
          await db.pool.query('DELETE FROM user_activity WHERE id = $1', [id]);
        }
      }
    };

    await writeSome(150); // before Brisk exists: only the initial snapshot can see these
    const redis = await startTestRedis();
    const pipeline = await startTestPipeline(db, redis.url);
    try {
      const compare = async (what: string) => {
        for (const user of users) {
          const nowMs = Date.now();
          const body = await get(pipeline.apiUrl, user);
          const { embedding, ...features } = body.features;
          expect(features, `${what}: ${user}`).toEqual(await featuresBySql(db, user));
          const expected = await embeddingBySql(db, user, nowMs);
          embedding.forEach((v, i) => {
            expect(Math.abs(v - expected[i]!), `${what}: ${user} embedding[${i}]`).toBeLessThan(5e-3);
          });
        }
      };
      await compare('after the snapshot');

      await writeSome(250);
      const until = lsnValue(await lsnNow(db));
      await waitFor(
        async () => {
          const { rows } = await db.pool.query(
            'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
            [db.slot],
          );
          return lsnValue(rows[0].lsn) >= until;
        },
        { what: 'the stream to catch up' },
      );
      await compare('after streaming');
    } finally {
      await pipeline.stop();
    }
  });

  it('reflects a category change in the catalogue in the features that read it', async () => {
    const db = await createTestDatabase();
    const redis = await startTestRedis();
    const pipeline = await startTestPipeline(db, redis.url);
    try {
      const { rows } = await db.pool.query("SELECT id, category FROM product WHERE id = 'prod-001'");
      const before = rows[0].category as string;
      await insert(db, 'cat-user', 'CLICK_PRODUCT', 'prod-001', 3);
      await waitFor(
        async () => (await get(pipeline.apiUrl, 'cat-user')).features.lastClickedCategory === before,
        {
          what: 'the click',
        },
      );
      expect((await get(pipeline.apiUrl, 'cat-user')).features.topCategories5m).toEqual([
        { category: before, count: 1 },
      ]);
      await db.pool.query("UPDATE product SET category = 'clearance' WHERE id = 'prod-001'");
      await waitFor(
        async () => (await get(pipeline.apiUrl, 'cat-user')).features.lastClickedCategory === 'clearance',
        { what: 'the new category' },
      );
      expect((await get(pipeline.apiUrl, 'cat-user')).features.topCategories5m).toEqual([
        { category: 'clearance', count: 1 },
      ]);
    } finally {
      await pipeline.stop();
    }
  });

  it('looks products up read-only when the catalogue is not published', async () => {
    const db = await createTestDatabase();
    await db.pool.query('ALTER PUBLICATION dbz_publication DROP TABLE product');
    const redis = await startTestRedis();
    const pipeline = await startTestPipeline(db, redis.url);
    try {
      const { rows } = await db.pool.query("SELECT category FROM product WHERE id = 'prod-007'");
      await insert(db, 'lookup-user', 'CLICK_PRODUCT', 'prod-007', 3);
      await insert(db, 'lookup-user', 'CLICK_PRODUCT', 'not-in-catalogue', 1);
      await waitFor(async () => (await get(pipeline.apiUrl, 'lookup-user')).meta.version > 0, {
        what: 'the clicks',
      });
      const body = await get(pipeline.apiUrl, 'lookup-user');
      expect(body.features.lastClickedCategory).toBe(rows[0].category);
      expect(body.features.recentProducts).toEqual(['not-in-catalogue', 'prod-007']);
    } finally {
      await pipeline.stop();
    }
  });

  it('lets a 30 s count fall to 0 with no new events (real time)', async () => {
    const db = await createTestDatabase();
    const redis = await startTestRedis();
    const pipeline = await startTestPipeline(db, redis.url);
    try {
      // 26 s old when written: it leaves the 30 s window about 4 s later, with nothing else happening.
      await insert(db, 'decay-user', 'VIEW_PRODUCT', 'prod-002', 26);
      const written = Date.now();
      await waitFor(async () => (await get(pipeline.apiUrl, 'decay-user')).features.viewCount30s === 1, {
        what: 'the view to count',
      });
      const counted = (await get(pipeline.apiUrl, 'decay-user')).features;
      expect(counted.viewCount5m).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 5_500 - (Date.now() - written))));
      const later = await get(pipeline.apiUrl, 'decay-user');
      expect(later.features.viewCount30s).toBe(0);
      expect(later.features.viewCount5m).toBe(1);
      expect(later.meta.version).toBe(1);
    } finally {
      await pipeline.stop();
    }
  });

  it('restarts an interrupted initial snapshot from scratch', async () => {
    const db = await createTestDatabase();
    await insert(db, 'snap-user', 'VIEW_PRODUCT', 'prod-010', 30);
    const redis = await startTestRedis();
    const first = await startTestPipeline(db, redis.url);
    await first.stop();
    // As if the process had died during its snapshot: the marker still says pending.
    const admin = createClient({ url: redis.url });
    await admin.connect();
    await admin.flushAll();
    await admin.set(`brisk:snapshot:${db.slot}`, 'pending');
    admin.destroy();
    await insert(db, 'snap-user', 'VIEW_PRODUCT', 'prod-011', 20);
    const second = await startTestPipeline(db, redis.url);
    try {
      const body = await get(second.apiUrl, 'snap-user');
      expect(body.features.lastViewedProduct).toBe('prod-011');
      expect(body.features.recentProducts).toEqual(['prod-011', 'prod-010']);
    } finally {
      await second.stop();
    }
  });
});

describe('rebuilding', () => {
  it('starts from a clean Redis when the slot was dropped to rebuild', async () => {
    const db = await createTestDatabase();
    const redis = await startTestRedis();
    const first = await startTestPipeline(db, redis.url);
    const gone = await insert(db, 'rebuild-user', 'VIEW_PRODUCT', 'prod-020', 10);
    await waitFor(
      async () => (await get(first.apiUrl, 'rebuild-user')).features.lastViewedProduct === 'prod-020',
      {
        what: 'the first view',
      },
    );
    await first.stop();
    // While nothing runs: the row is deleted, and the operator drops the slot to rebuild.
    await db.pool.query('DELETE FROM user_activity WHERE id = $1', [gone]);
    await db.pool.query('SELECT pg_drop_replication_slot($1)', [db.slot]);
    await insert(db, 'rebuild-user', 'CLICK_PRODUCT', 'prod-021', 5);
    const second = await startTestPipeline(db, redis.url);
    try {
      const body = await get(second.apiUrl, 'rebuild-user');
      expect(body.features.lastViewedProduct).toBeNull();
      expect(body.features.recentProducts).toEqual(['prod-021']);
      expect(body.features.activityCount1h).toBe(1);
    } finally {
      await second.stop();
    }
  });
});

describe('API: selection, batch, recommendations, OpenAPI', () => {
  it('serves them', async () => {
    const db = await createTestDatabase();
    const redis = await startTestRedis();
    const pipeline = await startTestPipeline(db, redis.url);
    const api = pipeline.apiUrl;
    try {
      await insert(db, 'api-1', 'VIEW_PRODUCT', 'prod-001', 5);
      await insert(db, 'api-1', 'VIEW_PRODUCT', 'prod-002', 4);
      await insert(db, 'api-1', 'CLICK_PRODUCT', 'prod-002', 3);
      await insert(db, 'api-2', 'VIEW_PRODUCT', 'prod-002', 2);
      await waitFor(async () => (await get(api, 'api-1')).features.clickCount30s === 1, { what: 'api-1' });
      await waitFor(async () => (await get(api, 'api-2')).features.viewCount30s === 1, { what: 'api-2' });

      const selected = await get(api, 'api-1', '?features=viewCount30s,lastViewedProduct');
      expect(selected.features).toEqual({ viewCount30s: 2, lastViewedProduct: 'prod-002' });
      const unknown = await fetch(`${api}/api/v1/features/user/api-1?features=viewCount30s,nope`);
      expect(unknown.status).toBe(400);
      expect(((await unknown.json()) as { error: { message: string } }).error.message).toContain('nope');

      const batch = await fetch(`${api}/api/v1/features/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userIds: ['api-2', 'nobody', 'api-1'], features: ['viewCount30s'] }),
      });
      expect(batch.status).toBe(200);
      const { users } = (await batch.json()) as { users: Body[] };
      expect(users.map((u) => [u.userId, u.features.viewCount30s])).toEqual([
        ['api-2', 1],
        ['nobody', 0],
        ['api-1', 2],
      ]);
      const tooMany = await fetch(`${api}/api/v1/features/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userIds: Array.from({ length: 501 }, (_, i) => `u${i}`) }),
      });
      expect(tooMany.status).toBe(400);
      expect(((await tooMany.json()) as { error: { code: string } }).error.code).toBe('BRISK_BAD_REQUEST');
      const badId = await fetch(`${api}/api/v1/features/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userIds: ['ok', 'bad\u0001id'] }),
      });
      expect(((await badId.json()) as { error: { code: string; message: string } }).error).toMatchObject({
        code: 'BRISK_INVALID_USER_ID',
        message: expect.stringContaining('userIds[1]'),
      });

      const { rows } = await db.pool.query("SELECT category FROM product WHERE id = 'prod-002'");
      const recs = (await (await fetch(`${api}/api/v1/recommendations/user/api-1?limit=5`)).json()) as {
        userId: string;
        items: { productId: string; score: number; reason: string }[];
      };
      expect(recs.userId).toBe('api-1');
      expect(recs.items).toHaveLength(5);
      expect(recs.items.map((i) => i.productId)).not.toContain('prod-001');
      expect(recs.items.map((i) => i.productId)).not.toContain('prod-002');
      const categories = await db.pool.query('SELECT id, category FROM product WHERE id = ANY($1)', [
        recs.items.map((i) => i.productId),
      ]);
      expect(categories.rows.filter((r) => r.category === rows[0].category).length).toBeGreaterThan(0);
      const scores = recs.items.map((i) => i.score);
      expect([...scores].sort((a, b) => b - a)).toEqual(scores);

      const cold = (await (await fetch(`${api}/api/v1/recommendations/user/newcomer?limit=3`)).json()) as {
        items: { productId: string; reason: string }[];
      };
      expect(cold.items[0]).toEqual({ productId: 'prod-002', score: 1, reason: 'popular right now' });

      const docs = (await (await fetch(`${api}/docs/json`)).json()) as {
        openapi: string;
        paths: Record<string, unknown>;
      };
      expect(docs.openapi).toMatch(/^3\./);
      expect(Object.keys(docs.paths)).toEqual(
        expect.arrayContaining([
          '/api/v1/features/user/{userId}',
          '/api/v1/features/users',
          '/api/v1/recommendations/user/{userId}',
        ]),
      );
    } finally {
      await pipeline.stop();
    }
  });
});
