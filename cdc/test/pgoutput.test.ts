import { BriskError, type ErrorCode } from '@brisk/core';
import { describe, expect, it } from 'vitest';
import { PgoutputDecoder, type PgoutputMessage, type RawValue, UNCHANGED_TOAST } from '../src/pgoutput.ts';

/**
 * pgoutput protocol-1 messages written byte by byte, following
 * https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
 */
class Bytes {
  private readonly parts: Buffer[] = [];
  int8(value: number): this {
    this.parts.push(Buffer.from([value & 0xff]));
    return this;
  }
  char(letter: string): this {
    return this.int8(letter.charCodeAt(0));
  }
  int16(value: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(value);
    this.parts.push(b);
    return this;
  }
  int32(value: number): this {
    const b = Buffer.alloc(4);
    if (value > 0x7fffffff) b.writeUInt32BE(value);
    else b.writeInt32BE(value);
    this.parts.push(b);
    return this;
  }
  int64(value: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(value);
    this.parts.push(b);
    return this;
  }
  cstring(text: string): this {
    this.parts.push(Buffer.from(text, 'utf8'), Buffer.from([0]));
    return this;
  }
  raw(bytes: Buffer): this {
    this.parts.push(bytes);
    return this;
  }
  tuple(values: readonly RawValue[]): this {
    this.int16(values.length);
    for (const value of values) {
      if (value === null) this.char('n');
      else if (value === UNCHANGED_TOAST) this.char('u');
      else {
        const bytes = Buffer.from(value, 'utf8');
        this.char('t').int32(bytes.length).raw(bytes);
      }
    }
    return this;
  }
  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const PG_EPOCH_US = 946_684_800_000_000n;
const UNIX_2026_US = BigInt(Date.UTC(2026, 10, 24, 13, 0, 0)) * 1000n + 123_456n;

interface ColumnSpec {
  name: string;
  typeOid: number;
  typeMod: number;
  key?: boolean;
}

const ACTIVITY_COLUMNS: ColumnSpec[] = [
  { name: 'id', typeOid: 2950, typeMod: -1, key: true },
  { name: 'user_id', typeOid: 1043, typeMod: 259 },
  { name: 'activity_type', typeOid: 1043, typeMod: 54 },
  { name: 'product_id', typeOid: 1043, typeMod: 259 },
  { name: 'activity_timestamp', typeOid: 1184, typeMod: -1 },
];
const OID = 16_384;

function relationMessage(
  oid = OID,
  columns: ColumnSpec[] = ACTIVITY_COLUMNS,
  identity = 'd',
  schema = 'public',
  table = 'user_activity',
): Buffer {
  const b = new Bytes()
    .char('R')
    .int32(oid)
    .cstring(schema)
    .cstring(table)
    .char(identity)
    .int16(columns.length);
  for (const c of columns)
    b.int8(c.key ? 1 : 0)
      .cstring(c.name)
      .int32(c.typeOid)
      .int32(c.typeMod);
  return b.build();
}

const ROW: RawValue[] = [
  'a1b2c3d4-e5f6-7890-1234-567890abcdef',
  'user-123',
  'VIEW_PRODUCT',
  'prod-456',
  '2026-11-24 13:00:00.123456+00',
];
const KEY_ONLY: RawValue[] = [ROW[0]!, null, null, null, null];

const insert = (values: readonly RawValue[], oid = OID) =>
  new Bytes().char('I').int32(oid).char('N').tuple(values).build();

function decoderWithRelation(): PgoutputDecoder {
  const decoder = new PgoutputDecoder();
  decoder.decode(relationMessage());
  return decoder;
}

function protocolFailure(decoder: PgoutputDecoder, message: Buffer): ErrorCode | string {
  try {
    decoder.decode(message);
  } catch (error) {
    return error instanceof BriskError ? error.code : `not a BriskError: ${String(error)}`;
  }
  return 'nothing thrown';
}

describe('transaction boundaries', () => {
  it('Begin: final LSN, commit time in Unix microseconds, xid', () => {
    const message = new Bytes()
      .char('B')
      .int64(0x16_b374_d848n)
      .int64(UNIX_2026_US - PG_EPOCH_US)
      .int32(0xffff_fff0)
      .build();
    expect(new PgoutputDecoder().decode(message)).toEqual({
      tag: 'begin',
      finalLsn: 0x16 * 2 ** 32 + 0xb374d848,
      commitTimeUs: Number(UNIX_2026_US),
      xid: 4_294_967_280,
    });
  });

  it('converts the PostgreSQL epoch and times before it (negative int64)', () => {
    const at = (pgUs: bigint) =>
      new PgoutputDecoder().decode(new Bytes().char('B').int64(1n).int64(pgUs).int32(7).build());
    expect(at(0n)).toMatchObject({ commitTimeUs: 946_684_800_000_000 });
    expect(at(-1n)).toMatchObject({ commitTimeUs: 946_684_799_999_999 });
    expect(at(-PG_EPOCH_US)).toMatchObject({ commitTimeUs: 0 });
    expect(at(2n ** 32n + 5n)).toMatchObject({ commitTimeUs: 946_684_800_000_000 + 2 ** 32 + 5 });
  });

  it('Commit: commit LSN, end LSN, commit time', () => {
    const message = new Bytes()
      .char('C')
      .int8(0)
      .int64(0x16b3748n)
      .int64(0x16b3780n)
      .int64(UNIX_2026_US - PG_EPOCH_US)
      .build();
    expect(new PgoutputDecoder().decode(message)).toEqual({
      tag: 'commit',
      commitLsn: 0x16b3748,
      endLsn: 0x16b3780,
      commitTimeUs: Number(UNIX_2026_US),
    });
  });

  it('logical message (M): transactional flag, prefix, content', () => {
    const content = Buffer.from('{"beat":1}');
    const message = new Bytes()
      .char('M')
      .int8(1)
      .int64(99n)
      .cstring('brisk-heartbeat')
      .int32(content.length)
      .raw(content)
      .build();
    const decoded = new PgoutputDecoder().decode(message);
    expect(decoded).toMatchObject({ tag: 'message', transactional: true, prefix: 'brisk-heartbeat' });
    expect(decoded.tag === 'message' && decoded.content.toString()).toBe('{"beat":1}');
  });
});

describe('Relation', () => {
  it('decodes the relation and its columns (flag 1 = key)', () => {
    expect(new PgoutputDecoder().decode(relationMessage())).toEqual({
      tag: 'relation',
      relation: {
        oid: OID,
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
      },
    });
  });

  it.each([
    ['d', 'default'],
    ['n', 'nothing'],
    ['f', 'full'],
    ['i', 'index'],
  ])("replica identity '%s' is %s", (byte, identity) => {
    const decoded = new PgoutputDecoder().decode(relationMessage(OID, ACTIVITY_COLUMNS, byte));
    expect(decoded.tag === 'relation' && decoded.relation.replicaIdentity).toBe(identity);
  });

  it('an empty namespace is pg_catalog; names may be UTF-8', () => {
    const decoded = new PgoutputDecoder().decode(relationMessage(1, [], 'f', '', 'tâble_ü'));
    expect(decoded).toMatchObject({ relation: { schema: 'pg_catalog', table: 'tâble_ü', columns: [] } });
  });

  it('an unknown replica identity is a protocol error', () => {
    expect(protocolFailure(new PgoutputDecoder(), relationMessage(OID, ACTIVITY_COLUMNS, 'x'))).toBe(
      'BRISK_PGOUTPUT_PROTOCOL',
    );
  });

  it('changes refer to the cached relation; a re-announced relation replaces it', () => {
    const decoder = new PgoutputDecoder();
    const first = decoder.decode(relationMessage());
    const change = decoder.decode(insert(ROW));
    expect(first.tag === 'relation' && change.tag === 'insert' && change.relation === first.relation).toBe(
      true,
    );

    const widened = [...ACTIVITY_COLUMNS, { name: 'note', typeOid: 25, typeMod: -1 }];
    decoder.decode(relationMessage(OID, widened));
    const after = decoder.decode(insert([...ROW, 'hello']));
    expect(after.tag === 'insert' && after.relation.columns.map((c) => c.name)).toEqual([
      'id',
      'user_id',
      'activity_type',
      'product_id',
      'activity_timestamp',
      'note',
    ]);
    expect(after.tag === 'insert' && after.after).toEqual([...ROW, 'hello']);
    // The old 5-column shape no longer decodes.
    expect(protocolFailure(decoder, insert(ROW))).toBe('BRISK_PGOUTPUT_PROTOCOL');
  });

  it('each decoder has its own cache (a new connection must see Relation again)', () => {
    decoderWithRelation();
    expect(protocolFailure(new PgoutputDecoder(), insert(ROW))).toBe('BRISK_PGOUTPUT_PROTOCOL');
  });
});

describe('row changes', () => {
  it('Insert: text values decoded as UTF-8, null, empty string, unchanged TOAST', () => {
    const values: RawValue[] = ['k', 'ユーザー-ß-\u{1F600}', '', null, UNCHANGED_TOAST];
    const decoded = decoderWithRelation().decode(insert(values));
    expect(decoded.tag).toBe('insert');
    expect(decoded.tag === 'insert' && decoded.after).toEqual(values);
    expect(decoded.tag === 'insert' && decoded.after[4]).toBe(UNCHANGED_TOAST);
  });

  it('Update without an old tuple (REPLICA IDENTITY DEFAULT, key unchanged)', () => {
    const message = new Bytes().char('U').int32(OID).char('N').tuple(ROW).build();
    expect(decoderWithRelation().decode(message)).toMatchObject({
      tag: 'update',
      before: null,
      beforeIsKeyOnly: false,
      after: ROW,
    });
  });

  it("Update with 'K' (key changed): key-only old tuple", () => {
    const newRow = ['new-id', ...ROW.slice(1)];
    const message = new Bytes()
      .char('U')
      .int32(OID)
      .char('K')
      .tuple(KEY_ONLY)
      .char('N')
      .tuple(newRow)
      .build();
    expect(decoderWithRelation().decode(message)).toMatchObject({
      tag: 'update',
      before: KEY_ONLY,
      beforeIsKeyOnly: true,
      after: newRow,
    });
  });

  it("Update with 'O' (REPLICA IDENTITY FULL): full old tuple; unchanged TOAST in the new one", () => {
    const newRow: RawValue[] = [ROW[0]!, 'user-999', 'PURCHASE', UNCHANGED_TOAST, ROW[4]!];
    const message = new Bytes().char('U').int32(OID).char('O').tuple(ROW).char('N').tuple(newRow).build();
    const decoded = decoderWithRelation().decode(message);
    expect(decoded).toMatchObject({ tag: 'update', before: ROW, beforeIsKeyOnly: false });
    expect(decoded.tag === 'update' && decoded.after[3]).toBe(UNCHANGED_TOAST);
  });

  it("Update whose new tuple is not announced by 'N' is a protocol error", () => {
    const message = new Bytes().char('U').int32(OID).char('K').tuple(KEY_ONLY).char('X').tuple(ROW).build();
    expect(protocolFailure(decoderWithRelation(), message)).toBe('BRISK_PGOUTPUT_PROTOCOL');
  });

  it.each([
    ['K', KEY_ONLY, true],
    ['O', ROW, false],
  ] as const)("Delete with '%s'", (kind, tuple, keyOnly) => {
    const message = new Bytes().char('D').int32(OID).char(kind).tuple(tuple).build();
    const decoded = decoderWithRelation().decode(message);
    expect(decoded).toMatchObject({ tag: 'delete', before: tuple, beforeIsKeyOnly: keyOnly });
    expect(decoded.tag === 'delete' && decoded.relation.table).toBe('user_activity');
  });

  it("Delete with 'N' is a protocol error", () => {
    const message = new Bytes().char('D').int32(OID).char('N').tuple(ROW).build();
    expect(protocolFailure(decoderWithRelation(), message)).toBe('BRISK_PGOUTPUT_PROTOCOL');
  });

  it.each([
    [0, false, false],
    [1, true, false],
    [2, false, true],
    [3, true, true],
  ])('Truncate with options %d: cascade %s, restart identity %s', (options, cascade, restartIdentity) => {
    const decoder = decoderWithRelation();
    decoder.decode(relationMessage(OID + 1, ACTIVITY_COLUMNS.slice(0, 1), 'd', 'public', 'product'));
    const decoded = decoder.decode(
      new Bytes()
        .char('T')
        .int32(2)
        .int8(options)
        .int32(OID + 1)
        .int32(OID)
        .build(),
    );
    expect(decoded.tag).toBe('truncate');
    if (decoded.tag !== 'truncate') return;
    expect(decoded.relations.map((r) => r.table)).toEqual(['product', 'user_activity']);
    expect({ cascade: decoded.cascade, restartIdentity: decoded.restartIdentity }).toEqual({
      cascade,
      restartIdentity,
    });
  });
});

describe('protocol errors (BRISK_PGOUTPUT_PROTOCOL)', () => {
  it.each(['Z', 'S', 'E', 'b'])("unknown message tag '%s'", (tag) => {
    expect(protocolFailure(new PgoutputDecoder(), new Bytes().char(tag).int32(0).build())).toBe(
      'BRISK_PGOUTPUT_PROTOCOL',
    );
  });

  it('a change (insert, update, delete, truncate) before its Relation', () => {
    const decoder = decoderWithRelation();
    const other = OID + 7;
    const messages = [
      insert(ROW, other),
      new Bytes().char('U').int32(other).char('N').tuple(ROW).build(),
      new Bytes().char('D').int32(other).char('K').tuple(KEY_ONLY).build(),
      new Bytes().char('T').int32(1).int8(0).int32(other).build(),
    ];
    expect(messages.map((m) => protocolFailure(decoder, m))).toEqual(
      messages.map(() => 'BRISK_PGOUTPUT_PROTOCOL'),
    );
  });

  it('a tuple whose column count differs from the relation', () => {
    const decoder = decoderWithRelation();
    expect(protocolFailure(decoder, insert(ROW.slice(0, 4)))).toBe('BRISK_PGOUTPUT_PROTOCOL');
    expect(protocolFailure(decoder, insert([...ROW, 'extra']))).toBe('BRISK_PGOUTPUT_PROTOCOL');
  });

  it("a binary ('b') or unknown column kind", () => {
    const message = new Bytes().char('I').int32(OID).char('N').int16(5).char('b').int32(1).int8(1).build();
    expect(protocolFailure(decoderWithRelation(), message)).toBe('BRISK_PGOUTPUT_PROTOCOL');
  });

  it("an Insert without 'N'", () => {
    const message = new Bytes().char('I').int32(OID).char('K').tuple(ROW).build();
    expect(protocolFailure(decoderWithRelation(), message)).toBe('BRISK_PGOUTPUT_PROTOCOL');
  });

  it('every truncation of every message type, including the empty buffer', () => {
    const complete: [string, Buffer][] = [
      ['begin', new Bytes().char('B').int64(5n).int64(6n).int32(7).build()],
      ['commit', new Bytes().char('C').int8(0).int64(5n).int64(6n).int64(7n).build()],
      ['relation', relationMessage()],
      ['insert', insert(ROW)],
      ['update', new Bytes().char('U').int32(OID).char('O').tuple(ROW).char('N').tuple(ROW).build()],
      ['delete', new Bytes().char('D').int32(OID).char('K').tuple(KEY_ONLY).build()],
      ['truncate', new Bytes().char('T').int32(1).int8(0).int32(OID).build()],
      [
        'message',
        new Bytes().char('M').int8(0).int64(1n).cstring('p').int32(3).raw(Buffer.from('abc')).build(),
      ],
    ];
    const outcomes: string[] = [];
    const expected: string[] = [];
    for (const [name, message] of complete) {
      // The complete message decodes, so each failure below is caused by the missing bytes alone.
      expect(() => decoderWithRelation().decode(message)).not.toThrow();
      for (let length = 0; length < message.length; length++) {
        outcomes.push(
          `${name}[0..${length}) ${protocolFailure(decoderWithRelation(), message.subarray(0, length))}`,
        );
        expected.push(`${name}[0..${length}) BRISK_PGOUTPUT_PROTOCOL`);
      }
    }
    expect(outcomes).toEqual(expected);
  });

  it('the message says what was wrong', () => {
    try {
      decoderWithRelation().decode(insert(ROW.slice(0, 4)));
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toContain(
        'public.user_activity: tuple has 4 columns, relation announced 5',
      );
    }
  });
});

describe('a whole transaction', () => {
  it('decodes a realistic stream in order', () => {
    const decoder = new PgoutputDecoder();
    const stream = [
      new Bytes()
        .char('B')
        .int64(0x16b3780n)
        .int64(UNIX_2026_US - PG_EPOCH_US)
        .int32(771)
        .build(),
      relationMessage(),
      insert(ROW),
      new Bytes().char('D').int32(OID).char('K').tuple(KEY_ONLY).build(),
      new Bytes()
        .char('C')
        .int8(0)
        .int64(0x16b3748n)
        .int64(0x16b3780n)
        .int64(UNIX_2026_US - PG_EPOCH_US)
        .build(),
    ];
    const tags = stream.map((m) => decoder.decode(m)).map((m: PgoutputMessage) => m.tag);
    expect(tags).toEqual(['begin', 'relation', 'insert', 'delete', 'commit']);
  });
});
