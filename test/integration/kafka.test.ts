import { randomUUID } from 'node:crypto';
import { Kafka, type KafkaMessage, logLevel, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BriskCommand,
  createTestDatabase,
  onCleanup,
  runCleanups,
  spawnBriskCommand,
  startTestRedis,
  type TestDatabase,
  waitFor,
} from '../support/harness.ts';
import { type MockKafka, startMockKafka } from '../support/kafka.ts';

/**
 * Scale-out mode on a real Kafka protocol (librdkafka's mock cluster, 3 brokers): one `brisk connector`, two
 * `brisk engine` (one consumer group), two `brisk serve`, all real processes. Ground truth is SQL over the
 * source table: after kills and broker outages every user's count equals count(*), nothing lost or doubled.
 */
const PREFIX = 'cdc';
const ACTIVITY = `${PREFIX}.public.user_activity`;
const PRODUCTS = `${PREFIX}.public.product`;

let kafka: MockKafka;
let db: TestDatabase;
let env: Record<string, string>;
let client: Kafka;
let connector: BriskCommand;
const engines: BriskCommand[] = [];
const serveUrls: string[] = [];

interface Vector {
  userId: string;
  features: Record<string, unknown> & { lastViewedProduct: string | null; activityCount1h: number };
  meta: { version: number };
}

