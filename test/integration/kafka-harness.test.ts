import { type Consumer, Kafka, type KafkaMessage, logLevel, Partitioners, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onCleanup, runCleanups, uniqueName, waitFor } from '../support/harness.ts';
import { type MockKafka, startMockKafka } from '../support/kafka.ts';

/**
 * What the librdkafka 2.0.2 mock cluster (test/support/kafka.ts) does for kafkajs 2.2.4, and what it does not.
 * The "does not" cases pin the limitations down, so a librdkafka upgrade that lifts one shows up here.
 */

// Consumer settings the mock needs, measured against librdkafka 2.0.2:
// - A group (re)balance waits sessionTimeout - 1000 ms for members to rejoin (3 s for a group's first join).
//   kafkajs's default 30 s session would make each membership change take 29 s; at 2 s the first join never
//   completes, because members do not heartbeat while the mock holds the join for 3 s.
// - The mock answers a Fetch only when its MaxWaitTime expires, even if records arrive meanwhile, so the wait
//   is added to every delivery.
const GROUP_SETTINGS = { sessionTimeout: 4000, heartbeatInterval: 300, maxWaitTimeInMs: 20 } as const;

let mock: MockKafka;
let kafka: Kafka;

beforeAll(async () => {
  mock = await startMockKafka({ brokers: 3 });
  onCleanup(() => mock.stop());
  kafka = new Kafka({
    clientId: 'brisk-kafka-harness-test',
    brokers: [...mock.brokers],
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, retries: 8 },
  });
});
afterAll(runCleanups);

async function connectedProducer(options: Parameters<Kafka['producer']>[0] = {}): Promise<Producer> {
  // DefaultPartitioner is Java's murmur2 partitioner; passing it explicitly also silences kafkajs's v2 notice.
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, ...options });
  await producer.connect();
  onCleanup(() => producer.disconnect());
  return producer;
}

interface Received {
  readonly member: number;
  readonly partition: number;
  readonly offset: string;
  readonly key: string;
  readonly value: number;
}

interface Group {
  readonly groupId: string;
  readonly members: Consumer[];
  readonly received: Received[];
  /** The partitions each member holds after the latest join, by member index. */
  readonly assignments: Map<number, number[]>;
}

/**
 * `size` consumers in one group on `topic`, committing each message's offset by hand after handling it. Resolves
 * once every partition is assigned to exactly one member.
 */
async function startGroup(topic: string, partitions: number, size: number): Promise<Group> {
  const groupId = uniqueName('group');
  const group: Group = { groupId, members: [], received: [], assignments: new Map() };
  for (let member = 0; member < size; member++) {
    const consumer = kafka.consumer({ groupId, ...GROUP_SETTINGS });
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      group.assignments.set(member, event.payload.memberAssignment[topic] ?? []);
    });
    await consumer.connect();
    onCleanup(() => consumer.disconnect());
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    group.members.push(consumer);
  }
  await Promise.all(
    group.members.map((consumer, member) =>
      consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          group.received.push(record(member, partition, message));
          await consumer.commitOffsets([
            { topic, partition, offset: (BigInt(message.offset) + 1n).toString() },
          ]);
        },
      }),
    ),
  );
  await waitFor(
    () => {
      const held = [...group.assignments.values()].flat().sort((a, b) => a - b);
      return group.assignments.size === size && held.join() === range(partitions).join();
    },
    { timeoutMs: 20_000, what: `a group of ${size} sharing ${partitions} partitions` },
  );
  return group;
}

function record(member: number, partition: number, message: KafkaMessage): Received {
  return {
    member,
    partition,
    offset: message.offset,
    key: message.key!.toString(),
    value: Number(message.value!.toString()),
  };
}

function range(n: number, from = 0): number[] {
  return Array.from({ length: n }, (_, i) => from + i);
}

function messages(values: readonly number[]) {
  // 50 keys, so every key carries several messages whose order the test can check.
  return values.map((value) => ({ key: `user-${value % 50}`, value: String(value) }));
}

