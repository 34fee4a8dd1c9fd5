import { randomUUID } from 'node:crypto';
import { parseLsn } from '@brisk/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pipeline } from '../../cli/src/pipeline.ts';
import {
  createTestDatabase,
  runCleanups,
  startTestPipeline,
  startTestRedis,
  type TestDatabase,
  waitFor,
} from '../support/harness.ts';

/**
 * Rows written with plain SQL (not through Brisk) must show up in the feature API, with the seed's
 * lastViewedProduct semantics for INSERT, UPDATE, DELETE and TRUNCATE, and bad input must be named, not crash.
 */
let db: TestDatabase;
let pipeline: Pipeline;

interface FeatureBody {
  userId: string;
  features: { lastViewedProduct: string | null } & Record<string, unknown>;
  meta: { version: number; updatedAt: string | null; commitTs: string | null; lsn: string | null };
}

async function features(userId: string): Promise<FeatureBody> {
  const response = await fetch(`${pipeline.apiUrl}/api/v1/features/user/${encodeURIComponent(userId)}`);
  expect(response.status).toBe(200);
  return (await response.json()) as FeatureBody;
}

function lastViewed(userId: string, expected: string | null, what = `${userId} -> ${expected}`) {
  return waitFor(async () => (await features(userId)).features.lastViewedProduct === expected, { what });
}

async function insert(userId: string, type: string, productId: string | null, at: string, id = randomUUID()) {
  await db.pool.query(
    'INSERT INTO user_activity (id, user_id, activity_type, product_id, activity_timestamp) VALUES ($1, $2, $3, $4, $5)',
    [id, userId, type, productId, at],
  );
  return id;
}

beforeAll(async () => {
  db = await createTestDatabase();
  const redis = await startTestRedis();
  pipeline = await startTestPipeline(db, redis.url);
});

afterAll(async () => {
  await pipeline?.stop();
  await runCleanups();
});

