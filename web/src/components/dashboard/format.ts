/**
 * Numbers as the dashboard shows them: a value and its unit apart, so the unit can be set smaller than the
 * figure. Formatting is fixed to en-US so the server render and the browser's updates agree to the character.
 */
export interface Reading {
  readonly text: string;
  readonly unit: string;
}

const MISSING = '—';
const group = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** Three significant digits without trailing zeros: 0.25, 2.5, 12.5, 250, 1234 (never exponent notation). */
function significant(value: number): string {
  if (value === 0) return '0';
  if (Math.abs(value) >= 100) return group.format(Math.round(value));
  return String(Number(value.toPrecision(3)));
}

export function formatRate(perSecond: number | null): Reading {
  return {
    text: perSecond === null ? MISSING : group.format(perSecond),
    unit: 'events/s',
  };
}

export function formatCount(count: number | null): Reading {
  return { text: count === null ? MISSING : group.format(count), unit: '' };
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** Binary units, as PostgreSQL reports WAL sizes: 512 B, 1.5 KiB, 12.3 MiB. */
export function formatBytes(bytes: number | null): Reading {
  if (bytes === null) return { text: MISSING, unit: 'B' };
  let value = bytes;
  let unit = 0;
  // Round before choosing the unit so 1023.9 KiB reads "1 MiB", not "1,024 KiB".
  while (unit < BYTE_UNITS.length - 1 && Math.round(Math.abs(value)) >= 1024) {
    value /= 1024;
    unit += 1;
  }
  return {
    text: unit === 0 ? group.format(value) : significant(value),
    unit: BYTE_UNITS[unit]!,
  };
}

/** Milliseconds below a second, seconds above: 0.25 ms, 12.5 ms, 1.5 s. */
export function formatMs(ms: number | null): Reading {
  if (ms === null) return { text: MISSING, unit: 'ms' };
  if (ms >= 1000) return { text: significant(ms / 1000), unit: 's' };
  return { text: significant(ms), unit: 'ms' };
}

/**
 * A ratio as a percentage with one decimal, rounded down: 0.9996 reads 99.9 %, because "100 %" would claim
 * that nothing missed.
 */
export function formatPercent(ratio: number | null): Reading {
  if (ratio === null) return { text: MISSING, unit: '%' };
  return { text: (Math.floor(ratio * 1000) / 10).toFixed(1), unit: '%' };
}

/** One string for axis labels and tooltips: "12.5 ms", "1.5 MiB", "1,200". */
export function joined(reading: Reading): string {
  return reading.unit === '' ? reading.text : `${reading.text} ${reading.unit}`;
}

/** Wall-clock time of a sample in UTC, so the server render and the browser print the same thing. */
export function clockTime(t: number): string {
  return `${new Date(t).toISOString().slice(11, 19)} UTC`;
}

/** How long before the right edge of a chart a point lies: "now", "30 s ago", "2 min ago". */
export function ageLabel(ms: number): string {
  if (ms <= 0) return 'now';
  if (ms < 60_000 || ms % 60_000 !== 0) return `${Math.round(ms / 1000)} s ago`;
  return `${ms / 60_000} min ago`;
}
