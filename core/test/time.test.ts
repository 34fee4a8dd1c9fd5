import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fixedClock, formatTimestampUs, parseTimestampUs } from '../src/time.ts';

/** 2026-11-24T13:00:00Z in microseconds, computed with Date.UTC (milliseconds, exact). */
const BASE_US = Date.UTC(2026, 10, 24, 13, 0, 0) * 1000;
const YEAR_2100_US = Date.UTC(2100, 0, 1) * 1000;

describe('parseTimestampUs', () => {
  it.each([
    ['2026-11-24 13:00:00.123456+00', BASE_US + 123_456],
    ['2026-11-24T13:00:00.123456Z', BASE_US + 123_456],
    ['2026-11-24T13:00:00.123456', BASE_US + 123_456],
    ['2026-11-24 13:00:00', BASE_US],
    ['2026-11-24 13:00:00.5+00', BASE_US + 500_000],
    ['2026-11-24 13:00:00.000001+00', BASE_US + 1],
    ['2026-11-24 18:30:00.123456+05:30', BASE_US + 123_456],
    ['2026-11-24 18:30:00.123456+0530', BASE_US + 123_456],
    ['2026-11-24 05:00:00.123456-08', BASE_US + 123_456],
    ['2026-11-24 05:00:00.123456-08:00', BASE_US + 123_456],
    ['2026-11-25 00:00:00+11', BASE_US],
  ])('%s -> %d µs', (text, us) => {
    expect(parseTimestampUs(text)).toBe(us);
  });

  it('keeps microseconds of instants before 1970 (fraction is added to the negative second)', () => {
    expect(parseTimestampUs('1969-12-31 23:59:59.5+00')).toBe(-500_000);
    expect(parseTimestampUs('1969-12-31T23:59:59.999999Z')).toBe(-1);
  });

  it('truncates digits beyond microseconds', () => {
    expect(parseTimestampUs('2026-11-24T13:00:00.123456789Z')).toBe(BASE_US + 123_456);
  });

  it.each([
    '',
    'garbage',
    'infinity',
    '1678886400000',
    '2026-11-24',
    '2026-11-24 13:00',
    '2026-11-24 13:00:00.',
    '2026-11-24 13:00:00+5',
    '2026-11-24 13:00:00 +00',
    '2026-11-24 13:00:00.123456Z ',
    '2026/11/24 13:00:00',
    '2026-11-24x13:00:00',
  ])('%j -> null', (text) => {
    expect(parseTimestampUs(text)).toBeNull();
  });

  // "Returns null for anything else": Date.UTC silently rolls impossible fields over to the next month/day.
  it('rejects impossible calendar values instead of rolling them over', () => {
    const impossible = ['2026-02-30 00:00:00+00', '2026-13-01 00:00:00+00', '2026-11-24 25:00:00+00'];
    expect(impossible.map((text) => [text, parseTimestampUs(text)])).toEqual(
      impossible.map((text) => [text, null]),
    );
  });

  // Date.UTC maps years 0..99 to 1900..1999; PostgreSQL prints year 99 as '0099-...'.
  it('reads four-digit years below 100 literally', () => {
    const expected = new Date(0);
    expected.setUTCFullYear(99, 5, 15);
    expect(parseTimestampUs('0099-06-15 00:00:00+00')).toBe(expected.getTime() * 1000);
  });

  it('reads any offset: the local wall time rendered with its offset is the same instant', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: YEAR_2100_US - 1 }),
        fc.integer({ min: -14 * 4, max: 14 * 4 }),
        (us, quarters) => {
          const offsetMin = quarters * 15;
          const localMs = Math.floor(us / 1000) + offsetMin * 60_000;
          const micros = String(us - Math.floor(us / 1000) * 1000).padStart(3, '0');
          const wall = new Date(localMs).toISOString().slice(0, 23).replace('T', ' ');
          const sign = offsetMin < 0 ? '-' : '+';
          const abs = Math.abs(offsetMin);
          const zone = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
          expect(parseTimestampUs(`${wall}${micros}${zone}`)).toBe(us);
        },
      ),
    );
  });
});

describe('formatTimestampUs', () => {
  it.each([
    [0, '1970-01-01T00:00:00Z'],
    [BASE_US, '2026-11-24T13:00:00Z'],
    [BASE_US + 123_456, '2026-11-24T13:00:00.123456Z'],
    [BASE_US + 123_000, '2026-11-24T13:00:00.123Z'],
    [BASE_US + 500_000, '2026-11-24T13:00:00.5Z'],
    [BASE_US + 120_000, '2026-11-24T13:00:00.12Z'],
    [BASE_US + 123_400, '2026-11-24T13:00:00.1234Z'],
    [BASE_US + 1, '2026-11-24T13:00:00.000001Z'],
    [BASE_US + 999_999, '2026-11-24T13:00:00.999999Z'],
    [-1, '1969-12-31T23:59:59.999999Z'],
  ])('%d -> %s', (us, text) => {
    expect(formatTimestampUs(us)).toBe(text);
  });

  it('parse(format(x)) === x for every microsecond instant between 1970 and 2100', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: YEAR_2100_US - 1 }), (us) => {
        const text = formatTimestampUs(us);
        // As few fraction digits as needed, never a trailing zero (PostgreSQL's and Java's ISO form).
        expect(text).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{0,5}[1-9])?Z$/);
        expect(parseTimestampUs(text)).toBe(us);
      }),
    );
  });
});

describe('fixedClock', () => {
  it('moves only when told to, in whole microseconds', () => {
    const clock = fixedClock(BASE_US);
    expect(clock.nowUs()).toBe(BASE_US);
    clock.advanceMs(1.5);
    expect(clock.nowUs()).toBe(BASE_US + 1500);
    clock.set(7);
    expect(clock.nowUs()).toBe(7);
  });
});
