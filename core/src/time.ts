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
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  if (Number.isNaN(ms)) return null;
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

/** Microseconds since the epoch -> `2026-11-24T13:00:00.123456Z` (fraction only when non-zero, as Debezium). */
export function formatTimestampUs(us: number): string {
  const ms = Math.floor(us / 1000);
  const micros = us - ms * 1000;
  const iso = new Date(ms).toISOString();
  if (micros === 0) return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
  return `${iso.slice(0, -1)}${String(micros).padStart(3, '0')}Z`;
}