/** Committed offsets equal the end of every partition: nothing read is left uncommitted. */
async function expectFullyCommitted(topic: string, group: Group): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const expected = Object.fromEntries(ends.map((p) => [p.partition, p.high]));
    const committed = async () => {
      const [offsets] = await admin.fetchOffsets({ groupId: group.groupId, topics: [topic] });
      return Object.fromEntries(offsets!.partitions.map((p) => [p.partition, p.offset]));
    };
    // The last commit may still be in flight when the last message is seen.
    await waitFor(async () => JSON.stringify(await committed()) === JSON.stringify(expected), {
      timeoutMs: 10_000,
      what: 'committed offsets to reach the end of every partition',
    }).catch(() => {});
    expect(await committed()).toEqual(expected);
  } finally {
    await admin.disconnect();
  }
}

describe('librdkafka mock cluster', () => {
  it('lists one address per broker and answers launcher commands', async () => {
    expect(mock.brokers).toHaveLength(3);
    for (const address of mock.brokers) expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(mock.bootstrap).toBe(mock.brokers.join(','));

    const topic = uniqueName('launcher');
    await mock.createTopic(topic, 2);
    await expect(mock.createTopic(topic, 2)).rejects.toThrow(/already exists/i);
    await expect(mock.setDown(4)).rejects.toThrow(RangeError);
    await expect(mock.createTopic('two words', 1)).rejects.toThrow(TypeError);
    await expect(mock.setLeader(topic, 9, 1)).rejects.toThrow(/unknown topic or partition/i);

    // An RTT on the partition's leader delays the produce acknowledgement by at least that much.
    await mock.setLeader(topic, 0, 2);
    const producer = await connectedProducer();
    const send = () => producer.send({ topic, acks: -1, messages: [{ partition: 0, value: 'x' }] });
    await send();
    await mock.setRtt(2, 300);
    const started = performance.now();
    await send();
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    await mock.setRtt(2, 0);
  });

  it("partitions keys like Java's murmur2 with kafkajs's DefaultPartitioner", async () => {
    const topic = uniqueName('murmur');
    await mock.createTopic(topic, 6);
    const producer = await connectedProducer();
    // murmur2 values from Apache Kafka's own test vectors; the Java client picks (hash & 0x7fffffff) % n.
    const vectors: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of vectors) {
      const [metadata] = await producer.send({ topic, messages: [{ key, value: key }] });
      expect({ key, partition: metadata!.partition }).toEqual({ key, partition: (hash & 0x7fffffff) % 6 });
    }
  });

  it('delivers 1000 keyed messages exactly once to a group of two with manual commits', async () => {
    const topic = uniqueName('orders');
    await mock.createTopic(topic, 6);
    const group = await startGroup(topic, 6, 2);
    const producer = await connectedProducer({ maxInFlightRequests: 1 });

    await producer.send({ topic, acks: -1, messages: messages(range(1000)) });
    await waitFor(() => group.received.length >= 1000, { timeoutMs: 30_000, what: '1000 messages' });
    // Anything delivered twice would arrive within a few fetch rounds.
    await new Promise((r) => setTimeout(r, 300));

    expect(group.received.map((r) => r.value).sort((a, b) => a - b)).toEqual(range(1000));
    // Both members did part of the work, each only on partitions it was assigned.
    for (const member of [0, 1]) {
      const mine = group.received.filter((r) => r.member === member);
      expect(mine.length).toBeGreaterThan(0);
      for (const r of mine) expect(group.assignments.get(member)).toContain(r.partition);
    }
    // One key lives on one partition and arrives in the order it was produced.
    const byKey = new Map<string, Received[]>();
    for (const r of group.received) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
    expect(byKey.size).toBe(50);
    for (const [key, list] of byKey) {
      expect(new Set(list.map((r) => r.partition)).size, key).toBe(1);
      const values = list.map((r) => r.value);
      expect(values, key).toEqual([...values].sort((a, b) => a - b));
    }
    await expectFullyCommitted(topic, group);
  });

  it('keeps producing and consuming across a broker going down and up', async () => {
    const topic = uniqueName('outage');
    await mock.createTopic(topic, 6);
    // Broker 1 must lead something for its outage to matter; the mock spreads leaders at random.
    await mock.setLeader(topic, 0, 1);
    await mock.setLeader(topic, 1, 1);
    const group = await startGroup(topic, 6, 2);
    const producer = await connectedProducer({ maxInFlightRequests: 1 });
    await producer.send({ topic, acks: -1, messages: messages(range(100)) });
    await waitFor(() => group.received.length >= 100, { what: 'the first 100 messages' });

    await mock.setDown(1);
    let acknowledged = false;
    const sending = producer.send({ topic, acks: -1, messages: messages(range(100, 100)) }).then(() => {
      acknowledged = true;
    });
    await new Promise((r) => setTimeout(r, 1500));
    // Partitions 0 and 1 have no leader to write to: the send is still retrying.
    expect(acknowledged).toBe(false);
    await mock.setUp(1);
    await sending;

    await waitFor(() => new Set(group.received.map((r) => r.value)).size >= 200, {
      timeoutMs: 30_000,
      what: 'all 200 messages after the outage',
    });
    // The log holds each message once (the producer's retries wrote nothing twice); a redelivery after a failed
    // commit is allowed, a loss is not.
    const log = new Map(group.received.map((r) => [`${r.partition}:${r.offset}`, r.value]));
    expect([...log.values()].sort((a, b) => a - b)).toEqual(range(200));
    await expectFullyCommitted(topic, group);
  });
});

