import { buildApi, type FastifyInstance } from '@brisk/api';
import { inProcessBus } from '@brisk/bus';
import { Connector, ensureSlot, preflight } from '@brisk/cdc';
import {
  type BriskError,
  briskError,
  type Clock,
  type Config,
  createMetrics,
  formatLsn,
  type Logger,
  type Metrics,
} from '@brisk/core';
import { FeatureEngine } from '@brisk/features';
import { RedisFeatureStore } from '@brisk/store';
import pg from 'pg';

/**
 * Embedded mode in one process: connector -> in-process bus -> engine -> Redis store -> API. Every stage is
 * built here and nowhere else, so this file is the map of what runs.
 */
export interface Pipeline {
  readonly api: FastifyInstance;
  readonly apiUrl: string;
  readonly connector: Connector;
  readonly engine: FeatureEngine;
  readonly store: RedisFeatureStore;
  readonly metrics: Metrics;
  /** Rejects when the pipeline stops on its own because of an error retrying cannot fix. */
  readonly failed: Promise<never>;
  stop(): Promise<void>;
}

export interface PipelineOptions {
  readonly config: Config;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly logger: Logger;
  readonly clock?: Clock;
}

export async function startPipeline(options: PipelineOptions): Promise<Pipeline> {
  const { config, databaseUrl, redisUrl, logger } = options;
  const metrics = createMetrics();
  const source = config.source;
  const store = await RedisFeatureStore.open({
    url: redisUrl,
    slot: source.slot,
    durability: config.redisDurability,
    userTtlSeconds: config.state.userTtlSeconds,
    l1MaxBytes: config.state.l1MaxBytes,
    metrics,
    logger,
  });
  try {
    await checkSourceAndStore(databaseUrl, config, store);
  } catch (error) {
    await store.close();
    throw error;
  }

  const engine = new FeatureEngine({
    store,
    source,
    maxRowsPerUser: config.state.maxRowsPerUser,
    retentionUs: config.state.userTtlSeconds * 1_000_000,
    metrics,
    logger,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const connector = new Connector({
    connectionString: databaseUrl,
    source,
    topicPrefix: config.topicPrefix,
    decimalHandling: config.decimalHandling,
    heartbeatMs: config.heartbeatMs,
    sink: inProcessBus((events, checkpoint) => engine.submit(events, checkpoint)),
    metrics,
    logger,
    ...(options.clock ? { clock: options.clock } : {}),
  });

  let fail: (error: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failed.catch(() => {});
  store.onFatal((error: BriskError) => fail(error));

  const api = await buildApi({
    store,
    metrics,
    logger,
    token: config.api.token,
    readiness: () => {
      const streaming = connector.state === 'streaming';
      const redis = store.isConnected();
      return {
        ready: streaming && redis,
        checks: { connector: connector.state, redis: redis ? 'connected' : 'disconnected' },
      };
    },
    changes: (listener) => store.onCommitted(listener),
    beforeScrape: async () => {
      const lag = await connector.slotLagBytes();
      if (lag !== null) metrics.slotLagBytes.set(lag);
    },
  });

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      await connector.stop();
      await engine.stop();
      await api.close();
      await store.close();
    })();
    return stopping;
  };

  try {
    const apiUrl = await api.listen({ host: config.api.host, port: config.api.port });
    await connector.start();
    connector.done().catch((error: unknown) => fail(error));
    return { api, apiUrl, connector, engine, store, metrics, failed, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Before streaming: the source must be usable (clear errors otherwise), and Redis must hold everything the
 * slot was confirmed past. A slot that moved beyond a wiped or different Redis would silently leave holes.
 */
async function checkSourceAndStore(
  databaseUrl: string,
  config: Config,
  store: RedisFeatureStore,
): Promise<void> {
  const { slot: slotName } = config.source;
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  pool.on('error', () => {});
  try {
    // Quiet here: the connector runs the same checks when it connects, and gives the advice then.
    await preflight(pool, config.source);
    const slot = await ensureSlot(pool, slotName);
    const slotLsn = slot.confirmedFlushLsn ?? 0;
    if (slot.created) {
      await store.setCheckpoint(slotLsn);
      return;
    }
    const checkpoint = await store.checkpoint();
    if (checkpoint === null || checkpoint < slotLsn) {
      throw briskError(
        'BRISK_STORE_LOST_DATA',
        `Redis holds feature state up to ${checkpoint === null ? 'nothing' : formatLsn(checkpoint)}, but slot ` +
          `'${slotName}' was confirmed up to ${formatLsn(slotLsn)}: PostgreSQL will not resend what lies between. ` +
          'Is REDIS_URL the Redis this slot fed? To rebuild from scratch, stop Brisk and drop the slot ' +
          `(SELECT pg_drop_replication_slot('${slotName}');), then start again.`,
      );
    }
  } finally {
    await pool.end();
  }
}
