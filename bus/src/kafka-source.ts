import type { ChangeEvent } from '@brisk/cdc';
import type { ErrorCode, Logger } from '@brisk/core';
import type { Consumer, IHeaders, KafkaMessage, Producer } from 'kafkajs';

/**
 * The engine's side of scale-out mode: a consumer-group member reading Debezium change events, from Brisk's
 * connector or a real Debezium connector, and handing them to the engine. Offsets are committed only after the
 * engine made the batch durable, so a crash or a rebalance redelivers at most what was not yet committed, and
 * the engine's per-row versions make redelivery a no-op.
 *
 * Input never stops the consumer: a message that is not a change event (bad JSON, wrong shape, binary) is
 * copied to `<topic>.dlq` with the reason in headers, and its offset is committed with the rest.
 */
export type Parsed =
  | { readonly kind: 'event'; readonly event: ChangeEvent }
  | { readonly kind: 'skip'; readonly why: 'tombstone' | 'heartbeat' | 'message' }
  | { readonly kind: 'poison'; readonly code: ErrorCode; readonly message: string };

const OPS = new Set(['c', 'u', 'd', 'r', 't', 'm']);

/** Reads one message value: `{schema, payload}` or the bare envelope, JSON in UTF-8. */
export function parseChangeMessage(value: Buffer | null): Parsed {
  if (value === null || value.length === 0) return { kind: 'skip', why: 'tombstone' };
  const text = value.toString('utf8');
  // Invalid UTF-8 decodes to U+FFFD; a change event never contains it, binary data nearly always does.
  if (text.includes('\uFFFD'))
    return poison('BRISK_KAFKA_MESSAGE_INVALID', 'the value is not UTF-8 text (binary data?)');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return poison('BRISK_KAFKA_MESSAGE_INVALID', `the value is not JSON: ${(error as Error).message}`);
  }
  const wrapped = isObject(parsed) && 'payload' in parsed && 'schema' in parsed ? parsed : null;
  if (wrapped !== null && wrapped.payload === null) return { kind: 'skip', why: 'tombstone' };
  const envelope = wrapped !== null ? wrapped.payload : parsed;
  if (!isObject(envelope)) return poison('BRISK_KAFKA_MESSAGE_INVALID', 'the value is not a JSON object');
  const op = envelope.op;
  if (typeof op !== 'string' || !OPS.has(op)) {
    if (typeof envelope.ts_ms === 'number' && envelope.op === undefined && envelope.source === undefined) {
      return { kind: 'skip', why: 'heartbeat' };
    }
    return poison(
      'BRISK_KAFKA_MESSAGE_INVALID',
      `not a Debezium change event: op is ${JSON.stringify(op)} (expected one of c, u, d, r, t, m)`,
    );
  }
  if (op === 'm') return { kind: 'skip', why: 'message' };
  if (!isObject(envelope.source)) {
    return poison('BRISK_KAFKA_MESSAGE_INVALID', 'not a Debezium change event: source is missing');
  }
  for (const field of ['before', 'after'] as const) {
    const row = envelope[field];
    if (row !== undefined && row !== null && !isObject(row)) {
      return poison('BRISK_KAFKA_MESSAGE_INVALID', `not a Debezium change event: ${field} is not an object`);
    }
  }
  return {
    kind: 'event',
    event: {
      before: (envelope.before ?? null) as ChangeEvent['before'],
      after: (envelope.after ?? null) as ChangeEvent['after'],
      source: envelope.source as unknown as ChangeEvent['source'],
      op: op as ChangeEvent['op'],
      ts_ms: numberOr(envelope.ts_ms, 0),
      ts_us: numberOr(envelope.ts_us, numberOr(envelope.ts_ms, 0) * 1000),
      ts_ns: numberOr(envelope.ts_us, numberOr(envelope.ts_ms, 0) * 1000) * 1000,
    },
  };
}

export interface KafkaSourceOptions {
  readonly consumer: Consumer;
  /** Writes dead letters; acks=all, so a poison message is kept before its offset is committed. */
  readonly producer: Producer;
  readonly topics: readonly string[];
  /** Resolves once the events' effects are durable (the engine's submit). */
  readonly handle: (events: readonly ChangeEvent[]) => Promise<void>;
  readonly logger: Logger;
  /** Partitions processed at once by this member; the engine merges them into shared Redis round trips. */
  readonly concurrency?: number;
  readonly onBatch?: (info: { events: number; deadLetters: number; skipped: number }) => void;
}

export async function runKafkaSource(options: KafkaSourceOptions): Promise<void> {
  const { consumer, producer, logger } = options;
  const log = logger.child({ component: 'kafka-source' });
  for (const topic of options.topics) await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: options.concurrency ?? 4,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      if (batch.messages.length === 0 || !isRunning() || isStale()) return;
      const events: ChangeEvent[] = [];
      const dead: { message: KafkaMessage; code: ErrorCode; reason: string }[] = [];
      let skipped = 0;
      for (const message of batch.messages) {
        const parsed = parseChangeMessage(message.value);
        if (parsed.kind === 'event') events.push(parsed.event);
        else if (parsed.kind === 'skip') skipped++;
        else dead.push({ message, code: parsed.code, reason: parsed.message });
      }
      if (dead.length > 0) {
        await producer.send({
          topic: `${batch.topic}.dlq`,
          acks: -1,
          messages: dead.map(({ message, code, reason }) => ({
            key: message.key,
            value: message.value,
            headers: {
              ...copyHeaders(message.headers),
              'brisk.error.code': code,
              'brisk.error.message': reason,
              'brisk.source.topic': batch.topic,
              'brisk.source.partition': String(batch.partition),
              'brisk.source.offset': message.offset,
            },
          })),
        });
        for (const { code, reason, message } of dead) {
          log.warn({ code, topic: batch.topic, partition: batch.partition, offset: message.offset }, reason);
        }
      }
      if (events.length > 0) await options.handle(events);
      const last = batch.lastOffset();
      resolveOffset(last);
      // Only now: everything up to `last` is durable in Redis (or kept in the DLQ).
      await consumer.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() },
      ]);
      await heartbeat();
      options.onBatch?.({ events: events.length, deadLetters: dead.length, skipped });
    },
  });
}

function poison(code: ErrorCode, message: string): Parsed {
  return { kind: 'poison', code, message };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function copyHeaders(headers: IHeaders | undefined): IHeaders {
  return headers ? { ...headers } : {};
}
