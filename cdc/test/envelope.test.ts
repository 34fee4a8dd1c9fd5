import { fixedClock } from '@brisk/core';
import { describe, expect, it } from 'vitest';
import {
  buildEvent,
  buildSource,
  CONNECTOR_VERSION,
  type EnvelopeOptions,
  keyFromRow,
  rowFromTuple,
  type TransactionContext,
} from '../src/envelope.ts';
import { type Relation, type Tuple, UNCHANGED_TOAST } from '../src/pgoutput.ts';

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

const TUPLE: Tuple = [
  'a1b2c3d4-e5f6-7890-1234-567890abcdef',
  'user-123',
  'VIEW_PRODUCT',
  'prod-456',
  '2026-11-24 11:00:00.123456+00',
];

const ROW = {
  id: 'a1b2c3d4-e5f6-7890-1234-567890abcdef',
  user_id: 'user-123',
  activity_type: 'VIEW_PRODUCT',
  product_id: 'prod-456',
  activity_timestamp: '2026-11-24T11:00:00.123456Z',
};

const COMMIT_US = Date.UTC(2026, 10, 24, 11, 0, 0) * 1000 + 654_321;
const NOW_US = COMMIT_US + 2_345_678;

function options(nowUs = NOW_US): EnvelopeOptions {
  const clock = fixedClock(nowUs);
  return { topicPrefix: 'cdc', database: 'shop', decimalHandling: 'precise', nowUs: () => clock.nowUs() };
}

const TX: TransactionContext = { xid: 771, commitTimeUs: COMMIT_US, lastCommitLsn: 23_803_720 };

describe('rowFromTuple', () => {
  it('names every column, in relation order, with Debezium values', () => {
    const row = rowFromTuple(ACTIVITY, TUPLE, options());
    expect(row).toEqual(ROW);
    expect(Object.keys(row)).toEqual(['id', 'user_id', 'activity_type', 'product_id', 'activity_timestamp']);
  });

  it('key-only (REPLICA IDENTITY DEFAULT delete): non-key columns are null even if the tuple has values', () => {
    expect(rowFromTuple(ACTIVITY, TUPLE, options(), true)).toEqual({
      id: ROW.id,
      user_id: null,
      activity_type: null,
      product_id: null,
      activity_timestamp: null,
    });
  });

  it('an unchanged TOASTed column becomes the Debezium placeholder, a null stays null', () => {
    const row = rowFromTuple(ACTIVITY, [TUPLE[0]!, 'user-123', 'PURCHASE', UNCHANGED_TOAST, null], options());
    expect(row.product_id).toBe('__debezium_unavailable_value');
    expect(row.activity_timestamp).toBeNull();
  });

  it('uses the relation column types (numeric with typmod)', () => {
    const priced: Relation = {
      ...ACTIVITY,
      columns: [
        { name: 'id', typeOid: 23, typeMod: -1, isKey: true },
        { name: 'price', typeOid: 1700, typeMod: ((10 << 16) | 2) + 4, isKey: false },
      ],
    };
    expect(rowFromTuple(priced, ['7', '12.50'], options())).toEqual({ id: 7, price: 'BOI=' });
    expect(rowFromTuple(priced, ['7', '12.50'], { decimalHandling: 'string' })).toEqual({
      id: 7,
      price: '12.50',
    });
  });
});

describe('keyFromRow', () => {
  it('the message key is the primary-key columns', () => {
    expect(keyFromRow(ACTIVITY, ROW)).toEqual({ id: ROW.id });
  });

  it('a composite key keeps every key column, in column order', () => {
    const composite: Relation = {
      ...ACTIVITY,
      columns: ACTIVITY.columns.map((c) => ({ ...c, isKey: c.name === 'user_id' || c.name === 'id' })),
    };
    const key = keyFromRow(composite, ROW);
    expect(key).toEqual({ id: ROW.id, user_id: 'user-123' });
    expect(Object.keys(key!)).toEqual(['id', 'user_id']);
  });

  it('null for a table without a key, and for no row', () => {
    const keyless: Relation = { ...ACTIVITY, columns: ACTIVITY.columns.map((c) => ({ ...c, isKey: false })) };
    expect(keyFromRow(keyless, ROW)).toBeNull();
    expect(keyFromRow(ACTIVITY, null)).toBeNull();
  });
});

