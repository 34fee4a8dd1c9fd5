import { BriskError, type ErrorCode } from '@brisk/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatLsn, parseLsn, readLsn, writeLsn } from '../src/lsn.ts';

const TWO_53 = 2 ** 53;

function thrownCode(action: () => unknown): ErrorCode | string {
  try {
    action();
  } catch (error) {
    return error instanceof BriskError ? error.code : `not a BriskError: ${String(error)}`;
  }
  return 'nothing thrown';
}

/** Reference value computed with bigint, independently of the number arithmetic under test. */
function exact(high: number, low: number): number {
  return Number((BigInt(high) << 32n) | BigInt(low));
}

describe('parseLsn / formatLsn', () => {
  it.each([
    ['0/16B3748', exact(0, 0x16b3748)],
    ['16/B374D848', exact(0x16, 0xb374d848)],
    ['0/0', 0],
    ['1FFFFF/FFFFFFFF', TWO_53 - 1],
  ])('%s is %d and formats back to the same text', (text, value) => {
    expect(parseLsn(text)).toBe(value);
    expect(formatLsn(value)).toBe(text);
  });

  it('accepts lower case and leading zeros, and formats canonically', () => {
    expect(parseLsn('16/b374d848')).toBe(exact(0x16, 0xb374d848));
    expect(parseLsn('00000000/00000001')).toBe(1);
    expect(formatLsn(parseLsn('00000016/0000000a'))).toBe('16/A');
  });

  it.each([
    '',
    '0',
    '0/',
    '/0',
    '0/0/0',
    'G/0',
    '0/-1',
    '-1/0',
    '0x1/0',
    ' 0/0',
    '0/0 ',
    '123456789/0',
    '0/123456789',
    '1.5/0',
  ])('rejects malformed text %j with BRISK_LSN_INVALID', (text) => {
    expect(thrownCode(() => parseLsn(text))).toBe('BRISK_LSN_INVALID');
  });

  it.each(['200000/0', '200000/FFFFFFFF', 'FFFFFFFF/FFFFFFFF'])(
    'rejects %s (>= 2^53) rather than rounding it',
    (text) => {
      expect(thrownCode(() => parseLsn(text))).toBe('BRISK_LSN_INVALID');
    },
  );

  it('round-trips every integer below 2^53', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 21 - 1 }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        (h, l) => {
          const value = exact(h, l);
          const text = formatLsn(value);
          expect(text).toBe(`${h.toString(16).toUpperCase()}/${l.toString(16).toUpperCase()}`);
          expect(parseLsn(text)).toBe(value);
        },
      ),
    );
  });
});

describe('readLsn / writeLsn', () => {
  it('reads a big-endian int64 at an offset, ignoring the bytes around it', () => {
    const buffer = Buffer.from([0xaa, 0xbb, 0x00, 0x00, 0x00, 0x16, 0xb3, 0x74, 0xd8, 0x48, 0xcc]);
    expect(readLsn(buffer, 2)).toBe(exact(0x16, 0xb374d848));
  });

  it('writes exactly the 8 bytes PostgreSQL expects, at the offset', () => {
    const buffer = Buffer.alloc(12, 0xee);
    writeLsn(buffer, parseLsn('16/B374D848'), 3);
    expect([...buffer]).toEqual([0xee, 0xee, 0xee, 0, 0, 0, 0x16, 0xb3, 0x74, 0xd8, 0x48, 0xee]);
  });

  it('agrees with a bigint encoder for every LSN below 2^53', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: TWO_53 - 1 }), fc.nat(16), (lsn, offset) => {
        const ours = Buffer.alloc(offset + 8);
        writeLsn(ours, lsn, offset);
        const reference = Buffer.alloc(offset + 8);
        reference.writeBigUInt64BE(BigInt(lsn), offset);
        expect(ours.equals(reference)).toBe(true);
        expect(readLsn(reference, offset)).toBe(lsn);
      }),
    );
  });

  it('rejects a stored LSN >= 2^53 with BRISK_LSN_INVALID', () => {
    const buffer = Buffer.alloc(8);
    buffer.writeBigUInt64BE(2n ** 53n);
    expect(thrownCode(() => readLsn(buffer, 0))).toBe('BRISK_LSN_INVALID');
    buffer.writeBigUInt64BE(2n ** 64n - 1n);
    expect(thrownCode(() => readLsn(buffer, 0))).toBe('BRISK_LSN_INVALID');
  });

  // The module promises that anything beyond 2^53 "is rejected rather than silently rounded"; the write side
  // must refuse what the read side refuses, or a value can be written (or shown in the API) that never parses.
  it('formatLsn and writeLsn refuse a value outside [0, 2^53) with BRISK_LSN_INVALID', () => {
    const outcomes = {
      'formatLsn(2^53)': thrownCode(() => formatLsn(TWO_53)),
      'formatLsn(-1)': thrownCode(() => formatLsn(-1)),
      'writeLsn(2^53)': thrownCode(() => writeLsn(Buffer.alloc(8), TWO_53, 0)),
      'writeLsn(-1)': thrownCode(() => writeLsn(Buffer.alloc(8), -1, 0)),
    };
    expect(outcomes).toEqual({
      'formatLsn(2^53)': 'BRISK_LSN_INVALID',
      'formatLsn(-1)': 'BRISK_LSN_INVALID',
      'writeLsn(2^53)': 'BRISK_LSN_INVALID',
      'writeLsn(-1)': 'BRISK_LSN_INVALID',
    });
  });
});
