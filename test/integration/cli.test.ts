import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../cli/src/harness/postgres.ts';
import type { RuntimeInfo } from '../../cli/src/harness/runtime.ts';
import {
  runBrisk as brisk,
  createTestDatabase,
  onCleanup,
  readJson,
  runCleanups,
  spawnBrisk,
  startTestRedis,
  tempDir,
  uniqueName,
  waitFor,
} from '../support/harness.ts';

/**
 * `brisk start` as a user runs it: embedded servers, runtime.json, one process per data directory, a clean
 * Ctrl-C, a restart that picks up what was written while it was down, and configuration problems that end
 * with a message saying what to do.
 */
afterAll(runCleanups);

async function portOpen(url: string): Promise<boolean> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    import('node:net').then(({ connect }) => {
      const socket = connect(Number(port), '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  });
}

describe('brisk start, embedded', () => {
  it('starts everything, stops cleanly, and resumes with what was written while stopped', async () => {
    const dataDir = await tempDir('brisk-embedded-');
    const first = await spawnBrisk({ BRISK_DATA_DIR: dataDir, BRISK_LOG_LEVEL: 'info' });
    const runtime = await first.runtime();
    expect(Object.keys(runtime).sort()).toEqual(['apiUrl', 'databaseUrl', 'redisUrl', 'webUrl']);
    expect(await readJson<RuntimeInfo>(path.join(dataDir, 'runtime.json'))).toEqual(runtime);
    expect((await stat(path.join(dataDir, 'runtime.json'))).mode & 0o777).toBe(0o600);

    // The printed URL is usable as is: the demo schema, catalogue and publication are there.
    const pool = new pg.Pool({ connectionString: runtime.databaseUrl, max: 1 });
    const products = await pool.query(
      'SELECT count(*)::int AS n, count(DISTINCT category)::int AS c FROM product',
    );
    expect(products.rows[0].n).toBeGreaterThanOrEqual(200);
    expect(products.rows[0].c).toBeGreaterThanOrEqual(8);
    const publication = await pool.query(
      "SELECT tablename FROM pg_publication_tables WHERE pubname = 'dbz_publication'",
    );
    expect(publication.rows.map((r) => r.tablename)).toContain('user_activity');

    const insert = (user: string, product: string) =>
      pool.query(
        'INSERT INTO user_activity (id, user_id, activity_type, product_id, activity_timestamp) VALUES ($1,$2,$3,$4,now())',
        [randomUUID(), user, 'VIEW_PRODUCT', product],
      );
    const lastViewed = async (apiUrl: string, user: string) =>
      (
        (await (await fetch(`${apiUrl}/api/v1/features/user/${user}`)).json()) as {
          features: { lastViewedProduct: string };
        }
      ).features.lastViewedProduct;
    await insert('cli-user', 'prod-001');
    await waitFor(async () => (await lastViewed(runtime.apiUrl, 'cli-user')) === 'prod-001', {
      what: 'the first view',
    });
    // The storefront is up too, with the same user's features rendered on the server.
    const login = await fetch(`${runtime.webUrl}/login?user=cli-user`, { redirect: 'manual' });
    expect(login.status).toBe(302);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const page = await fetch(`${runtime.webUrl}/`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('prod-001');

    // A second Brisk on the same data directory is refused.
    const second = await brisk(['start'], { BRISK_DATA_DIR: dataDir });
    expect(second.code).toBe(1);
    expect(second.output).toMatch(/BRISK_ALREADY_RUNNING|already running/);

    // Ctrl-C: the pipeline stops, then Redis and PostgreSQL; nothing keeps listening. (Our own connections
    // go first: the embedded server is about to shut down under them.)
    await pool.end();
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    expect(await portOpen(runtime.apiUrl)).toBe(false);
    expect(await portOpen(runtime.webUrl!)).toBe(false);
    expect(await portOpen(runtime.redisUrl)).toBe(false);
    expect(await portOpen(runtime.databaseUrl)).toBe(false);

    // Written while Brisk is down (through the embedded server, started again by the next run)...
    const restarted = await spawnBrisk({ BRISK_DATA_DIR: dataDir });
    const again = await restarted.runtime();
    expect(again.databaseUrl).toBe(runtime.databaseUrl);
    const pool2 = new pg.Pool({ connectionString: again.databaseUrl, max: 1 });
    await pool2.query(
      'INSERT INTO user_activity (id, user_id, activity_type, product_id, activity_timestamp) VALUES ($1,$2,$3,$4,now())',
      [randomUUID(), 'cli-user', 'VIEW_PRODUCT', 'prod-002'],
    );
    await waitFor(async () => (await lastViewed(again.apiUrl, 'cli-user')) === 'prod-002', {
      what: 'the second view',
    });
    await pool2.end();
    restarted.child.kill('SIGTERM');
    expect(await restarted.exited).toBe(0);
  });

  it('recovers the data directory after the previous Brisk was killed with SIGKILL', async () => {
    const dataDir = await tempDir('brisk-orphan-');
    const first = await spawnBrisk({ BRISK_DATA_DIR: dataDir });
    const runtime = await first.runtime();
    first.child.kill('SIGKILL');
    await first.exited;
    // Its PostgreSQL and Redis are orphans now; the next start adopts the directory and stops them first.
    const next = await spawnBrisk({ BRISK_DATA_DIR: dataDir });
    const again = await next.runtime();
    expect(again.databaseUrl).toBe(runtime.databaseUrl);
    expect((await fetch(`${again.apiUrl}/readyz`)).status).toBe(200);
    next.child.kill('SIGINT');
    expect(await next.exited).toBe(0);
  });
});

describe('brisk start, bearer token', () => {
  it('requires the token everywhere but /healthz and /readyz', async () => {
    const db = await createTestDatabase();
    const redis = await startTestRedis();
    const token = 'a-test-token-of-32-characters-xx';
    const started = await spawnBrisk({
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      BRISK_SLOT: db.slot,
      BRISK_API_TOKEN: token,
    });
    const { apiUrl } = await started.runtime();
    expect((await fetch(`${apiUrl}/healthz`)).status).toBe(200);
    await waitFor(async () => (await fetch(`${apiUrl}/readyz`)).status === 200, { what: 'ready' });
    const denied = await fetch(`${apiUrl}/api/v1/features/user/u1`);
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toMatch(/Bearer/);
    expect(((await denied.json()) as { error: { code: string } }).error.code).toBe('BRISK_UNAUTHORIZED');
    expect((await fetch(`${apiUrl}/metrics`)).status).toBe(401);
    const wrong = await fetch(`${apiUrl}/api/v1/features/user/u1`, {
      headers: { authorization: `Bearer ${token}x` },
    });
    expect(wrong.status).toBe(401);
    const allowed = await fetch(`${apiUrl}/api/v1/features/user/u1`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(allowed.status).toBe(200);
    started.child.kill('SIGTERM');
    expect(await started.exited).toBe(0);
  });
});

describe('brisk start, configuration problems', () => {
  it('names an invalid variable and exits 2', async () => {
    const { code, output } = await brisk(['start'], { API_PORT: 'eighty' });
    expect(code).toBe(2);
    expect(output).toContain('BRISK_CONFIG_INVALID');
    expect(output).toContain("API_PORT must be an integer from 0 to 65535 (got 'eighty')");
  });

  it('refuses KAFKA_BROKERS instead of silently running without Kafka', async () => {
    const { code, output } = await brisk(['start'], {
      KAFKA_BROKERS: 'localhost:9092',
      BRISK_DATA_DIR: await tempDir(),
    });
    expect(code).toBe(1);
    expect(output).toContain('BRISK_CONFIG_INVALID');
    expect(output).toContain('Unset KAFKA_BROKERS');
  });

  it.each([
    ['connector', { REDIS_URL: 'redis://127.0.0.1:1' }, 'brisk connector needs DATABASE_URL, KAFKA_BROKERS'],
    ['engine', { DATABASE_URL: 'postgres://127.0.0.1:1/x' }, 'brisk engine needs REDIS_URL, KAFKA_BROKERS'],
    ['engine', { REDIS_URL: 'redis://127.0.0.1:1' }, 'brisk engine needs KAFKA_BROKERS'],
    ['serve', { KAFKA_BROKERS: 'k1:9092' }, 'brisk serve needs REDIS_URL'],
    ['web', { REDIS_URL: 'redis://127.0.0.1:1' }, 'brisk web needs DATABASE_URL'],
  ])('brisk %s names every variable it is missing', async (command, env, message) => {
    const { code, output } = await brisk([command], {
      DATABASE_URL: '',
      REDIS_URL: '',
      KAFKA_BROKERS: '',
      ...env,
    });
    expect(code).toBe(1);
    expect(output).toContain('BRISK_CONFIG_INVALID');
    expect(output).toContain(message);
  });

  it('refuses a non-loopback API_HOST without a token', async () => {
    const { code, output } = await brisk(['start'], { API_HOST: '0.0.0.0' });
    expect(code).toBe(2);
    expect(output).toContain('BRISK_CONFIG_INSECURE_BIND');
  });

  it('says which SQL creates a missing publication', async () => {
    const db = await createTestDatabase();
    await db.pool.query('DROP PUBLICATION dbz_publication');
    const redis = await startTestRedis();
    const { code, output } = await brisk(['start'], {
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      BRISK_SLOT: db.slot,
      BRISK_DATA_DIR: await tempDir(),
    });
    expect(code).toBe(1);
    expect(output).toContain('BRISK_PG_PUBLICATION_MISSING');
    expect(output).toContain('CREATE PUBLICATION dbz_publication FOR TABLE public.user_activity;');
  });

  it('says how to enable logical decoding when wal_level is replica', async () => {
    const dir = await tempDir('brisk-replica-');
    const server = await startEmbeddedPostgres({
      dataDir: path.join(dir, 'pg'),
      settings: { wal_level: 'replica' },
    });
    onCleanup(() => server.stop());
    const redis = await startTestRedis();
    const { code, output } = await brisk(['start'], {
      DATABASE_URL: server.url,
      REDIS_URL: redis.url,
      BRISK_DATA_DIR: await tempDir(),
    });
    expect(code).toBe(1);
    expect(output).toContain('BRISK_PG_WAL_LEVEL');
    expect(output).toContain('ALTER SYSTEM SET wal_level = logical;');
  });

  it('refuses a Redis without AOF and says how to fix it', async () => {
    const db = await createTestDatabase();
    const redis = await startTestRedis();
    const admin = createClient({ url: redis.url });
    await admin.connect();
    await admin.configSet('appendonly', 'no');
    admin.destroy();
    const { code, output } = await brisk(['start'], {
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      BRISK_SLOT: db.slot,
      BRISK_DATA_DIR: await tempDir(),
    });
    expect(code).toBe(1);
    expect(output).toContain('BRISK_REDIS_NOT_DURABLE');
    expect(output).toContain('CONFIG SET appendonly yes');
  });

  it('says when REDIS_URL cannot be reached', async () => {
    const db = await createTestDatabase();
    const started = Date.now();
    const { code, output } = await brisk(['start'], {
      DATABASE_URL: db.url,
      REDIS_URL: 'redis://127.0.0.1:1',
      BRISK_SLOT: db.slot,
      BRISK_DATA_DIR: await tempDir(),
    });
    expect(code).toBe(1);
    expect(output).toContain('BRISK_REDIS_UNREACHABLE');
    expect(output).toContain('redis://127.0.0.1:1');
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('gives an install hint when redis-server is missing', async () => {
    const db = await createTestDatabase();
    const { code, output } = await brisk(['start'], {
      DATABASE_URL: db.url,
      BRISK_SLOT: db.slot,
      BRISK_DATA_DIR: await tempDir(),
      PATH: '/nonexistent',
    });
    expect(code).toBe(1);
    expect(output).toContain('BRISK_REDIS_SERVER_MISSING');
    expect(output).toContain('apt-get install redis-server');
  });

  it('refuses when Redis has lost what the slot was confirmed past', async () => {
    const db = await createTestDatabase();
    const redis = await startTestRedis();
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      BRISK_SLOT: db.slot,
      BRISK_DATA_DIR: await tempDir(),
    };
    const first = await spawnBrisk(env);
    await first.runtime();
    await db.pool.query(
      'INSERT INTO user_activity (id, user_id, activity_type, product_id, activity_timestamp) VALUES ($1,$2,$3,$4,now())',
      [randomUUID(), uniqueName('u'), 'VIEW_PRODUCT', 'prod-1'],
    );
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const admin = createClient({ url: redis.url });
    await admin.connect();
    await admin.flushAll();
    admin.destroy();
    const { code, output } = await brisk(['start'], env);
    expect(code).toBe(1);
    expect(output).toContain('BRISK_STORE_LOST_DATA');
    expect(output).toContain(`pg_drop_replication_slot('${db.slot}')`);
  });
});
