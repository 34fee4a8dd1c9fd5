import type { DecimalHandling } from '@brisk/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UNCHANGED_TOAST } from '../src/pgoutput.ts';
import { toDebeziumValue, twosComplementBase64, UNAVAILABLE_VALUE } from '../src/values.ts';

const T = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  json: 114,
  float4: 700,
  float8: 701,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  numeric: 1700,
  uuid: 2950,
} as const;

const PRECISE = { decimalHandling: 'precise' } as const;

/** PostgreSQL's atttypmod for NUMERIC(p,s). */
const numericMod = (precision: number, scale: number) => ((precision << 16) | scale) + 4;

const value = (raw: string, typeOid: number, typeMod = -1, mode: DecimalHandling = 'precise') =>
  toDebeziumValue(raw, typeOid, typeMod, { decimalHandling: mode });

/** Independent decoder: big-endian two's complement bytes -> bigint. */
function decodeSigned(bytes: Buffer): bigint {
  if (bytes.length === 0) throw new Error('no bytes');
  const unsigned = BigInt(`0x${bytes.toString('hex')}`);
  return bytes[0]! & 0x80 ? unsigned - (1n << BigInt(bytes.length * 8)) : unsigned;
}

const b64 = (bytes: number[]) => Buffer.from(bytes).toString('base64');

describe('null and unchanged TOAST', () => {
  it.each(Object.entries(T))('%s: null stays null, unchanged TOAST is the Debezium placeholder', (_, oid) => {
    expect(toDebeziumValue(null, oid, -1, PRECISE)).toBeNull();
    expect(toDebeziumValue(UNCHANGED_TOAST, oid, -1, PRECISE)).toBe('__debezium_unavailable_value');
  });

  it('exports the placeholder Debezium uses', () => {
    expect(UNAVAILABLE_VALUE).toBe('__debezium_unavailable_value');
  });
});

describe('scalars', () => {
  it('bool', () => {
    expect(value('t', T.bool)).toBe(true);
    expect(value('f', T.bool)).toBe(false);
  });

  it.each([
    ['0', T.int2, 0],
    ['-32768', T.int2, -32768],
    ['2147483647', T.int4, 2147483647],
    ['-2147483648', T.int4, -2147483648],
    ['9007199254740991', T.int8, 9007199254740991],
    ['-9007199254740991', T.int8, -9007199254740991],
  ])('%s (oid %d) -> %d', (raw, oid, expected) => {
    expect(value(raw, oid)).toBe(expected);
  });

  it('int8 beyond 2^53 keeps its exact text instead of rounding', () => {
    expect(value('9007199254740993', T.int8)).toBe('9007199254740993');
    expect(value('9223372036854775807', T.int8)).toBe('9223372036854775807');
    expect(value('-9223372036854775808', T.int8)).toBe('-9223372036854775808');
  });

  it('floats are numbers; NaN and infinities keep their text (JSON has no such numbers)', () => {
    expect(value('1.5', T.float8)).toBe(1.5);
    expect(value('-0.25', T.float4)).toBe(-0.25);
    expect(value('1e+100', T.float8)).toBe(1e100);
    expect(value('NaN', T.float8)).toBe('NaN');
    expect(value('Infinity', T.float4)).toBe('Infinity');
    expect(value('-Infinity', T.float8)).toBe('-Infinity');
  });

  it('uuid, text, varchar and json pass through unchanged', () => {
    expect(value('a1b2c3d4-e5f6-7890-1234-567890abcdef', T.uuid)).toBe(
      'a1b2c3d4-e5f6-7890-1234-567890abcdef',
    );
    expect(value('ユーザー \u{1F600} ', T.text)).toBe('ユーザー \u{1F600} ');
    expect(value('', T.varchar, 259)).toBe('');
    expect(value('{"a": [1, 2]}', T.json)).toBe('{"a": [1, 2]}');
    expect(value('t', T.text)).toBe('t');
  });

  it('bytea hex -> base64 bytes', () => {
    expect(value('\\x0102', T.bytea)).toBe('AQI=');
    expect(value('\\xdeadbeef', T.bytea)).toBe(b64([0xde, 0xad, 0xbe, 0xef]));
    expect(value('\\x', T.bytea)).toBe('');
  });
});

