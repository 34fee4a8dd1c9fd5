import { KafkaSink, runKafkaSource, topicFor } from '@brisk/bus';
import { Connector, ensureSlot, inspectSlot, preflight } from '@brisk/cdc';
import { briskError, type Config, createMetrics, type Logger, type Metrics } from '@brisk/core';
import { FeatureEngine } from '@brisk/features';
import { RedisFeatureStore } from '@brisk/store';
import { type Consumer, Kafka, type logCreator, logLevel, Partitioners, type Producer } from 'kafkajs';
import pg from 'pg';

/**
 * Scale-out mode's processes: `brisk connector` (WAL -> Kafka) and `brisk engine` (Kafka -> Redis). They use
 * the same connector, engine and store as the embedded pipeline; only the hand-off between them differs.
 */
export interface Running {
  /** Rejects when the process must stop because of an error retrying cannot fix. */
  readonly failed: Promise<never>;
  stop(): Promise<void>;
}

/** Names every variable a command needs that is not set, in one message. */
export function requireSettings(command: string, wanted: Record<string, unknown>): void {
  const missing = Object.entries(wanted)
    .filter(
      ([, value]) => value === null || value === undefined || (Array.isArray(value) && value.length === 0),
    )
    .map(([name]) => name);
  if (missing.length > 0) {
    throw briskError(
      'BRISK_CONFIG_INVALID',
      `brisk ${command} needs ${missing.join(', ')} (see the README's configuration table); ` +
        '`brisk start` runs everything on one machine without them.',
    );
  }
}

export function kafkaClient(config: Config, clientId: string, logger: Logger): Kafka {
  const log = logger.child({ component: 'kafkajs' });
  // kafkajs logs retries of transient broker errors at error level; they are warnings until retries run out.
  const toPino: logCreator = () => (entry) => {
    const { message, ...extra } = entry.log;
    if (entry.level <= logLevel.ERROR) log.warn({ ...extra, kafkaNamespace: entry.namespace }, message);
    else if (entry.level === logLevel.WARN) log.info({ ...extra, kafkaNamespace: entry.namespace }, message);
  };
  return new Kafka({
    clientId,
    brokers: [...config.kafkaBrokers],
    logCreator: toPino,
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 8 },
  });
}

export function activityTopic(config: Config): string {
  return topicFor(config.topicPrefix, config.source.schema, config.source.table);
}

export function catalogueTopic(config: Config): string {
  return topicFor(config.topicPrefix, config.catalogue.schema, config.catalogue.table);
}

export function orderedProducer(kafka: Kafka, idempotent: boolean): Producer {
  return kafka.producer({
    idempotent,
    // One request in flight: a retried request can never land after a later one, so each key stays in order.
    maxInFlightRequests: 1,
    allowAutoTopicCreation: true,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

/** `brisk connector`: the replication slot's changes to Kafka, confirmed to PostgreSQL once Kafka has them. */
export async function startKafkaConnector(options: {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics?: Metrics;
}): Promise<Running & { readonly connector: Connector; readonly sink: KafkaSink }> {
  const { config, logger } = options;
  requireSettings('connector', { DATABASE_URL: config.databaseUrl, KAFKA_BROKERS: config.kafkaBrokers });
  const databaseUrl = config.databaseUrl!;
  const metrics = options.metrics ?? createMetrics();
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2, application_name: 'brisk-connector' });
  pool.on('error', () => {});
  const kafka = kafkaClient(config, 'brisk-connector', logger);
  const producer = orderedProducer(kafka, config.kafka.idempotent);
  try {
    await preflight(pool, config.source, logger, config.catalogue);
    const slot = await inspectSlot(pool, config.source.slot);
    if (slot === null) {
      if (config.snapshot === 'initial') {
        throw briskError(
          'BRISK_CONFIG_INVALID',
          `slot '${config.source.slot}' does not exist and brisk connector does not take initial snapshots: set ` +
            'BRISK_SNAPSHOT=never to capture changes from now on, or let a Debezium connector take the snapshot ' +
            '(deploy/). `brisk start` (embedded mode) does take one.',
        );
      }
      await ensureSlot(pool, config.source.slot);
      logger.info({ slot: config.source.slot }, 'created durable replication slot');
    }
    await producer.connect();
  } catch (error) {
    await producer.disconnect().catch(() => {});
    await pool.end().catch(() => {});
    throw error;
  }
  const sink = new KafkaSink({
    producer,
    topicPrefix: config.topicPrefix,
    schemas: config.kafka.schemas,
    decimalHandling: config.decimalHandling,
    partitionKey: config.kafka.partitionKey,
    activityTable: config.source,
    heartbeatMs: config.heartbeatMs,
    logger,
  });
  const connector = new Connector({
    connectionString: databaseUrl,
    source: config.source,
    topicPrefix: config.topicPrefix,
    decimalHandling: config.decimalHandling,
    heartbeatMs: config.heartbeatMs,
    sink,
    metrics,
    logger,
  });
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      await connector.stop();
      await producer.disconnect().catch(() => {});
      await pool.end().catch(() => {});
    })();
    return stopping;
  };
  try {
    await connector.start();
  } catch (error) {
    await stop();
    throw error;
  }
  const failed = connector.done().then(() => new Promise<never>(() => {}));
  failed.catch(() => {});
  return { connector, sink, failed, stop };
}

