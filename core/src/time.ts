/**
 * Wall-clock time in microseconds since the Unix epoch, the unit PostgreSQL timestamps carry. Injectable so
 * window arithmetic is tested with a fake clock, never with sleeps.
 */
export interface Clock {
  nowUs(): number;
}

export const systemClock: Clock = {
  // performance.now() has sub-millisecond resolution; Date.now() would blur commit -> store latencies.
  nowUs: () => Math.round((performance.timeOrigin + performance.now()) * 1000),
};

export function fixedClock(startUs: number): Clock & { advanceMs(ms: number): void; set(us: number): void } {
  let now = startUs;
  return {
    nowUs: () => now,
    advanceMs: (ms) => {
      now += Math.round(ms * 1000);
    },
    set: (us) => {
      now = us;
    },
  };
}

/** PostgreSQL's epoch (2000-01-01T00:00:00Z) in microseconds since the Unix epoch. */
export const PG_EPOCH_US = 946_684_800_000_000;

const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Parses an ISO-8601 / PostgreSQL timestamp with offset into microseconds, keeping the fraction that
 * Date.parse would drop. A missing offset means UTC. Returns null for anything else.
 */
export function parseTimestampUs(text: string): number | null {
  const m = ISO.exec(text);
  if (!m) return null;
  const year = +m[1]!;
  const month = +m[2]! - 1;
  const day = +m[3]!;
  const hour = +m[4]!;
  const minute = +m[5]!;
  const second = +m[6]!;
  // Date.UTC would roll impossible fields over (Feb 30 -> Mar 2): check them first.
  if (month > 11 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
    return null;
  }
  let ms = Date.UTC(year, month, day, hour, minute, second);
  // ...and it maps years 0-99 to 1900-1999.
  if (year < 100) {
    const date = new Date(ms);
    date.setUTCFullYear(year);
    ms = date.getTime();
  }
  const fraction = m[7] ? Number((m[7] + '000000').slice(0, 6)) : 0;
  let offsetMin = 0;
  const zone = m[8];
  if (zone && zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'));
  }
  return (ms - offsetMin * 60_000) * 1000 + fraction;
}

function daysInMonth(year: number, month: number): number {
  if (month === 1) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 3 || month === 5 || month === 8 || month === 10 ? 30 : 31;
}

/**
 * Microseconds since the epoch -> `2026-11-24T13:00:00.1234Z`: the fraction with as few digits as it needs and
 * none when zero, which is how PostgreSQL prints it and how Java's ISO formatter (Debezium's) does.
 */
export function formatTimestampUs(us: number): string {
  const seconds = Math.floor(us / 1_000_000);
  const micros = us - seconds * 1_000_000;
  const base = new Date(seconds * 1000).toISOString().slice(0, -5);
  if (micros === 0) return `${base}Z`;
  return `${base}.${String(micros).padStart(6, '0').replace(/0+$/, '')}Z`;
}