describe('NUMERIC', () => {
  it.each([
    ['12.50', 10, 2, b64([0x04, 0xe2])],
    ['-12.50', 10, 2, b64([0xfb, 0x1e])],
    ['0.00', 10, 2, b64([0x00])],
    ['1.28', 5, 2, b64([0x00, 0x80])],
    ['-1.28', 5, 2, b64([0x80])],
    ['-0.01', 5, 2, b64([0xff])],
    ['42', 10, 0, b64([0x2a])],
  ])('precise NUMERIC: %s as NUMERIC(%d,%d) -> %s', (raw, precision, scale, expected) => {
    expect(value(raw, T.numeric, numericMod(precision, scale))).toBe(expected);
  });

  it("the brief's worked example: '12.50' as NUMERIC(10,2) is 'BOI='", () => {
    expect(value('12.50', T.numeric, ((10 << 16) | 2) + 4)).toBe('BOI=');
  });

  it('precise NUMERIC beyond 2^53 is exact', () => {
    const encoded = value('123456789012345678901234567890.12', T.numeric, numericMod(38, 2));
    expect(decodeSigned(Buffer.from(encoded as string, 'base64'))).toBe(12345678901234567890123456789012n);
  });

  it('unconstrained NUMERIC (typmod -1) carries its own scale (VariableScaleDecimal)', () => {
    expect(value('3.14159', T.numeric)).toEqual({ scale: 5, value: b64([0x04, 0xcb, 0x2f]) });
    expect(value('42', T.numeric)).toEqual({ scale: 0, value: b64([0x2a]) });
    expect(value('-0.001', T.numeric)).toEqual({ scale: 3, value: b64([0xff]) });
    expect(value('100', T.numeric)).toEqual({ scale: 0, value: b64([0x64]) });
  });

  it('string mode keeps the text; double mode gives a number', () => {
    expect(value('12.50', T.numeric, numericMod(10, 2), 'string')).toBe('12.50');
    expect(value('-0.001', T.numeric, -1, 'string')).toBe('-0.001');
    expect(value('12.50', T.numeric, numericMod(10, 2), 'double')).toBe(12.5);
    expect(value('-0.001', T.numeric, -1, 'double')).toBe(-0.001);
    expect(value('NaN', T.numeric, -1, 'double')).toBe('NaN');
  });
});

