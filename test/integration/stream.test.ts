import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pipeline } from '../../cli/src/pipeline.ts';
import { type Serving, startServing } from '../../cli/src/serve.ts';
import {
  createTestDatabase,
  quiet,
  runCleanups,
  startTestPipeline,
  startTestRedis,
  type TestDatabase,
  testConfig,
  waitFor,
} from '../support/harness.ts';
import { openSse, type SseClient } from '../support/sse.ts';

/**
 * Feature streams (SSE) and serving instances. The embedded pipeline writes; a separate serving instance
 * (`brisk serve`, its own store and L1) follows Redis' change feed. Both must push every change to that user's
 * streams only, resume from Last-Event-ID without skipping, drop slow clients, and keep L1 coherent.
 */
let db: TestDatabase;
let redisUrl: string;
let pipeline: Pipeline;
let serving: Serving;
const STREAM_ENV = {
  BRISK_STREAM_HEARTBEAT_MS: '200',
  BRISK_STREAM_SLOW_CLIENT_MS: '500',
  BRISK_MAX_STREAMS: '6',
};

interface Vector {
  userId: string;
  features: { lastViewedProduct: string | null; activityCount1h: number };
  meta: { version: number; commitTs: string | null };
}

async function view(userId: string, productId: string): Promise<void> {
  await db.pool.query(
    "INSERT INTO user_activity (id, user_id, activity_type, product_id, activity_timestamp) VALUES ($1, $2, 'VIEW_PRODUCT', $3, now())",
    [randomUUID(), userId, productId],
  );
}

function vector(event: { data: string }): Vector {
  return JSON.parse(event.data) as Vector;
}

