import { buildApi, type FastifyInstance } from '@brisk/api';
import { type Config, createMetrics, type Logger, type Metrics } from '@brisk/core';
import { RedisFeatureStore } from '@brisk/store';

/**
 * A serving instance (`brisk serve`): the feature API over Redis with its own L1, for any number of processes
 * behind a load balancer. It writes nothing. Redis pub/sub tells it which users any engine changed; it drops
 * them from L1 and pushes to their open streams, so no instance serves a value older than the feed's delay
 * (brisk_change_feed_delay_seconds). When the feed's connection drops, L1 is cleared.
 */
export interface Serving {
  readonly api: FastifyInstance;
  readonly apiUrl: string;
  readonly store: RedisFeatureStore;
  readonly metrics: Metrics;
  stop(): Promise<void>;
}

export async function startServing(options: {
  readonly config: Config;
  readonly redisUrl: string;
  readonly logger: Logger;
}): Promise<Serving> {
  const { config, redisUrl, logger } = options;
  const metrics = createMetrics();
  const store = await RedisFeatureStore.open({
    url: redisUrl,
    slot: config.source.slot,
    // A reader acknowledges nothing to PostgreSQL: Redis' persistence settings are the writers' concern.
    durability: 'none',
    userTtlSeconds: config.state.userTtlSeconds,
    l1MaxBytes: config.state.l1MaxBytes,
    metrics,
    logger,
    changeFeed: 'redis',
  });
  try {
    const api = await buildApi({
      store,
      metrics,
      logger,
      token: config.api.token,
      readiness: () => {
        const redis = store.isConnected();
        return { ready: redis, checks: { redis: redis ? 'connected' : 'disconnected' } };
      },
      changes: (listener) => store.onCommitted(listener),
      resync: (listener) => store.onResync(listener),
      streams: config.streams,
    });
    const apiUrl = await api.listen({ host: config.api.host, port: config.api.port });
    let stopping: Promise<void> | null = null;
    const stop = () => {
      stopping ??= (async () => {
        await api.close();
        await store.close();
      })();
      return stopping;
    };
    return { api, apiUrl, store, metrics, stop };
  } catch (error) {
    await store.close();
    throw error;
  }
}