/** `brisk engine`: one member of the consumer group that turns change events into features in Redis. */
export async function startKafkaEngine(options: {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics?: Metrics;
}): Promise<
  Running & { readonly engine: FeatureEngine; readonly store: RedisFeatureStore; readonly consumer: Consumer }
> {
  const { config, logger } = options;
  requireSettings('engine', { REDIS_URL: config.redisUrl, KAFKA_BROKERS: config.kafkaBrokers });
  const metrics = options.metrics ?? createMetrics();
  const store = await RedisFeatureStore.open({
    url: config.redisUrl!,
    slot: config.source.slot,
    durability: config.redisDurability,
    userTtlSeconds: config.state.userTtlSeconds,
    l1MaxBytes: config.state.l1MaxBytes,
    metrics,
    logger,
  });
  const engine = new FeatureEngine({
    store,
    source: config.source,
    maxRowsPerUser: config.state.maxRowsPerUser,
    retentionUs: config.state.userTtlSeconds * 1_000_000,
    metrics,
    logger,
    catalogueTable: config.catalogue,
  });
  const kafka = kafkaClient(config, 'brisk-engine', logger);
  const consumer = kafka.consumer({
    groupId: config.kafka.group,
    allowAutoTopicCreation: true,
    // A member that dies is noticed within this, and its partitions move to the others.
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    rebalanceTimeout: 20_000,
    // How long a fetch may wait for data. Kafka answers as soon as data arrives, but librdkafka's mock cluster
    // waits the full time, so a long wait would show up as latency there.
    maxWaitTimeInMs: 20,
    retry: {
      initialRetryTime: 300,
      maxRetryTime: 5_000,
      retries: 10,
      // A group protocol error during a rebalance (seen from librdkafka's mock, code 42 on SyncGroup) is not
      // retriable for kafkajs and would stop this member for good. Nothing is lost by rejoining: offsets are
      // committed only after Redis has the effects, so the member restarts from the last commit.
      restartOnFailure: async (error) => {
        logger.warn({ err: error }, 'Kafka consumer failed; rejoining the group');
        return true;
      },
    },
  });
  // Dead letters only; a duplicate there is harmless.
  const producer = orderedProducer(kafka, false);

  let fail: (error: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failed.catch(() => {});
  store.onFatal((error) => fail(error));
  consumer.on(consumer.events.CRASH, (event) => {
    const { error, restart } = event.payload as { error: Error; restart: boolean };
    if (restart) logger.warn({ err: error }, 'Kafka consumer crashed; kafkajs restarts it');
    else fail(error);
  });

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      await consumer.disconnect().catch(() => {});
      await engine.stop();
      await producer.disconnect().catch(() => {});
      await store.close();
    })();
    return stopping;
  };
  try {
    await producer.connect();
    await consumer.connect();
    await runKafkaSource({
      consumer,
      producer,
      topics: [activityTopic(config), catalogueTopic(config)],
      handle: (events) => engine.submit(events, null),
      logger,
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { engine, store, consumer, failed, stop };
}