async function vectors(base: string, userIds: string[]): Promise<Vector[]> {
  const response = await fetch(`${base}/api/v1/features/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userIds }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { users: Vector[] }).users;
}

async function sqlCounts(users: string[]): Promise<Map<string, number>> {
  const { rows } = await db.pool.query<{ user_id: string; n: number }>(
    'SELECT user_id, count(*)::int AS n FROM user_activity WHERE user_id = ANY($1) GROUP BY user_id',
    [users],
  );
  return new Map(users.map((u) => [u, rows.find((r) => r.user_id === u)?.n ?? 0]));
}

/** Every user's activityCount1h on every serving instance equals SQL's count(*). */
async function matchesSql(users: string[], what: string, timeoutMs = 90_000): Promise<void> {
  let last = '';
  await waitFor(
    async () => {
      const expected = await sqlCounts(users);
      for (const base of serveUrls) {
        for (const vector of await vectors(base, users)) {
          const want = expected.get(vector.userId);
          if (vector.features.activityCount1h !== want) {
            last = `${vector.userId}: ${vector.features.activityCount1h} != SQL ${want} on ${base}`;
            return false;
          }
        }
      }
      return true;
    },
    { timeoutMs, intervalMs: 200, what: `${what} (${last})` },
  ).catch((error: Error) => {
    const logs = [connector, ...engines].map((p) => p.output().slice(-1500)).join('\n---\n');
    throw new Error(`${error.message}; last mismatch: ${last}\nprocess output:\n${logs}`);
  });
}

async function insertMany(users: string[], rows: number, perTransaction = 5): Promise<void> {
  const products = Array.from({ length: 20 }, (_, i) => `prod-${i + 1}`);
  for (let i = 0; i < rows; i += perTransaction) {
    const values: unknown[] = [];
    const tuples: string[] = [];
    for (let j = 0; j < perTransaction && i + j < rows; j++) {
      const n = i + j;
      const base = values.length;
      values.push(randomUUID(), users[n % users.length], n % 3 === 0 ? 'CLICK_PRODUCT' : 'VIEW_PRODUCT');
      values.push(products[n % products.length]);
      tuples.push(`($${base + 1}, $${base + 2}, $${base + 3}, $${base + 4}, now())`);
    }
    await db.pool.query(
      `INSERT INTO user_activity (id, user_id, activity_type, product_id, activity_timestamp) VALUES ${tuples.join(', ')}`,
      values,
    );
  }
}

/** Waits until a third of a burst is committed, and checks that it is still being written. */
async function midway(users: string[], total: number, what: string): Promise<void> {
  const written = async () => [...(await sqlCounts(users)).values()].reduce((a, b) => a + b, 0);
  await waitFor(async () => (await written()) >= total / 3, { intervalMs: 5, what: 'a third of the burst' });
  expect(await written(), what).toBeLessThan(total);
}

function startEngine(): BriskCommand {
  const engine = spawnBriskCommand('engine', env);
  engines.push(engine);
  return engine;
}

async function startServe(): Promise<string> {
  const serve = spawnBriskCommand('serve', env);
  const line = await waitFor(
    () => {
      if (serve.child.exitCode !== null) throw new Error(`brisk serve exited:\n${serve.output()}`);
      return serve
        .output()
        .split('\n')
        .find((l) => l.startsWith('{"apiUrl"'));
    },
    { timeoutMs: 30_000, what: 'brisk serve to print its URL' },
  );
  return (JSON.parse(line) as { apiUrl: string }).apiUrl;
}

async function readTopic(
  topic: string,
  until: (messages: KafkaMessage[]) => boolean,
): Promise<KafkaMessage[]> {
  const consumer = client.consumer({ groupId: `reader-${randomUUID()}` });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        messages.push(message);
      },
    });
    await waitFor(() => until(messages), { timeoutMs: 30_000, what: `messages on ${topic}` });
    return messages;
  } finally {
    await consumer.disconnect();
  }
}

beforeAll(async () => {
  kafka = await startMockKafka({ brokers: 3 });
  onCleanup(() => kafka.stop());
  await kafka.createTopic(ACTIVITY, 6);
  await kafka.createTopic(PRODUCTS, 2);
  await kafka.createTopic(`${ACTIVITY}.dlq`, 1);
  db = await createTestDatabase();
  const redis = await startTestRedis();
  env = {
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    KAFKA_BROKERS: kafka.bootstrap,
    BRISK_SLOT: db.slot,
    BRISK_SNAPSHOT: 'never',
    BRISK_HEARTBEAT_MS: '200',
    BRISK_KAFKA_IDEMPOTENT: 'false', // librdkafka's mock cluster has no controller, which kafkajs needs for it
    BRISK_ENGINE_GROUP: `engines-${randomUUID().slice(0, 8)}`,
  };
  client = new Kafka({
    clientId: 'test',
    brokers: kafka.brokers as string[],
    logLevel: logLevel.NOTHING,
  });
  connector = spawnBriskCommand('connector', env);
  startEngine();
  startEngine();
  serveUrls.push(await startServe(), await startServe());
}, 120_000);

afterAll(async () => {
  await runCleanups();
});

describe('scale-out on Kafka', () => {
  const users = Array.from({ length: 12 }, (_, i) => `k-user-${i}`);

  it('rows inserted by SQL appear on both serving instances', async () => {
    await insertMany(users, 120);
    await matchesSql(users, 'first rows on both instances');
    const [a, b] = await Promise.all(serveUrls.map((base) => vectors(base, users)));
    expect(a!.map((v) => v.features.lastViewedProduct)).toEqual(b!.map((v) => v.features.lastViewedProduct));
  });

  it("writes Debezium's PostgreSQL envelope, a tombstone after each delete, and heartbeats", async () => {
    const id = randomUUID();
    await db.pool.query(
      "INSERT INTO user_activity (id, user_id, activity_type, product_id, activity_timestamp) VALUES ($1, 'env-user', 'VIEW_PRODUCT', 'prod-7', '2026-11-24T10:00:00.123456Z')",
      [id],
    );
    await db.pool.query('DELETE FROM user_activity WHERE id = $1', [id]);
    const { rows } = await db.pool.query<{ datname: string }>('SELECT current_database() AS datname');
    const ours = (m: KafkaMessage) => m.key?.toString() === JSON.stringify({ id });
    const messages = (await readTopic(ACTIVITY, (all) => all.filter(ours).length >= 3)).filter(ours);
    expect(messages).toHaveLength(3);
    const [created, deleted, tombstone] = messages as [KafkaMessage, KafkaMessage, KafkaMessage];
    const value = JSON.parse(created.value!.toString()) as Record<string, unknown> & {
      source: Record<string, unknown>;
    };
    expect(Object.keys(value).sort()).toEqual(
      ['after', 'before', 'op', 'source', 'transaction', 'ts_ms', 'ts_ns', 'ts_us'].sort(),
    );
    expect(value.op).toBe('c');
    expect(value.before).toBeNull();
    expect(value.after).toEqual({
      id,
      user_id: 'env-user',
      activity_type: 'VIEW_PRODUCT',
      product_id: 'prod-7',
      activity_timestamp: '2026-11-24T10:00:00.123456Z',
    });
    const source = value.source;
    expect(source.connector).toBe('postgresql');
    expect(source.name).toBe(PREFIX);
    expect(source.db).toBe(rows[0]!.datname);
    expect(source.schema).toBe('public');
    expect(source.table).toBe('user_activity');
    expect(source.snapshot).toBe('false');
    expect(typeof source.version).toBe('string');
    expect(Number.isInteger(source.ts_ms)).toBe(true);
    expect(source.ts_us).toBe((source.ts_ms as number) * 1000 + ((source.ts_us as number) % 1000));
    // ts_ns is exact (ts_us followed by three zeros), which JSON.parse can only approximate: check the text.
    expect(created.value!.toString()).toContain(`"ts_ns":${source.ts_us}000,"schema"`);
    expect(Number.isInteger(source.txId)).toBe(true);
    expect(Number.isInteger(source.lsn)).toBe(true);
    expect(source.xmin).toBeNull();
    const sequence = JSON.parse(source.sequence as string) as unknown[];
    expect(sequence).toHaveLength(2);
    expect(sequence[1]).toBe(String(source.lsn));
    expect(typeof value.ts_ms).toBe('number');

    const gone = JSON.parse(deleted.value!.toString()) as { op: string; before: { id: string }; after: null };
    expect(gone.op).toBe('d');
    expect(gone.before.id).toBe(id);
    expect(gone.after).toBeNull();
    expect(tombstone.value).toBeNull();

    const beats = await readTopic(`__debezium-heartbeat.${PREFIX}`, (all) => all.length > 0);
    expect(JSON.parse(beats[0]!.key!.toString())).toEqual({ serverName: PREFIX });
    expect(typeof (JSON.parse(beats[0]!.value!.toString()) as { ts_ms: number }).ts_ms).toBe('number');
  });

  it("events shaped like a real Debezium 2.x connector's give the same features as Brisk's own", async () => {
    // Brisk's connector captures user A's rows; the same rows for user B arrive as a real Debezium connector
    // writes them: with and without schemas, a tombstone and a heartbeat in between.
    const a = `deb-a-${randomUUID().slice(0, 8)}`;
    const b = `deb-b-${randomUUID().slice(0, 8)}`;
    // Within the last minute, so every window counts them; ZonedTimestamp strings as Debezium writes them.
    const at = (secondsAgo: number) =>
      new Date(Date.now() - secondsAgo * 1000).toISOString().replace('.000Z', 'Z');
    const rows = [
      ['VIEW_PRODUCT', 'prod-3', at(40)],
      ['CLICK_PRODUCT', 'prod-4', at(30.5)],
      ['VIEW_PRODUCT', 'prod-5', at(20.25)],
      ['ADD_TO_CART', 'prod-5', at(10)],
    ] as const;
    for (const [type, product, at] of rows) {
      await db.pool.query(
        'INSERT INTO user_activity (id, user_id, activity_type, product_id, activity_timestamp) VALUES ($1, $2, $3, $4, $5)',
        [randomUUID(), a, type, product, at],
      );
    }
    const producer = client.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      const commitMs = Date.now();
      const messages = rows.map(([type, product, at], i) => {
        const id = randomUUID();
        const payload = {
          before: null,
          after: { id, user_id: b, activity_type: type, product_id: product, activity_timestamp: at },
          source: {
            version: '2.7.3.Final',
            connector: 'postgresql',
            name: PREFIX,
            ts_ms: commitMs + i,
            snapshot: 'false',
            db: 'app',
            sequence: `["${1000 + i}","${2000 + i}"]`,
            ts_us: (commitMs + i) * 1000,
            ts_ns: (commitMs + i) * 1_000_000,
            schema: 'public',
            table: 'user_activity',
            txId: 900 + i,
            lsn: 2000 + i,
            xmin: null,
          },
          transaction: null,
          op: 'c',
          ts_ms: commitMs + i + 3,
          ts_us: (commitMs + i + 3) * 1000,
          ts_ns: (commitMs + i + 3) * 1_000_000,
        };
        // Half with schemas (value.converter.schemas.enable=true), half bare; the key likewise.
        const withSchema = i % 2 === 0;
        const value = withSchema
          ? { schema: { type: 'struct', name: `${ACTIVITY}.Envelope`, optional: false, fields: [] }, payload }
          : payload;
        const key = withSchema
          ? { schema: { type: 'struct', name: `${ACTIVITY}.Key`, fields: [] }, payload: { id } }
          : { id };
        return { key: JSON.stringify(key), value: JSON.stringify(value) };
      });
      await producer.send({
        topic: ACTIVITY,
        messages: [
          messages[0]!,
          { key: JSON.stringify({ id: randomUUID() }), value: null },
          messages[1]!,
          messages[2]!,
          messages[3]!,
        ],
      });
      await producer.send({
        topic: ACTIVITY,
        messages: [
          { key: JSON.stringify({ serverName: PREFIX }), value: JSON.stringify({ ts_ms: commitMs }) },
        ],
      });
    } finally {
      await producer.disconnect();
    }
    const comparable = (v: Vector) => ({ ...v.features, userId: undefined });
    await waitFor(
      async () => {
        const [va, vb] = await vectors(serveUrls[0]!, [a, b]);
        return va!.features.activityCount1h === rows.length && vb!.features.activityCount1h === rows.length;
      },
      { timeoutMs: 30_000, what: 'both users complete' },
    );
    const [va, vb] = await vectors(serveUrls[1]!, [a, b]);
    expect(comparable(vb!)).toEqual(comparable(va!));
    expect(vb!.features.lastViewedProduct).toBe('prod-5');
  });

  it('sends poison messages to the dead-letter topic and keeps going', async () => {
    const producer = client.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      await producer.send({
        topic: ACTIVITY,
        messages: [
          { key: 'p1', value: '{"op": "c", "after": ' },
          { key: 'p2', value: JSON.stringify({ hello: 'world' }) },
          { key: 'p3', value: Buffer.from([0xff, 0xfe, 0x00, 0x81, 0x9c]) },
          { key: 'p4', value: JSON.stringify({ op: 'c', after: 'not a row', source: {} }) },
        ],
      });
    } finally {
      await producer.disconnect();
    }
    const dead = await readTopic(`${ACTIVITY}.dlq`, (all) => all.length >= 4);
    expect(dead.map((m) => m.key?.toString()).sort()).toEqual(['p1', 'p2', 'p3', 'p4']);
    for (const message of dead) {
      expect(message.headers?.['brisk.error.code']?.toString()).toBe('BRISK_KAFKA_MESSAGE_INVALID');
      expect(message.headers?.['brisk.error.message']?.toString().length).toBeGreaterThan(5);
      expect(message.headers?.['brisk.source.topic']?.toString()).toBe(ACTIVITY);
    }
    expect(dead.find((m) => m.key?.toString() === 'p3')!.value).toEqual(
      Buffer.from([0xff, 0xfe, 0x00, 0x81, 0x9c]),
    );
    // Nothing stopped: new rows still arrive.
    const user = `after-poison-${randomUUID().slice(0, 8)}`;
    await insertMany([user], 3);
    await matchesSql([user], 'rows after poison messages', 30_000);
  });

  it('loses and doubles nothing when an engine is killed mid-burst', async () => {
    const burst = Array.from({ length: 30 }, (_, i) => `chaos-e-${i}`);
    const writing = insertMany(burst, 3000, 1);
    await midway(burst, 3000, 'the burst is still being written when the process dies');
    await engines[0]!.kill('SIGKILL');
    await writing;
    await matchesSql(burst, 'counts after killing an engine');
    startEngine();
  });

  it('loses and doubles nothing when a broker goes down and comes back', async () => {
    const burst = Array.from({ length: 30 }, (_, i) => `chaos-b-${i}`);
    const writing = insertMany(burst, 3000, 1);
    await midway(burst, 3000, 'the burst is still being written when the broker goes down');
    await kafka.setDown(2);
    await new Promise((r) => setTimeout(r, 3_000));
    await kafka.setUp(2);
    await writing;
    await matchesSql(burst, 'counts after a broker outage');
  });

  it('loses and doubles nothing when the connector is killed and restarted', async () => {
    const burst = Array.from({ length: 30 }, (_, i) => `chaos-c-${i}`);
    const writing = insertMany(burst, 3000, 1);
    await midway(burst, 3000, 'the burst is still being written when the process dies');
    await connector.kill('SIGKILL');
    await writing;
    connector = spawnBriskCommand('connector', env);
    await matchesSql(burst, 'counts after killing the connector');
  });

  it('keeps L1 coherent: the other serving instance returns the new value within the change-feed delay', async () => {
    const user = `coherent-${randomUUID().slice(0, 8)}`;
    const delays: number[] = [];
    for (let i = 1; i <= 10; i++) {
      // Both instances hold the user in L1 (read after each change); a change must replace it on both.
      await db.pool.query(
        "INSERT INTO user_activity (id, user_id, activity_type, product_id, activity_timestamp) VALUES ($1, $2, 'VIEW_PRODUCT', $3, now())",
        [randomUUID(), user, `prod-${i}`],
      );
      const written = Date.now();
      await waitFor(
        async () => (await vectors(serveUrls[0]!, [user]))[0]!.features.lastViewedProduct === `prod-${i}`,
        {
          timeoutMs: 10_000,
          intervalMs: 1,
        },
      );
      const seenFirst = Date.now();
      await waitFor(
        async () => (await vectors(serveUrls[1]!, [user]))[0]!.features.lastViewedProduct === `prod-${i}`,
        {
          timeoutMs: 2_000,
          intervalMs: 1,
        },
      );
      delays.push(Date.now() - seenFirst);
      expect(seenFirst - written).toBeLessThan(10_000);
    }
    const metrics = await (await fetch(`${serveUrls[1]}/metrics`)).text();
    const count = Number(/brisk_change_feed_delay_seconds_count (\d+)/.exec(metrics)?.[1] ?? 0);
    expect(count).toBeGreaterThan(0);
    console.log(
      `L1 coherence: second instance behind the first by max ${Math.max(...delays)} ms over 10 changes`,
    );
  });
});
