import {
  buildEvent,
  buildSource,
  type ChangeEvent,
  type DebeziumOp,
  type Relation,
  rowFromTuple,
  type Tuple,
} from '@brisk/cdc';
import { fixedClock } from '@brisk/core';
import { describe, expect, it } from 'vitest';
import { type ParseResult, parseActivityEvent, timestampMicros } from '../src/activity.ts';

const SOURCE = { schema: 'public', table: 'user_activity' };

// biome-ignore lint/suspicious/noExplicitAny: the tests reshape parsed JSON freely, as a broken producer would.
type Json = any;

const ACTIVITY: Relation = {
  oid: 16_384,
  schema: 'public',
  table: 'user_activity',
  replicaIdentity: 'default',
  columns: [
    { name: 'id', typeOid: 2950, typeMod: -1, isKey: true },
    { name: 'user_id', typeOid: 1043, typeMod: 259, isKey: false },
    { name: 'activity_type', typeOid: 1043, typeMod: 54, isKey: false },
    { name: 'product_id', typeOid: 1043, typeMod: 259, isKey: false },
    { name: 'activity_timestamp', typeOid: 1184, typeMod: -1, isKey: false },
  ],
};

const ROW_ID = 'a1b2c3d4-e5f6-7890-1234-567890abcdef';
const EVENT_US = Date.UTC(2026, 10, 24, 11, 0, 0) * 1000 + 123_456;
const COMMIT_US = EVENT_US + 1_500;
const TUPLE: Tuple = [ROW_ID, 'user-123', 'VIEW_PRODUCT', 'prod-456', '2026-11-24 11:00:00.123456+00'];

/** An event exactly as Brisk's connector builds it, from a pgoutput tuple. */
function brisk(
  op: DebeziumOp,
  tuples: { before?: Tuple; beforeKeyOnly?: boolean; after?: Tuple },
  lsn = 23_803_800,
  lastCommitLsn: number | null = 23_803_720,
): ChangeEvent {
  const options = {
    topicPrefix: 'cdc',
    database: 'shop',
    decimalHandling: 'precise' as const,
    nowUs: () => fixedClock(COMMIT_US + 9_000).nowUs(),
  };
  const before = tuples.before ? rowFromTuple(ACTIVITY, tuples.before, options, tuples.beforeKeyOnly) : null;
  const after = tuples.after ? rowFromTuple(ACTIVITY, tuples.after, options) : null;
  const source = buildSource(ACTIVITY, { xid: 771, commitTimeUs: COMMIT_US, lastCommitLsn }, lsn, options);
  return buildEvent(op, before, after, source, options);
}

/** A value as a real Debezium 2.x PostgreSQL connector writes it (schemas disabled), straight off Kafka. */
const DEBEZIUM_2X = `{
  "before": null,
  "after": {
    "id": "a1b2c3d4-e5f6-7890-1234-567890abcdef",
    "user_id": "user-123",
    "activity_type": "VIEW_PRODUCT",
    "product_id": "prod-456",
    "activity_timestamp": "2023-03-15T13:20:00.123456Z"
  },
  "source": {
    "version": "2.7.3.Final",
    "connector": "postgresql",
    "name": "cdc",
    "ts_ms": 1678886400123,
    "snapshot": "false",
    "db": "app_db",
    "sequence": "[\\"24023119\\",\\"24023128\\"]",
    "ts_us": 1678886400123456,
    "ts_ns": 1678886400123456000,
    "schema": "public",
    "table": "user_activity",
    "txId": 555,
    "lsn": 24023128,
    "xmin": null
  },
  "op": "c",
  "ts_ms": 1678886400200,
  "ts_us": 1678886400200000,
  "ts_ns": 1678886400200000000
}`;