describe('buildSource (Debezium PostgreSQL source block)', () => {
  it('has exactly the Debezium fields', () => {
    const source = buildSource(ACTIVITY, TX, 23_803_800, options());
    expect(Object.keys(source).sort()).toEqual(
      [
        'version',
        'connector',
        'name',
        'ts_ms',
        'snapshot',
        'db',
        'sequence',
        'ts_us',
        'ts_ns',
        'schema',
        'table',
        'txId',
        'lsn',
        'xmin',
      ].sort(),
    );
  });

  it('fills every field from the transaction, the change LSN and the options', () => {
    expect(buildSource(ACTIVITY, TX, 23_803_800, options())).toEqual({
      version: CONNECTOR_VERSION,
      connector: 'postgresql',
      name: 'cdc',
      ts_ms: Date.UTC(2026, 10, 24, 11, 0, 0) + 654,
      snapshot: 'false',
      db: 'shop',
      sequence: '["23803720","23803800"]',
      ts_us: COMMIT_US,
      ts_ns: COMMIT_US * 1000,
      schema: 'public',
      table: 'user_activity',
      txId: 771,
      lsn: 23_803_800,
      xmin: null,
    });
  });

  it('sequence is a JSON array of two strings, the first null before any commit was seen', () => {
    const source = buildSource(ACTIVITY, { ...TX, lastCommitLsn: null }, 23_803_800, options());
    expect(source.sequence).toBe('[null,"23803800"]');
    expect(JSON.parse(source.sequence)).toEqual([null, '23803800']);
    const big = buildSource(ACTIVITY, { ...TX, lastCommitLsn: 2 ** 53 - 2 }, 2 ** 53 - 1, options());
    expect(JSON.parse(big.sequence)).toEqual(['9007199254740990', '9007199254740991']);
  });

  it('ts_ms is the commit time, not the processing time (the clock is not read)', () => {
    let reads = 0;
    const source = buildSource(ACTIVITY, TX, 1, { ...options(), nowUs: () => reads++ });
    expect(reads).toBe(0);
    expect(source.ts_ms).toBe(Math.floor(COMMIT_US / 1000));
  });

  it('uses the given topic prefix and database', () => {
    const source = buildSource({ schema: 'app', table: 'log' }, TX, 5, {
      ...options(),
      topicPrefix: 'cdc.app_server_1',
      database: 'app_db',
    });
    expect([source.name, source.db, source.schema, source.table]).toEqual([
      'cdc.app_server_1',
      'app_db',
      'app',
      'log',
    ]);
  });
});

describe('buildEvent (Debezium envelope)', () => {
  const source = buildSource(ACTIVITY, TX, 23_803_800, options());

  it('has exactly {before, after, source, op, ts_ms, ts_us, ts_ns}, times from the injected clock', () => {
    const event = buildEvent('c', null, ROW, source, options());
    expect(event).toEqual({
      before: null,
      after: ROW,
      source,
      op: 'c',
      ts_ms: Math.floor(NOW_US / 1000),
      ts_us: NOW_US,
      ts_ns: NOW_US * 1000,
    });
    expect(Object.keys(event).sort()).toEqual(['after', 'before', 'op', 'source', 'ts_ms', 'ts_ns', 'ts_us']);
  });

  it('reads the clock once, so the three processing times agree', () => {
    let now = NOW_US;
    const event = buildEvent('d', ROW, null, source, { ...options(), nowUs: () => now++ });
    expect([event.ts_us, event.ts_ms, event.ts_ns]).toEqual([
      NOW_US,
      Math.floor(NOW_US / 1000),
      NOW_US * 1000,
    ]);
  });

  it.each([
    ['c', null, ROW],
    ['u', null, ROW],
    ['u', ROW, { ...ROW, user_id: 'user-9' }],
    ['d', { ...ROW, user_id: null, activity_type: null, product_id: null, activity_timestamp: null }, null],
    ['r', null, ROW],
    ['t', null, null],
  ] as const)('op %s carries before/after as given', (op, before, after) => {
    const event = buildEvent(op, before, after, source, options());
    expect([event.op, event.before, event.after]).toEqual([op, before, after]);
  });

  it('survives JSON serialisation unchanged (no undefined, symbols or bigints)', () => {
    const event = buildEvent(
      'c',
      null,
      rowFromTuple(ACTIVITY, [TUPLE[0]!, 'u', 'VIEW_PRODUCT', UNCHANGED_TOAST, null], options()),
      source,
      options(),
    );
    expect(JSON.parse(JSON.stringify(event))).toEqual(event);
  });
});