describe('twosComplementBase64', () => {
  it.each([
    [0n, [0x00]],
    [1n, [0x01]],
    [-1n, [0xff]],
    [127n, [0x7f]],
    [128n, [0x00, 0x80]],
    [-128n, [0x80]],
    [-129n, [0xff, 0x7f]],
    [255n, [0x00, 0xff]],
    [256n, [0x01, 0x00]],
    [-256n, [0xff, 0x00]],
    [-32768n, [0x80, 0x00]],
    [-32769n, [0xff, 0x7f, 0xff]],
    [-65536n, [0xff, 0x00, 0x00]],
  ])('%d -> %j (Java BigInteger.toByteArray)', (input, bytes) => {
    expect(twosComplementBase64(input)).toBe(b64(bytes));
  });

  it('decodes back to the input and is minimal (no redundant leading 0x00 / 0xFF)', () => {
    const anyBigInt = fc.oneof(
      fc.bigInt({ min: -(2n ** 16n), max: 2n ** 16n }),
      fc.bigInt({ min: -(2n ** 520n), max: 2n ** 520n }),
      fc.integer({ min: 0, max: 64 }).map((n) => 2n ** BigInt(n)),
      fc.integer({ min: 0, max: 64 }).map((n) => -(2n ** BigInt(n))),
      fc.integer({ min: 0, max: 64 }).map((n) => 2n ** BigInt(n) - 1n),
      fc.integer({ min: 0, max: 64 }).map((n) => -(2n ** BigInt(n)) - 1n),
    );
    fc.assert(
      fc.property(anyBigInt, (n) => {
        const bytes = Buffer.from(twosComplementBase64(n), 'base64');
        expect(decodeSigned(bytes)).toBe(n);
        if (bytes.length > 1) {
          const redundantZero = bytes[0] === 0x00 && (bytes[1]! & 0x80) === 0;
          const redundantOnes = bytes[0] === 0xff && (bytes[1]! & 0x80) !== 0;
          expect({ redundantZero, redundantOnes }).toEqual({ redundantZero: false, redundantOnes: false });
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('temporal types', () => {
  const NOON_US = Date.UTC(2026, 10, 24, 11, 0, 0) * 1000;

  it.each([
    ['2026-11-24 11:00:00.123456+00', '2026-11-24T11:00:00.123456Z'],
    ['2026-11-24 11:00:00+00', '2026-11-24T11:00:00Z'],
    ['2026-11-24 16:30:00.123456+05:30', '2026-11-24T11:00:00.123456Z'],
    ['2026-11-24 03:00:00.123456-08', '2026-11-24T11:00:00.123456Z'],
    ['2026-11-24 12:00:00+01', '2026-11-24T11:00:00Z'],
  ])('timestamptz %s -> ZonedTimestamp %s (UTC)', (raw, iso) => {
    expect(value(raw, T.timestamptz)).toBe(iso);
  });

  // One instant must give one string, whatever offset the session printed it with: consumers compare these.
  it('timestamptz: the same instant gives the same string whether printed at +00 or another offset', () => {
    const pairs = [
      ['2026-11-24 11:00:00.5+00', '2026-11-24 12:00:00.5+01'],
      ['2026-11-24 11:00:00.12+00', '2026-11-24 06:00:00.12-05'],
      ['2026-11-24 11:00:00.1234+00', '2026-11-24 16:30:00.1234+05:30'],
    ];
    expect(pairs.map(([utc, other]) => [value(utc!, T.timestamptz), value(other!, T.timestamptz)])).toEqual(
      pairs.map(([utc]) => [value(utc!, T.timestamptz), value(utc!, T.timestamptz)]),
    );
  });

  it('timestamp: MicroTimestamp (micros) by default, Timestamp (millis) for precision 0-3', () => {
    expect(value('2026-11-24 11:00:00.123456', T.timestamp)).toBe(NOON_US + 123_456);
    expect(value('2026-11-24 11:00:00.123456', T.timestamp, 6)).toBe(NOON_US + 123_456);
    expect(value('2026-11-24 11:00:00.123456', T.timestamp, 4)).toBe(NOON_US + 123_456);
    expect(value('2026-11-24 11:00:00.123', T.timestamp, 3)).toBe(NOON_US / 1000 + 123);
    expect(value('2026-11-24 11:00:00', T.timestamp, 0)).toBe(NOON_US / 1000);
    expect(value('1970-01-01 00:00:00', T.timestamp)).toBe(0);
  });

  it('date: days since the epoch', () => {
    expect(value('2026-11-24', T.date)).toBe(20_781);
    expect(value('1970-01-01', T.date)).toBe(0);
    expect(value('1969-12-31', T.date)).toBe(-1);
  });

  it('time: MicroTime by default, Time (millis) for precision 0-3', () => {
    expect(value('13:45:30.123456', T.time)).toBe(49_530_123_456);
    expect(value('13:45:30.5', T.time)).toBe(49_530_500_000);
    expect(value('00:00:00', T.time)).toBe(0);
    expect(value('13:45:30.123', T.time, 3)).toBe(49_530_123);
    expect(value('13:45:30', T.time, 0)).toBe(49_530_000);
  });

  it("PostgreSQL's special values that have no number pass through as text", () => {
    expect(value('infinity', T.timestamptz)).toBe('infinity');
    expect(value('-infinity', T.timestamp)).toBe('-infinity');
    expect(value('infinity', T.date)).toBe('infinity');
  });
});