describe('plain SQL -> feature API', () => {
  it('serves an unknown user as defaults with version 0', async () => {
    const body = await features('nobody-yet');
    expect(body).toEqual({
      userId: 'nobody-yet',
      features: {
        lastViewedProduct: null,
        lastClickedCategory: null,
        viewCount30s: 0,
        clickCount30s: 0,
        viewCount5m: 0,
        clickCount5m: 0,
        activityCount1h: 0,
        recentProducts: [],
        topCategories5m: [],
        embedding: new Array(32).fill(0),
      },
      meta: { version: 0, updatedAt: null, commitTs: null, lsn: null },
    });
  });

  it('shows an inserted view, with the commit time and LSN of the change', async () => {
    const before = Date.now();
    await insert('u-insert', 'VIEW_PRODUCT', 'prod-456', new Date().toISOString());
    await lastViewed('u-insert', 'prod-456');
    const body = await features('u-insert');
    expect(body.meta.version).toBeGreaterThanOrEqual(1);
    expect(body.meta.lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    const commitMs = Date.parse(body.meta.commitTs!);
    expect(commitMs).toBeGreaterThanOrEqual(before - 1000);
    expect(commitMs).toBeLessThanOrEqual(Date.now());
  });

  it('takes the newest view by activity time, not by arrival', async () => {
    const user = 'u-order';
    await insert(user, 'VIEW_PRODUCT', 'p-new', '2026-11-24T10:00:02Z');
    await insert(user, 'VIEW_PRODUCT', 'p-old', '2026-11-24T10:00:01Z');
    // The last change's LSN is at least the insert position read just before it: wait until it is folded in.
    const before = parseLsn(
      (await db.pool.query('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0].lsn,
    );
    await insert(user, 'CLICK_PRODUCT', 'p-click', '2026-11-24T10:00:03Z');
    await waitFor(async () => parseLsn((await features(user)).meta.lsn ?? '0/0') >= before, {
      what: 'all applied',
    });
    expect((await features(user)).features.lastViewedProduct).toBe('p-new');
  });

  it('follows an UPDATE of the newest view and falls back on DELETE', async () => {
    const user = 'u-update';
    const first = await insert(user, 'VIEW_PRODUCT', 'p-1', '2026-11-24T11:00:00Z');
    const second = await insert(user, 'VIEW_PRODUCT', 'p-2', '2026-11-24T11:00:01Z');
    await lastViewed(user, 'p-2');
    await db.pool.query('UPDATE user_activity SET product_id = $1 WHERE id = $2', ['p-2b', second]);
    await lastViewed(user, 'p-2b');
    // DELETE under REPLICA IDENTITY DEFAULT carries only the id: the row index finds the user.
    await db.pool.query('DELETE FROM user_activity WHERE id = $1', [second]);
    await lastViewed(user, 'p-1');
    await db.pool.query('DELETE FROM user_activity WHERE id = $1', [first]);
    await lastViewed(user, null);
  });

  it('moves a row between users when an UPDATE changes user_id', async () => {
    const id = await insert('u-from', 'VIEW_PRODUCT', 'p-moved', '2026-11-24T12:00:00Z');
    await lastViewed('u-from', 'p-moved');
    await db.pool.query('UPDATE user_activity SET user_id = $1 WHERE id = $2', ['u-to', id]);
    await lastViewed('u-to', 'p-moved');
    await lastViewed('u-from', null);
  });

  it('clears every user on TRUNCATE and keeps applying afterwards', async () => {
    await insert('u-trunc', 'VIEW_PRODUCT', 'p-gone', '2026-11-24T12:00:00Z');
    await lastViewed('u-trunc', 'p-gone');
    await db.pool.query('TRUNCATE user_activity');
    await lastViewed('u-trunc', null);
    await lastViewed('u-insert', null);
    await insert('u-trunc', 'VIEW_PRODUCT', 'p-after', '2026-11-24T12:00:01Z');
    await lastViewed('u-trunc', 'p-after');
  });

  it('applies a multi-row transaction as one change of the user', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      for (let i = 0; i < 50; i++) {
        await client.query(
          'INSERT INTO user_activity (id, user_id, activity_type, product_id, activity_timestamp) VALUES ($1, $2, $3, $4, $5)',
          [
            randomUUID(),
            'u-tx',
            'VIEW_PRODUCT',
            `p-${i}`,
            new Date(Date.UTC(2026, 10, 24, 13, 0, i)).toISOString(),
          ],
        );
      }
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    await lastViewed('u-tx', 'p-49');
    expect((await features('u-tx')).meta.version).toBe(1);
  });
});

describe('read your writes', () => {
  it('answers a request waiting for the next version as soon as the change is applied', async () => {
    const user = 'u-wait';
    const { meta } = await features(user);
    const waiting = fetch(
      `${pipeline.apiUrl}/api/v1/features/user/${user}?minVersion=${meta.version + 1}&waitMs=10000`,
    ).then(async (r) => ({ at: Date.now(), body: (await r.json()) as FeatureBody }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const inserted = Date.now();
    await insert(user, 'VIEW_PRODUCT', 'p-awaited', new Date().toISOString());
    const { at, body } = await waiting;
    expect(body.features.lastViewedProduct).toBe('p-awaited');
    expect(body.meta.version).toBe(meta.version + 1);
    expect(at - inserted).toBeLessThan(2_000);
  });

  it('returns the current state when the version is not reached in time', async () => {
    const started = Date.now();
    const response = await fetch(`${pipeline.apiUrl}/api/v1/features/user/u-never?minVersion=5&waitMs=150`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as FeatureBody).meta.version).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it.each([
    ['minVersion=-1', 'minVersion'],
    ['minVersion=abc', 'minVersion'],
    ['minVersion=1&waitMs=60000', 'waitMs'],
  ])('rejects %s with 400', async (query, name) => {
    const response = await fetch(`${pipeline.apiUrl}/api/v1/features/user/u1?${query}`);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('BRISK_BAD_REQUEST');
    expect(body.error.message).toContain(name);
  });
});

describe('bad input', () => {
  const get = (path: string) => fetch(`${pipeline.apiUrl}${path}`);

  it.each([
    ['empty', '/api/v1/features/user/'],
    ['256 characters', `/api/v1/features/user/${'x'.repeat(256)}`],
    ['a NUL byte', '/api/v1/features/user/a%00b'],
    ['a control character', '/api/v1/features/user/a%1Fb'],
    ['DEL', '/api/v1/features/user/a%7Fb'],
  ])('rejects a user id that is %s with 400 BRISK_INVALID_USER_ID', async (_what, path) => {
    const response = await get(path);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('BRISK_INVALID_USER_ID');
    expect(body.error.message).toMatch(/user id/);
  });

  it('accepts a 255-character id and non-ASCII ids', async () => {
    expect((await get(`/api/v1/features/user/${'x'.repeat(255)}`)).status).toBe(200);
    expect((await get(`/api/v1/features/user/${encodeURIComponent('用户-123 😀')}`)).status).toBe(200);
  });

  it('answers malformed percent-encoding with 400 BRISK_BAD_REQUEST', async () => {
    const response = await get('/api/v1/features/user/%E0%A4%A');
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('BRISK_BAD_REQUEST');
  });

  it('answers unknown routes with 404 BRISK_NOT_FOUND', async () => {
    const response = await get('/api/v2/nothing');
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('BRISK_NOT_FOUND');
  });

  it('records a VIEW_PRODUCT with NULL product_id as a dead letter and keeps going', async () => {
    const id = await insert('u-bad', 'VIEW_PRODUCT', null, '2026-11-24T14:00:00Z');
    await insert('u-bad', 'VIEW_PRODUCT', 'p-good', '2026-11-24T13:59:00Z');
    await lastViewed('u-bad', 'p-good');
    const response = await get('/api/v1/deadletters?limit=10');
    const { deadLetters } = (await response.json()) as {
      deadLetters: { code: string; disposition: string; message: string; event: string }[];
    };
    const letter = deadLetters.find((d) => d.message.includes(id));
    expect(letter?.code).toBe('BRISK_EVENT_MISSING_PRODUCT');
    expect(letter?.disposition).toBe('kept');
    expect(JSON.parse(letter!.event).after.id).toBe(id);
  });

  it('records a row with an unusable user id as a rejected dead letter', async () => {
    const id = await insert('bad\u0001user', 'VIEW_PRODUCT', 'p-x', '2026-11-24T14:00:00Z');
    const letter = await waitFor(async () => {
      const { deadLetters } = (await (await get('/api/v1/deadletters')).json()) as {
        deadLetters: { code: string; disposition: string; message: string }[];
      };
      return deadLetters.find((d) => d.message.includes(id));
    });
    expect(letter.code).toBe('BRISK_EVENT_INVALID_USER_ID');
    expect(letter.disposition).toBe('rejected');
  });
});

describe('operations endpoints', () => {
  it('is healthy and ready while streaming', async () => {
    expect((await fetch(`${pipeline.apiUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${pipeline.apiUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      checks: { connector: 'streaming', redis: 'connected' },
    });
  });

  it('exports the pipeline metrics in Prometheus text format', async () => {
    const response = await fetch(`${pipeline.apiUrl}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/^brisk_cdc_events_total\{table="public.user_activity",op="c"\} [1-9]\d*$/m);
    expect(text).toMatch(/^brisk_commit_to_store_seconds_count [1-9]\d*$/m);
    expect(text).toMatch(/^brisk_engine_apply_seconds_count [1-9]\d*$/m);
    expect(text).toMatch(/^brisk_slot_lag_bytes \d+$/m);
    expect(text).toMatch(/^brisk_l1_hits_total [1-9]\d*$/m);
    expect(text).toMatch(/^brisk_dead_letters_total\{code="BRISK_EVENT_MISSING_PRODUCT"\} [1-9]\d*$/m);
  });
});
