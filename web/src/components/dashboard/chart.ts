/**
 * Geometry for the dashboard's inline SVG charts: nice axis scales, time-based x positions and path data.
 * Time runs along x (newest sample at the right edge) rather than sample index, so a reconnect gap shows as a
 * gap instead of silently joining two distant points.
 */
export interface Point {
  /** Sample time, epoch milliseconds. */
  readonly t: number;
  /** null where the figure was unknown (no observations in the window); the line breaks there. */
  readonly v: number | null;
}

export interface Box {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

export interface Plot {
  readonly box: Box;
  /** Time at the right edge. */
  readonly nowMs: number;
  /** Time span across the box. */
  readonly spanMs: number;
  /** Values at the bottom and top edges and how they are spaced. */
  readonly scale: Scale;
  /** Consecutive samples further apart than this are not joined. */
  readonly gapMs: number;
}

export interface Scale {
  /** Value at the bottom edge: 0 for linear scales, a power of ten for logarithmic ones. */
  readonly min: number;
  readonly max: number;
  readonly ticks: readonly number[];
  readonly log: boolean;
}

export interface ScaleOptions {
  /** At most this many steps between 0 and max. */
  readonly steps?: number;
  /** Steps are nice multiples of this (1024 ** n for bytes, so labels read 256 KiB rather than 244 KiB). */
  readonly unit?: number;
  /** Steps of at least 1 in whole numbers (counts). */
  readonly integer?: boolean;
}

/** Largest known value across series; 0 when there is none. */
export function peak(series: readonly (readonly Point[])[]): number {
  let max = 0;
  for (const points of series) {
    for (const point of points) if (point.v !== null && point.v > max) max = point.v;
  }
  return max;
}

function niceStep(raw: number, integer: boolean): number {
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  // 2.5 is nice for decimals (0.25 ms is the finest latency bucket) but not for counts.
  const multiples = integer ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10];
  for (const multiple of multiples) {
    const step = multiple * magnitude;
    if (step >= raw * (1 - 1e-9)) return integer ? Math.max(1, Math.round(step)) : step;
  }
  return 10 * magnitude;
}

/** Axis from 0 to a round number at or above `top`, with evenly spaced round ticks. */
export function niceScale(top: number, options: ScaleOptions = {}): Scale {
  const steps = options.steps ?? 4;
  const unit = options.unit ?? 1;
  const integer = options.integer ?? false;
  const scaled = Math.max(0, top) / unit;
  const step = scaled > 0 ? niceStep(scaled / steps, integer) : 1;
  const count = Math.max(1, Math.ceil(scaled / step - 1e-9));
  // toPrecision strips float noise such as 0.30000000000000004 from 3 * 0.1.
  const ticks = Array.from({ length: count + 1 }, (_, i) => Number((i * step * unit).toPrecision(12)));
  return { min: 0, max: ticks[ticks.length - 1]!, ticks, log: false };
}

/** Smallest and largest known positive values across series; null when there are none. */
export function positiveRange(series: readonly (readonly Point[])[]): { low: number; high: number } | null {
  let low = Number.POSITIVE_INFINITY;
  let high = 0;
  for (const points of series) {
    for (const { v } of points) {
      if (v === null || v <= 0) continue;
      if (v < low) low = v;
      if (v > high) high = v;
    }
  }
  return high > 0 ? { low, high } : null;
}

/**
 * Logarithmic axis from the power of ten at or below `low` to the one at or above `high`, a tick per decade
 * (plus 2 and 5 when there is a single decade). Latency percentiles are read this way: p50 and p99 often lie
 * orders of magnitude apart, and on a linear axis the p50 lines would lie flat on the floor.
 */
export function logScale(range: { low: number; high: number } | null): Scale {
  const from = range === null ? 0 : Math.floor(Math.log10(range.low) + 1e-9);
  const to = range === null ? 1 : Math.max(from + 1, Math.ceil(Math.log10(range.high) - 1e-9));
  const ticks: number[] = [];
  for (let k = from; k <= to; k++) {
    ticks.push(Number((10 ** k).toPrecision(12)));
    if (to - from === 1 && k === from)
      ticks.push(Number((2 * 10 ** k).toPrecision(12)), Number((5 * 10 ** k).toPrecision(12)));
  }
  return { min: ticks[0]!, max: ticks[ticks.length - 1]!, ticks, log: true };
}

/** The binary unit (1, 1024, 1024 ** 2, ...) that `bytes` reads best in. */
export function byteUnit(bytes: number): number {
  let unit = 1;
  while (bytes / unit >= 1024) unit *= 1024;
  return unit;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

export function xAt(plot: Plot, t: number): number {
  const { left, width } = plot.box;
  return round(left + width * (1 - (plot.nowMs - t) / plot.spanMs));
}

export function yAt(plot: Plot, v: number): number {
  const { top, height } = plot.box;
  const { min, max, log } = plot.scale;
  const raw = log
    ? (Math.log(Math.max(v, min)) - Math.log(min)) / (Math.log(max) - Math.log(min))
    : (v - min) / (max - min);
  const fraction = Number.isFinite(raw) ? Math.min(1, Math.max(0, raw)) : 0;
  return round(top + height * (1 - fraction));
}

/** Runs of known, close-enough points inside the plot's time span. */
export function segments(plot: Plot, points: readonly Point[]): { t: number; v: number }[][] {
  const runs: { t: number; v: number }[][] = [];
  let run: { t: number; v: number }[] = [];
  let previous: number | null = null;
  for (const { t, v } of points) {
    if (t < plot.nowMs - plot.spanMs || t > plot.nowMs) continue;
    if (v === null || (previous !== null && t - previous > plot.gapMs)) {
      if (run.length > 0) runs.push(run);
      run = [];
    }
    if (v !== null) run.push({ t, v });
    previous = v === null ? null : t;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

export function linePath(plot: Plot, points: readonly Point[]): string {
  return segments(plot, points)
    .map((run) => run.map((p, i) => `${i === 0 ? 'M' : 'L'}${xAt(plot, p.t)} ${yAt(plot, p.v)}`).join(''))
    .join('');
}

/** The region under each run of the line, closed along the x axis (for a translucent fill). */
export function areaPath(plot: Plot, points: readonly Point[]): string {
  const base = round(plot.box.top + plot.box.height);
  return segments(plot, points)
    .map((run) => {
      const first = xAt(plot, run[0]!.t);
      const last = xAt(plot, run[run.length - 1]!.t);
      const line = run.map((p) => `L${xAt(plot, p.t)} ${yAt(plot, p.v)}`).join('');
      return `M${first} ${base}${line}L${last} ${base}Z`;
    })
    .join('');
}

/**
 * Upper half-circle arc from the left end of the gauge, sweeping clockwise over the top, covering `fraction`
 * of it; '' for nothing to draw.
 */
export function gaugeArc(cx: number, cy: number, r: number, fraction: number): string {
  const f = Math.min(1, Math.max(0, fraction));
  if (f === 0) return '';
  const angle = Math.PI * (1 - f);
  const x = round(cx + r * Math.cos(angle));
  const y = round(cy - r * Math.sin(angle));
  return `M${round(cx - r)} ${round(cy)}A${r} ${r} 0 0 1 ${x} ${y}`;
}
