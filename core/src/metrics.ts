import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every metric Brisk exports, declared in one place so the names are easy to find and document. Each process
 * builds one set (tests build several side by side without sharing counters).
 */
const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];
/** Finer where the pipeline lives (0.25 ms steps to 2 ms), so quantiles read from it are close to exact. */
const COMMIT_TO_STORE_BUCKETS = [
  0.00025, 0.0005, 0.00075, 0.001, 0.00125, 0.0015, 0.00175, 0.002, 0.0025, 0.003, 0.004, 0.005, 0.006, 0.008,
  0.01, 0.0125, 0.015, 0.02, 0.025, 0.035, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'brisk_process_' });
  const registers = [registry];
  return {
    registry,
    cdcEvents: new Counter({
      name: 'brisk_cdc_events_total',
      help: 'Row changes decoded from the WAL, by table and Debezium op.',
      labelNames: ['table', 'op'] as const,
      registers,
    }),
    cdcTransactions: new Counter({
      name: 'brisk_cdc_transactions_total',
      help: 'Committed transactions decoded from the WAL.',
      registers,
    }),
    connectorStreaming: new Gauge({
      name: 'brisk_connector_streaming',
      help: '1 while the replication stream is open and decoding, else 0.',
      registers,
    }),
    connectorReconnects: new Counter({
      name: 'brisk_connector_reconnects_total',
      help: 'Replication stream (re)connections after a failure.',
      registers,
    }),
    slotConfirmedLsn: new Gauge({
      name: 'brisk_slot_confirmed_flush_lsn',
      help: 'The position acknowledged to PostgreSQL as durably applied (bytes).',
      registers,
    }),
    slotLagBytes: new Gauge({
      name: 'brisk_slot_lag_bytes',
      help: "WAL bytes the slot still retains: pg_current_wal_lsn() - the slot's confirmed_flush_lsn.",
      registers,
    }),
    engineEvents: new Counter({
      name: 'brisk_engine_events_total',
      help: 'Change events handled by the feature engine, by outcome (applied, duplicate, ignored, dead_letter).',
      labelNames: ['outcome'] as const,
      registers,
    }),
    engineBatchSeconds: new Histogram({
      name: 'brisk_engine_apply_seconds',
      help: 'Time to apply one batch: state load, pure apply, durable Redis write.',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    engineBatchEvents: new Histogram({
      name: 'brisk_engine_batch_events',
      help: 'Events per applied batch (group commit size).',
      buckets: [1, 2, 5, 10, 50, 100, 500, 1000, 5000, 20000],
      registers,
    }),
    engineConflicts: new Counter({
      name: 'brisk_engine_conflicts_total',
      help: 'User states rewritten after a concurrent writer or a retried write changed them first.',
      registers,
    }),
    commitToDecode: new Histogram({
      name: 'brisk_commit_to_decode_seconds',
      help: 'PostgreSQL commit timestamp to Brisk decoding the commit, per transaction (how late the WAL reaches Brisk).',
      buckets: COMMIT_TO_STORE_BUCKETS,
      registers,
    }),
    commitToStore: new Histogram({
      name: 'brisk_commit_to_store_seconds',
      help: 'PostgreSQL commit timestamp to the change being durable in Redis, per event.',
      buckets: COMMIT_TO_STORE_BUCKETS,
      registers,
    }),
    deadLetters: new Counter({
      name: 'brisk_dead_letters_total',
      help: 'Events recorded as dead letters, by error code.',
      labelNames: ['code'] as const,
      registers,
    }),
    l1Hits: new Counter({
      name: 'brisk_l1_hits_total',
      help: 'Feature reads served from the L1 cache.',
      registers,
    }),
    l1Misses: new Counter({
      name: 'brisk_l1_misses_total',
      help: 'Feature reads that loaded from Redis.',
      registers,
    }),
    l1Entries: new Gauge({ name: 'brisk_l1_entries', help: 'Users held in the L1 cache.', registers }),
    changeFeedDelay: new Histogram({
      name: 'brisk_change_feed_delay_seconds',
      help: "A commit in Redis (Redis' clock) to this serving process dropping the changed users from its L1 and waking their streams.",
      buckets: COMMIT_TO_STORE_BUCKETS,
      registers,
    }),
    streams: new Gauge({ name: 'brisk_api_streams', help: 'Open feature streams (SSE).', registers }),
    streamEvents: new Counter({
      name: 'brisk_api_stream_events_total',
      help: 'Feature vectors pushed on streams.',
      registers,
    }),
    streamsDropped: new Counter({
      name: 'brisk_api_streams_dropped_total',
      help: 'Streams closed by the server because the client did not read (slow client) or too many were open.',
      labelNames: ['reason'] as const,
      registers,
    }),
    commitToPush: new Histogram({
      name: 'brisk_commit_to_push_seconds',
      help: 'PostgreSQL commit timestamp of the newest event in a vector to that vector being written to a stream.',
      buckets: COMMIT_TO_STORE_BUCKETS,
      registers,
    }),
    apiRequests: new Histogram({
      name: 'brisk_api_request_seconds',
      help: 'Feature API request latency, by route and status code.',
      labelNames: ['route', 'status'] as const,
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