async function metricValue(baseUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

beforeAll(async () => {
  db = await createTestDatabase();
  const redis = await startTestRedis();
  redisUrl = redis.url;
  pipeline = await startTestPipeline(db, redisUrl, STREAM_ENV);
  serving = await startServing({ config: testConfig(db, redisUrl, STREAM_ENV), redisUrl, logger: quiet });
});

afterAll(async () => {
  await serving?.stop();
  await pipeline?.stop();
  await runCleanups();
});

describe.each([
  ['the embedded pipeline', () => pipeline.apiUrl],
  ['a serving instance', () => serving.apiUrl],
])('feature stream on %s', (_, base) => {
  const streams: SseClient[] = [];
  afterAll(() => {
    for (const stream of streams) stream.close();
  });
  const open = async (userId: string, headers: Record<string, string> = {}) => {
    const stream = await openSse(
      `${base()}/api/v1/features/user/${encodeURIComponent(userId)}/stream`,
      headers,
    );
    streams.push(stream);
    return stream;
  };

  it('sends the current vector first, then one event per change, ids = versions', async () => {
    const user = `u-${randomUUID()}`;
    await view(user, 'p-1');
    await waitFor(async () => {
      const body = (await (await fetch(`${base()}/api/v1/features/user/${user}`)).json()) as Vector;
      return body.meta.version > 0;
    });
    const stream = await open(user);
    expect(stream.status).toBe(200);
    const first = await stream.next();
    expect(first.event).toBe('features');
    expect(vector(first).features.lastViewedProduct).toBe('p-1');
    expect(first.id).toBe(String(vector(first).meta.version));

    for (const product of ['p-2', 'p-3', 'p-4']) {
      await view(user, product);
      const event = await stream.next();
      expect(vector(event).features.lastViewedProduct).toBe(product);
      expect(Number(event.id)).toBeGreaterThan(Number(first.id));
    }
    const ids = stream.events.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("pushes only to the changed user's streams", async () => {
    const [a, b] = [`a-${randomUUID()}`, `b-${randomUUID()}`];
    const streamA = await open(a);
    const streamB = await open(b);
    expect(vector(await streamA.next()).meta.version).toBe(0);
    expect(vector(await streamB.next()).meta.version).toBe(0);
    await view(a, 'p-9');
    expect(vector(await streamA.next()).features.lastViewedProduct).toBe('p-9');
    expect(await streamB.nothingFor(300)).toBeNull();
  });

  it('resumes from Last-Event-ID: nothing already seen, and the newest version when behind', async () => {
    const user = `r-${randomUUID()}`;
    await view(user, 'p-1');
    await waitFor(async () => {
      const body = (await (await fetch(`${base()}/api/v1/features/user/${user}`)).json()) as Vector;
      return body.meta.version > 0;
    });
    const first = await open(user);
    const seen = await first.next();
    first.close();

    const upToDate = await open(user, { 'last-event-id': seen.id! });
    expect(await upToDate.nothingFor(300)).toBeNull();
    // Changes made while a client was away are not skipped: it gets the newest vector right away.
    await view(user, 'p-2');
    await view(user, 'p-3');
    const caughtUp = await upToDate.next();
    expect(Number(caughtUp.id)).toBeGreaterThan(Number(seen.id));
    const latest = await waitFor(async () => {
      const body = (await (await fetch(`${base()}/api/v1/features/user/${user}`)).json()) as Vector;
      return body.features.lastViewedProduct === 'p-3' ? body : undefined;
    });
    const behind = await open(user, { 'last-event-id': seen.id! });
    const resumed = await behind.next();
    expect(resumed.id).toBe(String(latest.meta.version));
    expect(vector(resumed).features.lastViewedProduct).toBe('p-3');
  });

  it('sends comment heartbeats and names bad requests', async () => {
    const stream = await open(`h-${randomUUID()}`);
    await stream.next();
    await waitFor(() => stream.comments >= 2 || undefined, { timeoutMs: 3_000, what: 'two heartbeats' });

    const bad = await fetch(`${base()}/api/v1/features/user/${encodeURIComponent('a\u0001b')}/stream`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('BRISK_INVALID_USER_ID');
    const badId = await fetch(`${base()}/api/v1/features/user/x/stream`, {
      headers: { 'last-event-id': 'abc' },
    });
    expect(badId.status).toBe(400);
  });
});

describe('stream limits', () => {
  it('refuses streams beyond BRISK_MAX_STREAMS with 503 BRISK_TOO_MANY_STREAMS', async () => {
    const url = (i: number) => `${serving.apiUrl}/api/v1/features/user/limit-${i}/stream`;
    const opened: SseClient[] = [];
    await waitFor(async () => (await metricValue(serving.apiUrl, 'brisk_api_streams ')) === 0, {
      what: 'earlier streams released',
    });
    try {
      for (let i = 0; i < 6; i++) opened.push(await openSse(url(i)));
      await waitFor(async () => (await metricValue(serving.apiUrl, 'brisk_api_streams ')) === 6);
      const refused = await fetch(url(99));
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe(
        'BRISK_TOO_MANY_STREAMS',
      );
    } finally {
      for (const stream of opened) stream.close();
    }
    await waitFor(async () => (await metricValue(serving.apiUrl, 'brisk_api_streams ')) === 0, {
      what: 'closed streams released',
    });
  });

  it('drops a client that stops reading instead of buffering for it', async () => {
    const user = `slow-${randomUUID()}`;
    const port = new URL(serving.apiUrl).port;
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `GET /api/v1/features/user/${user}/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`,
    );
    // Read nothing from now on: the kernel buffers fill, then the server's writes stop succeeding.
    socket.pause();
    const before = await metricValue(serving.apiUrl, 'brisk_api_streams_dropped_total{reason="slow_client"}');
    try {
      await waitFor(
        async () => {
          for (let i = 0; i < 50; i++) await view(user, `p-${'x'.repeat(200)}-${randomUUID()}`);
          return (
            (await metricValue(serving.apiUrl, 'brisk_api_streams_dropped_total{reason="slow_client"}')) >
            before
          );
        },
        { timeoutMs: 60_000, intervalMs: 0, what: 'the slow client to be dropped' },
      );
    } finally {
      socket.destroy();
    }
  });
});

describe('L1 coherence across instances', () => {
  it('a serving instance never serves an entry older than the change feed, and clears L1 when the feed drops', async () => {
    const user = `c-${randomUUID()}`;
    const read = async () =>
      ((await (await fetch(`${serving.apiUrl}/api/v1/features/user/${user}`)).json()) as Vector).features
        .lastViewedProduct;
    await view(user, 'p-1');
    await waitFor(async () => (await read()) === 'p-1', { what: 'first value on the serving instance' });
    // Now cached in the serving instance's L1; every later change must replace it there.
    for (let i = 2; i <= 20; i++) {
      await view(user, `p-${i}`);
      await waitFor(async () => (await read()) === `p-${i}`, { timeoutMs: 2_000, what: `p-${i} on serve` });
    }
    const delays = await metricValue(serving.apiUrl, 'brisk_change_feed_delay_seconds_count');
    expect(delays).toBeGreaterThanOrEqual(19);

    // Kill the feed's connection: the instance must not trust L1 for what it may have missed.
    const { createClient } = await import('redis');
    const admin = createClient({ url: redisUrl });
    await admin.connect();
    try {
      const entriesBefore = await metricValue(serving.apiUrl, 'brisk_l1_entries ');
      expect(entriesBefore).toBeGreaterThan(0);
      await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
      await waitFor(async () => (await metricValue(serving.apiUrl, 'brisk_l1_entries ')) === 0, {
        what: 'L1 cleared after the feed dropped',
      });
      await view(user, 'p-after');
      await waitFor(async () => (await read()) === 'p-after', {
        what: 'changes followed after resubscribing',
      });
    } finally {
      await admin.quit();
    }
  });
});
