import type { ChangeSink, SourceChange, TransactionBatch } from '@brisk/cdc';
import { briskError, type Logger } from '@brisk/core';
import type { Message, Producer, TopicMessages } from 'kafkajs';
import {
  heartbeatTopic,
  type JsonOptions,
  keyJson,
  SchemaCache,
  topicFor,
  valueJson,
} from './debezium-json.ts';

/**
 * The connector's sink in scale-out mode: Debezium JSON to `<prefix>.<schema>.<table>`. A batch counts as
 * durable when Kafka acknowledged it with acks=all from an idempotent producer; only then may the connector
 * confirm its LSN to PostgreSQL.
 *
 * One send is in flight at a time and batches that arrive meanwhile go out together in the next one (group
 * commit). That keeps every key's messages in commit order, which concurrent sends would not (a retried
 * request can land after a later one), and amortises the round trip under load. Backpressure needs nothing
 * here: the connector stops reading WAL while too many events are unacknowledged, and the slot holds the rest.
 */
export interface KafkaSinkOptions extends JsonOptions {
  readonly producer: Producer;
  /** Column that keys messages of the activity table instead of its primary key (Debezium PartitionRouting). */
  readonly partitionKey: string | null;
  readonly activityTable: { readonly schema: string; readonly table: string };
  /** A heartbeat message goes to `__debezium-heartbeat.<prefix>` at most this often, on idle positions. */
  readonly heartbeatMs: number;
  readonly logger: Logger;
  readonly now?: () => number;
}

interface Pending {
  readonly messages: Map<string, Message[]>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class KafkaSink implements ChangeSink {
  private readonly schemas: SchemaCache;
  private queue: Pending[] = [];
  private sending = false;
  private lastHeartbeat = 0;
  private readonly now: () => number;
  /** Events acknowledged by Kafka since start (for metrics and the benchmark). */
  sent = 0;

  constructor(private readonly options: KafkaSinkOptions) {
    this.schemas = new SchemaCache(options);
    this.now = options.now ?? Date.now;
  }

  write(batch: TransactionBatch): Promise<void> {
    const messages = new Map<string, Message[]>();
    for (const change of batch.changes) this.add(messages, change);
    if (messages.size === 0) {
      // A position with no rows (a keepalive): nothing to make durable, but say we are alive now and then.
      const now = this.now();
      if (batch.endLsn === null || now - this.lastHeartbeat < this.options.heartbeatMs)
        return Promise.resolve();
      this.lastHeartbeat = now;
      const prefix = this.options.topicPrefix;
      messages.set(heartbeatTopic(prefix), [
        { key: JSON.stringify({ serverName: prefix }), value: `{"ts_ms":${now}}` },
      ]);
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ messages, resolve, reject });
      if (!this.sending) void this.drain();
    });
  }

  private add(messages: Map<string, Message[]>, change: SourceChange): void {
    const { event, columns } = change;
    const { schema, table } = event.source;
    const topic = topicFor(this.options.topicPrefix, schema, table);
    let list = messages.get(topic);
    if (!list) {
      list = [];
      messages.set(topic, list);
    }
    const key = this.keyOf(change);
    const keyText = key === null ? null : keyJson(key, schema, table, columns, this.options, this.schemas);
    list.push({ key: keyText, value: valueJson(event, columns, this.options, this.schemas) });
    // Debezium follows a delete with a tombstone, so log compaction can drop the key.
    if (event.op === 'd' && keyText !== null) list.push({ key: keyText, value: null });
  }

  private keyOf(change: SourceChange): SourceChange['key'] {
    const column = this.options.partitionKey;
    const { source } = change.event;
    const activity = this.options.activityTable;
    if (column === null || source.schema !== activity.schema || source.table !== activity.table)
      return change.key;
    const row = change.event.after ?? change.event.before;
    const value = row?.[column];
    // A delete under REPLICA IDENTITY DEFAULT carries only the primary key: fall back to it.
    return value === undefined || value === null ? change.key : { [column]: value };
  }

  private async drain(): Promise<void> {
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const group = this.queue;
        this.queue = [];
        const byTopic = new Map<string, Message[]>();
        let count = 0;
        for (const pending of group) {
          for (const [topic, messages] of pending.messages) {
            const list = byTopic.get(topic);
            if (list) for (const m of messages) list.push(m);
            else byTopic.set(topic, [...messages]);
            count += messages.length;
          }
        }
        const topicMessages: TopicMessages[] = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
        try {
          await this.options.producer.sendBatch({ topicMessages, acks: -1 });
          this.sent += count;
          for (const pending of group) pending.resolve();
        } catch (error) {
          // Retriable: the connector reconnects and replays from the slot; the engine ignores what was already sent.
          const failure = briskError(
            'BRISK_KAFKA_UNAVAILABLE',
            `Kafka did not acknowledge ${count} message(s): ${(error as Error).message}`,
            error,
          );
          for (const pending of group) pending.reject(failure);
        }
      }
    } finally {
      this.sending = false;
    }
  }
}