describe('what kafkajs 2.2.4 cannot do against the librdkafka 2.0.2 mock', () => {
  // The mock's Metadata response names broker 0 as controller, and its ids start at 1. kafkajs sends CreateTopics,
  // DeleteTopics, CreatePartitions, DescribeConfigs and the idempotent producer's InitProducerId to the controller.
  it('has no controller: admin topic operations and the idempotent producer fail', async () => {
    const admin = kafka.admin();
    await admin.connect();
    onCleanup(() => admin.disconnect());
    await expect(
      admin.createTopics({ topics: [{ topic: uniqueName('admin'), numPartitions: 2 }] }),
    ).rejects.toThrow(/Broker 0 not found/);
    const idempotent = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    onCleanup(() => idempotent.disconnect());
    await expect(idempotent.connect()).rejects.toThrow(/Broker 0 not found/);
  });

  it('lacks the group admin APIs', async () => {
    const admin = kafka.admin();
    await admin.connect();
    onCleanup(() => admin.disconnect());
    await expect(admin.listGroups()).rejects.toThrow(/does not support the requested API version/);
  });

  it('auto-creates unknown topics with 4 partitions', async () => {
    const topic = uniqueName('auto');
    const producer = await connectedProducer();
    await producer.send({ topic, messages: [{ value: 'x' }] });
    const admin = kafka.admin();
    await admin.connect();
    onCleanup(() => admin.disconnect());
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(topics[0]!.partitions).toHaveLength(4);
  });

  it('accepts transactions but shows aborted records to read_committed consumers', async () => {
    const topic = uniqueName('txn');
    await mock.createTopic(topic, 1);
    // Without `idempotent: true` connect() skips the controller; transaction() asks the transaction coordinator.
    const producer = await connectedProducer({ transactionalId: uniqueName('txn'), maxInFlightRequests: 1 });
    for (const [value, outcome] of [
      ['committed', 'commit'],
      ['aborted', 'abort'],
    ] as const) {
      const transaction = await producer.transaction();
      await transaction.send({ topic, messages: [{ key: value, value }] });
      await transaction[outcome]();
    }
    const consumer = kafka.consumer({
      groupId: uniqueName('txn'),
      readUncommitted: false,
      ...GROUP_SETTINGS,
    });
    await consumer.connect();
    onCleanup(() => consumer.disconnect());
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const seen: string[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value!.toString());
      },
    });
    await waitFor(() => seen.length >= 2, { timeoutMs: 20_000, what: 'both transactional records' });
    expect(seen).toEqual(['committed', 'aborted']);
  });
});
