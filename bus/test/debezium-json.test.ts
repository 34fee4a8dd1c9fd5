import type { ChangeEvent, Column } from '@brisk/cdc';
import { describe, expect, it } from 'vitest';
import { keyJson, payloadJson, SchemaCache, valueJson } from '../src/debezium-json.ts';
import { parseChangeMessage } from '../src/kafka-source.ts';

const COLUMNS: Column[] = [
  { name: 'id', typeOid: 2950, typeMod: -1, isKey: true },
  { name: 'user_id', typeOid: 1043, typeMod: 259, isKey: false },
  { name: 'activity_timestamp', typeOid: 1184, typeMod: -1, isKey: false },
  { name: 'price', typeOid: 1700, typeMod: ((10 << 16) | 2) + 4, isKey: false },
];

const EVENT: ChangeEvent = {
  before: null,
  after: { id: 'a1', user_id: 'u1', activity_timestamp: '2026-11-24T10:00:00.5Z', price: 'AQ==' },
  source: {
    version: 'brisk-0.1.0',
    connector: 'postgresql',
    name: 'cdc',
    ts_ms: 1_764_000_000_123,
    snapshot: 'false',
    db: 'shop',
    sequence: '["100","200"]',
    ts_us: 1_764_000_000_123_456,
    ts_ns: 1_764_000_000_123_456_000,
    schema: 'public',
    table: 'user_activity',
    txId: 77,
    lsn: 200,
    xmin: null,
  },
  op: 'c',
  ts_ms: 1_764_000_000_130,
  ts_us: 1_764_000_000_130_001,
  ts_ns: 1_764_000_000_130_001_000,
};

const bare = { topicPrefix: 'cdc', schemas: false, decimalHandling: 'precise' as const };
const wrapped = { ...bare, schemas: true };

describe('Debezium JSON on Kafka', () => {
  it('writes the bare envelope with exact nanoseconds', () => {
    const text = payloadJson(EVENT);
    const parsed = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual([
      'before',
      'after',
      'source',
      'transaction',
      'op',
      'ts_ms',
      'ts_us',
      'ts_ns',
    ]);
    expect(parsed.after).toEqual(EVENT.after);
    expect(text).toContain('"ts_ns":1764000000123456000,');
    expect(text).toContain('"ts_ns":1764000000130001000}');
    expect(valueJson(EVENT, COLUMNS, bare, new SchemaCache(bare))).toBe(text);
  });

  it('wraps value and key in {schema, payload} with the Connect types Debezium uses', () => {
    const cache = new SchemaCache(wrapped);
    const value = JSON.parse(valueJson(EVENT, COLUMNS, wrapped, cache)) as {
      schema: {
        name: string;
        fields: { field: string; fields?: { field: string; name?: string; type: string }[] }[];
      };
      payload: { op: string };
    };
    expect(value.payload.op).toBe('c');
    expect(value.schema.name).toBe('cdc.public.user_activity.Envelope');
    expect(value.schema.fields.map((f) => f.field)).toEqual([
      'before',
      'after',
      'source',
      'transaction',
      'op',
      'ts_ms',
      'ts_us',
      'ts_ns',
    ]);
    const after = value.schema.fields[1]!.fields!;
    expect(after.map((f) => [f.field, f.type, f.name])).toEqual([
      ['id', 'string', 'io.debezium.data.Uuid'],
      ['user_id', 'string', undefined],
      ['activity_timestamp', 'string', 'io.debezium.time.ZonedTimestamp'],
      ['price', 'bytes', 'org.apache.kafka.connect.data.Decimal'],
    ]);
    const key = JSON.parse(keyJson({ id: 'a1' }, 'public', 'user_activity', COLUMNS, wrapped, cache)) as {
      schema: { name: string; fields: { field: string; optional: boolean }[] };
      payload: unknown;
    };
    expect(key.payload).toEqual({ id: 'a1' });
    expect(key.schema.name).toBe('cdc.public.user_activity.Key');
    expect(key.schema.fields).toEqual([expect.objectContaining({ field: 'id', optional: false })]);
  });
});

describe('reading change messages', () => {
  const buffer = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

  it('reads both envelopes to the same event', () => {
    const plain = parseChangeMessage(buffer(JSON.parse(payloadJson(EVENT))));
    const withSchema = parseChangeMessage(
      buffer({ schema: { type: 'struct' }, payload: JSON.parse(payloadJson(EVENT)) }),
    );
    expect(plain.kind).toBe('event');
    expect(withSchema).toEqual(plain);
    if (plain.kind === 'event') {
      expect(plain.event.after).toEqual(EVENT.after);
      expect(plain.event.source.lsn).toBe(200);
    }
  });

  it('skips tombstones, heartbeats and logical messages', () => {
    expect(parseChangeMessage(null)).toEqual({ kind: 'skip', why: 'tombstone' });
    expect(parseChangeMessage(buffer({ schema: null, payload: null }))).toEqual({
      kind: 'skip',
      why: 'tombstone',
    });
    expect(parseChangeMessage(buffer({ ts_ms: 1 }))).toEqual({ kind: 'skip', why: 'heartbeat' });
    expect(parseChangeMessage(buffer({ ...JSON.parse(payloadJson(EVENT)), op: 'm' }))).toEqual({
      kind: 'skip',
      why: 'message',
    });
  });

  it.each([
    ['invalid JSON', '{"op": "c", '],
    ['binary', Buffer.from([0xff, 0xfe, 0x00, 0x81])],
    ['an array', '[1, 2]'],
    ['no op', { after: {}, source: {} }],
    ['an unknown op', { op: 'x', after: {}, source: {} }],
    ['no source', { op: 'c', after: {} }],
    ['a row that is not an object', { op: 'c', after: 'row', source: {} }],
  ])('names %s as a poison message', (_, value) => {
    const parsed = parseChangeMessage(Buffer.isBuffer(value) ? value : buffer(value));
    expect(parsed.kind).toBe('poison');
    if (parsed.kind === 'poison') {
      expect(parsed.code).toBe('BRISK_KAFKA_MESSAGE_INVALID');
      expect(parsed.message.length).toBeGreaterThan(10);
    }
  });
});
