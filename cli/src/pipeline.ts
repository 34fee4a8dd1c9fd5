import { buildApi, type FastifyInstance } from '@brisk/api';
import { inProcessBus } from '@brisk/bus';
import {
  Connector,
  createSlotWithSnapshot,
  dropSlot,
  ensureSlot,
  inspectSlot,
  lookupProducts,
  type PreflightReport,
  preflight,
  readSnapshot,
} from '@brisk/cdc';
import {
  type BriskError,
  briskError,
  type Clock,
  type Config,
  createMetrics,
  formatLsn,
  type Logger,
  type Metrics,
  systemClock,
} from '@brisk/core';
import { FeatureEngine, longestWindowUs, makeProduct } from '@brisk/features';
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
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2, application_name: 'brisk' });
  pool.on('error', () => {});

  let report: PreflightReport;
  try {
    report = await preflight(pool, source, logger, config.catalogue);
  } catch (error) {
    await store.close();
    await pool.end();
    throw error;
  }
  const engine = new FeatureEngine({
    store,
    source,
    maxRowsPerUser: config.state.maxRowsPerUser,
    retentionUs: config.state.userTtlSeconds * 1_000_000,
    metrics,
    logger,
    ...(report.catalogue === 'published' ? { catalogueTable: config.catalogue } : {}),
    ...(report.catalogue === 'unpublished'
      ? {
          productLookup: {
            products: async (ids: readonly string[]) =>
              (await lookupProducts(pool, config.catalogue, ids)).map((row) =>
                makeProduct(row.id, row.name, row.category, row.price),
              ),
          },
        }
      : {}),
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
    resync: (listener) => store.onResync(listener),
    streams: config.streams,
    beforeScrape: async () => {
      const lag = await connector.slotLagBytes();
      if (lag !== null) metrics.slotLagBytes.set(lag);
    },
    ...(options.clock ? { clock: options.clock } : {}),
  });

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      await connector.stop();
      await engine.stop();
      await api.close();
      await store.close();
      await pool.end().catch(() => {});
    })();
    return stopping;
  };

  try {
    // The API answers (readyz: not ready) while a long initial snapshot runs.
    const apiUrl = await api.listen({ host: config.api.host, port: config.api.port });
    await prepareSlot({ config, databaseUrl, pool, store, engine, report, logger });
    await connector.start();
    connector.done().catch((error: unknown) => fail(error));
    return { api, apiUrl, connector, engine, store, metrics, failed, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Before streaming, the slot and Redis must agree on where Brisk stands:
 * - no slot: create it; with BRISK_SNAPSHOT=initial, read the rows that already exist first (the snapshot is
 *   marked pending in Redis before the slot exists, done after its last chunk is durable);
 * - a slot whose snapshot is still pending: that snapshot was interrupted; the slot never streamed, so it is
 *   dropped and the snapshot starts over;
 * - otherwise Redis must hold everything the slot was confirmed past. A slot that moved beyond a wiped or
 *   different Redis would silently leave holes.
 */
interface SlotContext {
  readonly config: Config;
  readonly databaseUrl: string;
  readonly pool: pg.Pool;
  readonly store: RedisFeatureStore;
  readonly engine: FeatureEngine;
  readonly report: PreflightReport;
  readonly logger: Logger;
}

async function prepareSlot(context: SlotContext): Promise<void> {
  const { config, pool, store, logger } = context;
  const slotName = config.source.slot;
  let slot = await inspectSlot(pool, slotName);
  const snapshotState = await store.snapshotState();
  if (slot !== null && snapshotState === 'pending') {
    logger.warn(
      { slot: slotName },
      'the initial snapshot was interrupted; dropping its unused slot and starting over',
    );
    await dropSlot(pool, slotName);
    slot = null;
  }
  if (slot === null) {
    const removed = await store.resetKeyspace();
    if (removed > 0)
      logger.warn({ keys: removed }, 'new replication slot: cleared the state an earlier slot left in Redis');
    if (config.snapshot === 'never') {
      const created = await ensureSlot(pool, slotName);
      await store.setCheckpoint(created.confirmedFlushLsn ?? 0);
    } else {
      await initialSnapshot(context);
    }
    await store.setSnapshotState('done');
    logger.info({ slot: slotName }, 'created durable replication slot');
    return;
  }
  const slotLsn = slot.confirmedFlushLsn ?? 0;
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
  if (snapshotState === null) await store.setSnapshotState('done');
}

async function initialSnapshot(context: SlotContext): Promise<void> {
  const { config, store, engine, report, logger } = context;
  await store.setSnapshotState('pending');
  const slot = await createSlotWithSnapshot(context.databaseUrl, config.source.slot);
  try {
    const retentionUs = config.state.userTtlSeconds * 1_000_000;
    const started = Date.now();
    const { activityRows, products } = await readSnapshot({
      connectionString: context.databaseUrl,
      slot,
      activity: config.source,
      activitySinceUs: systemClock.nowUs() - Math.min(longestWindowUs(), retentionUs),
      catalogue: report.catalogue === 'published' ? config.catalogue : null,
      envelope: {
        topicPrefix: config.topicPrefix,
        database: report.database,
        decimalHandling: config.decimalHandling,
        nowUs: () => systemClock.nowUs(),
      },
      onChunk: (events) => engine.submit(events, null),
      log: logger,
    });
    await store.setCheckpoint(slot.consistentPoint);
    logger.info(
      { activityRows, products, ms: Date.now() - started, at: formatLsn(slot.consistentPoint) },
      'initial snapshot complete',
    );
  } finally {
    await slot.close();
  }
}