/** The seed article's sample payload: epoch milliseconds, a Debezium 1.x source block (no ts_us). */
const SEED_SAMPLE = `{
  "before": null,
  "after": {
    "id": "a1b2c3d4-e5f6-7890-1234-567890abcdef",
    "user_id": "user-123",
    "activity_type": "VIEW_PRODUCT",
    "product_id": "prod-456",
    "activity_timestamp": 1678886400000
  },
  "source": {
    "version": "1.9.7.Final", "connector": "postgresql", "name": "app_server_1", "ts_ms": 1678886400100,
    "snapshot": "false", "db": "app_db", "sequence": "[null,\\"24023128\\"]", "schema": "public",
    "table": "user_activity", "txId": 555, "lsn": 24023128, "xmin": null
  },
  "op": "c",
  "ts_ms": 1678886400123
}`;

const parse = (event: unknown): ParseResult => parseActivityEvent(event as ChangeEvent, SOURCE);

function debezium(patch: (event: Json) => void): Json {
  const event = JSON.parse(DEBEZIUM_2X);
  patch(event);
  return event;
}

describe("Brisk's connector output", () => {
  it('an insert is an upsert with the row, the position and the commit time', () => {
    expect(parse(brisk('c', { after: TUPLE }))).toEqual({
      ok: true,
      change: {
        kind: 'upsert',
        rowId: ROW_ID,
        userId: 'user-123',
        previousUserId: null,
        isNew: true,
        row: { type: 'VIEW_PRODUCT', productId: 'prod-456', eventUs: EVENT_US },
        position: { order: 23_803_720, lsn: 23_803_800 },
        commitUs: COMMIT_US,
      },
      warning: null,
    });
  });

  it('order falls back to the LSN when sequence starts with null (first transaction seen)', () => {
    const result = parse(brisk('c', { after: TUPLE }, 500, null));
    expect(result.ok === true && result.change.position).toEqual({ order: 500, lsn: 500 });
  });

  it('a snapshot read is new; an update is not', () => {
    const read = parse(brisk('r', { after: TUPLE }));
    const update = parse(brisk('u', { after: TUPLE }));
    expect(read.ok === true && read.change.kind === 'upsert' && read.change.isNew).toBe(true);
    expect(update.ok === true && update.change.kind === 'upsert' && update.change.isNew).toBe(false);
  });

  it('a delete under REPLICA IDENTITY DEFAULT carries only the key: userId null', () => {
    expect(parse(brisk('d', { before: TUPLE, beforeKeyOnly: true }))).toEqual({
      ok: true,
      change: {
        kind: 'delete',
        rowId: ROW_ID,
        userId: null,
        position: { order: 23_803_720, lsn: 23_803_800 },
        commitUs: COMMIT_US,
      },
      warning: null,
    });
  });

  it('a delete with the full old row names its user', () => {
    const result = parse(brisk('d', { before: TUPLE }));
    expect(result.ok === true && result.change).toMatchObject({
      kind: 'delete',
      rowId: ROW_ID,
      userId: 'user-123',
    });
  });

  it('an update whose full before names another user reports previousUserId', () => {
    const moved: Tuple = [ROW_ID, 'user-999', 'VIEW_PRODUCT', 'prod-456', TUPLE[4]!];
    const result = parse(brisk('u', { before: TUPLE, after: moved }));
    expect(result.ok === true && result.change).toMatchObject({
      kind: 'upsert',
      userId: 'user-999',
      previousUserId: 'user-123',
      isNew: false,
    });
    const same = parse(brisk('u', { before: TUPLE, after: TUPLE }));
    expect(same.ok === true && same.change.kind === 'upsert' && same.change.previousUserId).toBeNull();
  });

  it('a truncate is a truncate at its position', () => {
    expect(parse(brisk('t', {}))).toEqual({
      ok: true,
      change: { kind: 'truncate', position: { order: 23_803_720, lsn: 23_803_800 }, commitUs: COMMIT_US },
      warning: null,
    });
  });
});

describe('a real Debezium connector', () => {
  it('2.x: ZonedTimestamp string, sequence, ts_us', () => {
    expect(parse(JSON.parse(DEBEZIUM_2X))).toEqual({
      ok: true,
      change: {
        kind: 'upsert',
        rowId: ROW_ID,
        userId: 'user-123',
        previousUserId: null,
        isNew: true,
        row: { type: 'VIEW_PRODUCT', productId: 'prod-456', eventUs: 1_678_886_400_123_456 },
        position: { order: 24_023_119, lsn: 24_023_128 },
        commitUs: 1_678_886_400_123_456,
      },
      warning: null,
    });
  });

  it("the seed article's sample: epoch milliseconds, no ts_us, null first sequence element", () => {
    const result = parse(JSON.parse(SEED_SAMPLE));
    expect(result.ok).toBe(true);
    expect(result.ok === true && result.change).toMatchObject({
      row: { eventUs: 1_678_886_400_000_000 },
      position: { order: 24_023_128, lsn: 24_023_128 },
      commitUs: 1_678_886_400_100_000,
    });
  });

  it('MicroTimestamp epoch microseconds', () => {
    const result = parse(debezium((e) => (e.after.activity_timestamp = 1_678_886_400_123_456)));
    expect(result.ok === true && result.change.kind === 'upsert' && result.change.row.eventUs).toBe(
      1_678_886_400_123_456,
    );
  });

  it('a key-only delete (before has the key, the rest null, after null)', () => {
    const result = parse(
      debezium((e) => {
        e.op = 'd';
        e.before = {
          id: ROW_ID,
          user_id: null,
          activity_type: null,
          product_id: null,
          activity_timestamp: null,
        };
        e.after = null;
      }),
    );
    expect(result.ok === true && result.change).toEqual({
      kind: 'delete',
      rowId: ROW_ID,
      userId: null,
      position: { order: 24_023_119, lsn: 24_023_128 },
      commitUs: 1_678_886_400_123_456,
    });
  });

  it.each([
    ['another table', (e: Json) => (e.source.table = 'product')],
    ['another schema', (e: Json) => (e.source.schema = 'audit')],
    ['a logical message', (e: Json) => (e.op = 'm')],
  ])('%s is skipped', (_, patch) => {
    expect(parse(debezium(patch))).toEqual({ ok: 'skip' });
  });
});

describe('dead letters', () => {
  const cases: [string, (e: Json) => void, string][] = [
    ['no source block', (e) => delete e.source, 'BRISK_EVENT_MALFORMED'],
    ['missing after (c)', (e) => delete e.after, 'BRISK_EVENT_MALFORMED'],
    [
      'null after (u)',
      (e) => {
        e.op = 'u';
        e.after = null;
      },
      'BRISK_EVENT_MALFORMED',
    ],
    ['after is an array', (e) => (e.after = [1]), 'BRISK_EVENT_MALFORMED'],
    ['missing id', (e) => delete e.after.id, 'BRISK_EVENT_MISSING_FIELD'],
    ['empty id', (e) => (e.after.id = ''), 'BRISK_EVENT_MISSING_FIELD'],
    ['missing user_id', (e) => delete e.after.user_id, 'BRISK_EVENT_MISSING_FIELD'],
    ['null user_id', (e) => (e.after.user_id = null), 'BRISK_EVENT_MISSING_FIELD'],
    ['empty user_id', (e) => (e.after.user_id = ''), 'BRISK_EVENT_INVALID_USER_ID'],
    ['control character in user_id', (e) => (e.after.user_id = 'user\u0000x'), 'BRISK_EVENT_INVALID_USER_ID'],
    ['256-character user_id', (e) => (e.after.user_id = 'u'.repeat(256)), 'BRISK_EVENT_INVALID_USER_ID'],
    ['missing activity_type', (e) => delete e.after.activity_type, 'BRISK_EVENT_MISSING_FIELD'],
    ['empty activity_type', (e) => (e.after.activity_type = ''), 'BRISK_EVENT_MISSING_FIELD'],
    [
      'unparseable timestamp',
      (e) => (e.after.activity_timestamp = 'yesterday'),
      'BRISK_EVENT_INVALID_TIMESTAMP',
    ],
    ['null timestamp', (e) => (e.after.activity_timestamp = null), 'BRISK_EVENT_INVALID_TIMESTAMP'],
    ['missing source.lsn', (e) => delete e.source.lsn, 'BRISK_EVENT_MALFORMED'],
    ['non-numeric source.lsn', (e) => (e.source.lsn = '24023128'), 'BRISK_EVENT_MALFORMED'],
    ['unknown op', (e) => (e.op = 'x'), 'BRISK_EVENT_MALFORMED'],
    [
      'delete without before',
      (e) => {
        e.op = 'd';
        e.before = null;
      },
      'BRISK_EVENT_MALFORMED',
    ],
    [
      'delete without before.id',
      (e) => {
        e.op = 'd';
        e.before = { user_id: 'u' };
      },
      'BRISK_EVENT_MISSING_FIELD',
    ],
  ];

  it.each(cases)('%s -> rejected with %s, carrying the event', (_, patch, code) => {
    const event = debezium(patch);
    const result = parse(event);
    expect(result.ok).toBe(false);
    if (result.ok !== false) return;
    expect({ code: result.deadLetter.code, disposition: result.deadLetter.disposition }).toEqual({
      code,
      disposition: 'rejected',
    });
    expect(result.deadLetter.event).toBe(event);
    expect(result.deadLetter.message.length).toBeGreaterThan(10);
  });

  it('never throws, whatever the input', () => {
    for (const junk of [null, undefined, 42, 'text', [], {}, { source: null }, { source: 'x', op: 'c' }]) {
      const result = parse(junk);
      expect(result.ok === false && result.deadLetter.code).toBe('BRISK_EVENT_MALFORMED');
    }
  });

  it('VIEW_PRODUCT without product_id is kept, with a warning dead letter', () => {
    for (const missing of [null, '']) {
      const event = debezium((e) => (e.after.product_id = missing));
      const result = parse(event);
      expect(result.ok).toBe(true);
      if (result.ok !== true) return;
      expect(result.change.kind === 'upsert' && result.change.row).toEqual({
        type: 'VIEW_PRODUCT',
        productId: null,
        eventUs: 1_678_886_400_123_456,
      });
      expect(result.warning).toMatchObject({
        code: 'BRISK_EVENT_MISSING_PRODUCT',
        disposition: 'kept',
        event,
      });
    }
  });

  it('an unknown activity type is kept, and needs no product', () => {
    const result = parse(
      debezium((e) => {
        e.after.activity_type = 'SEARCH';
        e.after.product_id = null;
      }),
    );
    expect(result.ok === true && result.change.kind === 'upsert' && result.change.row.type).toBe('SEARCH');
    expect(result.ok === true && result.warning).toBeNull();
  });
});

describe('timestampMicros', () => {
  it.each([
    ['epoch millis (seed sample)', 1_678_886_400_000, 1_678_886_400_000_000],
    ['epoch micros (MicroTimestamp)', 1_678_886_400_123_456, 1_678_886_400_123_456],
    ['epoch nanos', 1_678_886_400_123_456_000, 1_678_886_400_123_456],
    ['largest millis', 99_999_999_999_999, 99_999_999_999_999_000],
    ['smallest micros', 1e14, 1e14],
    ['negative millis', -1_000, -1_000_000],
    ['zero', 0, 0],
    ['ISO string', '2023-03-15T13:20:00.123456Z', 1_678_886_400_123_456],
    ['PostgreSQL text', '2023-03-15 14:20:00.123456+01', 1_678_886_400_123_456],
  ])('%s: %j -> %d', (_, input, us) => {
    expect(timestampMicros(input)).toBe(us);
  });

  it.each([NaN, Infinity, '1678886400000', 'yesterday', true, null, undefined, {}])('%j -> null', (input) => {
    expect(timestampMicros(input)).toBeNull();
  });
});
