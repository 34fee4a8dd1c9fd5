import { describe, expect, it } from 'vitest';
import type { PipelineStats } from '../src/app/services.ts';
import {
  areaPath,
  byteUnit,
  gaugeArc,
  linePath,
  logScale,
  niceScale,
  type Plot,
  peak,
  positiveRange,
  segments,
  xAt,
  yAt,
} from '../src/components/dashboard/chart.ts';
import {
  ageLabel,
  clockTime,
  formatBytes,
  formatCount,
  formatMs,
  formatPercent,
  formatRate,
  joined,
} from '../src/components/dashboard/format.ts';
import { nextLink, RETRY_MAX_MS, retryDelayMs } from '../src/components/dashboard/link.ts';
import { appendSample, pointsOf, type Sample, toSample } from '../src/components/dashboard/samples.ts';

describe('format', () => {
  it('writes bytes in binary units with three significant digits', () => {
    expect(formatBytes(0)).toEqual({ text: '0', unit: 'B' });
    expect(formatBytes(512)).toEqual({ text: '512', unit: 'B' });
    expect(formatBytes(1536)).toEqual({ text: '1.5', unit: 'KiB' });
    expect(formatBytes(12.3 * 1024 * 1024)).toEqual({
      text: '12.3',
      unit: 'MiB',
    });
    expect(formatBytes(3 * 1024 ** 3)).toEqual({ text: '3', unit: 'GiB' });
  });

  it('moves to the next unit when rounding would print 1,024', () => {
    expect(formatBytes(1023.9 * 1024)).toEqual({ text: '1', unit: 'MiB' });
    expect(formatBytes(1023)).toEqual({ text: '1,023', unit: 'B' });
  });

  it('writes latencies in ms below a second and s above', () => {
    expect(formatMs(0.25)).toEqual({ text: '0.25', unit: 'ms' });
    expect(formatMs(2.5)).toEqual({ text: '2.5', unit: 'ms' });
    expect(formatMs(12.5)).toEqual({ text: '12.5', unit: 'ms' });
    expect(formatMs(250)).toEqual({ text: '250', unit: 'ms' });
    expect(formatMs(1500)).toEqual({ text: '1.5', unit: 's' });
  });

  it('groups thousands in rates and counts', () => {
    expect(formatRate(12345)).toEqual({ text: '12,345', unit: 'events/s' });
    expect(formatCount(7)).toEqual({ text: '7', unit: '' });
  });

  it('rounds hit ratios down so only a perfect ratio reads 100 %', () => {
    expect(formatPercent(0.9996).text).toBe('99.9');
    expect(formatPercent(1).text).toBe('100.0');
    expect(formatPercent(0.5)).toEqual({ text: '50.0', unit: '%' });
  });

  it('shows a dash for unknown figures', () => {
    for (const reading of [formatBytes(null), formatMs(null), formatPercent(null), formatRate(null)]) {
      expect(reading.text).toBe('—');
    }
    expect(formatCount(null).text).toBe('—');
  });

  it('prints sample times in UTC and ages relative to now', () => {
    expect(clockTime(Date.parse('2025-01-01T10:00:03.456Z'))).toBe('10:00:03 UTC');
    expect(ageLabel(0)).toBe('now');
    expect(ageLabel(30_000)).toBe('30 s ago');
    expect(ageLabel(90_000)).toBe('90 s ago');
    expect(ageLabel(120_000)).toBe('2 min ago');
  });

  it('joins a value and its unit', () => {
    expect(joined({ text: '12.5', unit: 'ms' })).toBe('12.5 ms');
    expect(joined(formatCount(3))).toBe('3');
  });
});

describe('niceScale', () => {
  it('ends on a round number at or above the peak', () => {
    expect(niceScale(87)).toEqual({
      min: 0,
      max: 100,
      ticks: [0, 25, 50, 75, 100],
      log: false,
    });
    expect(niceScale(1234).max).toBe(1500);
    expect(niceScale(0.3).ticks).toEqual([0, 0.1, 0.2, 0.3]);
  });

  it('uses whole steps for counts', () => {
    expect(niceScale(3, { integer: true }).ticks).toEqual([0, 1, 2, 3]);
    expect(niceScale(9, { integer: true }).ticks).toEqual([0, 5, 10]);
  });

  it('steps in multiples of a binary unit', () => {
    const kib = byteUnit(300 * 1024);
    expect(kib).toBe(1024);
    expect(niceScale(300 * 1024, { unit: kib }).ticks).toEqual([0, 100, 200, 300].map((n) => n * 1024));
    expect(byteUnit(5 * 1024 ** 2)).toBe(1024 ** 2);
    expect(byteUnit(100)).toBe(1);
  });

  it('gives an empty series a unit axis', () => {
    expect(niceScale(0)).toMatchObject({ max: 1, ticks: [0, 1] });
  });

  it('never has more steps than asked for', () => {
    for (const top of [1, 7, 99, 101, 999, 1001, 0.07, 123456]) {
      const { max, ticks } = niceScale(top, { steps: 4 });
      expect(max).toBeGreaterThanOrEqual(top);
      expect(ticks.length - 1).toBeLessThanOrEqual(4);
    }
  });
});

describe('logScale', () => {
  it('spans whole decades around the values', () => {
    expect(logScale({ low: 1.5, high: 75 })).toEqual({
      min: 1,
      max: 100,
      ticks: [1, 10, 100],
      log: true,
    });
    expect(logScale({ low: 0.25, high: 8 }).ticks).toEqual([0.1, 1, 10]);
  });

  it('adds 2 and 5 within a single decade', () => {
    expect(logScale({ low: 2, high: 8 }).ticks).toEqual([1, 2, 5, 10]);
    expect(logScale({ low: 10, high: 10 }).ticks).toEqual([10, 20, 50, 100]);
  });

  it('has a default decade without values', () => {
    expect(logScale(null).ticks).toEqual([1, 2, 5, 10]);
  });

  it('reads the positive range across series', () => {
    const range = positiveRange([
      [
        { t: 1, v: 0 },
        { t: 2, v: 3 },
      ],
      [{ t: 1, v: null }],
      [{ t: 1, v: 40 }],
    ]);
    expect(range).toEqual({ low: 3, high: 40 });
    expect(positiveRange([[{ t: 1, v: null }]])).toBeNull();
  });
});

describe('paths', () => {
  const plot: Plot = {
    box: { left: 10, top: 0, width: 100, height: 50 },
    nowMs: 100_000,
    spanMs: 100_000,
    scale: niceScale(10, { steps: 2 }),
    gapMs: 3_000,
  };

  it('places the newest sample at the right edge and 0 at the bottom', () => {
    expect(xAt(plot, 100_000)).toBe(110);
    expect(xAt(plot, 0)).toBe(10);
    expect(yAt(plot, 0)).toBe(50);
    expect(yAt(plot, 10)).toBe(0);
    expect(yAt(plot, 20)).toBe(0);
  });

  it('spaces a log scale by decades and keeps values below its floor on the bottom edge', () => {
    const log: Plot = { ...plot, scale: logScale({ low: 1, high: 100 }) };
    expect(yAt(log, 1)).toBe(50);
    expect(yAt(log, 10)).toBe(25);
    expect(yAt(log, 100)).toBe(0);
    expect(yAt(log, 0)).toBe(50);
  });

  it('joins consecutive samples', () => {
    const points = [
      { t: 98_000, v: 0 },
      { t: 99_000, v: 5 },
      { t: 100_000, v: 10 },
    ];
    expect(linePath(plot, points)).toBe('M108 50L109 25L110 0');
    expect(areaPath(plot, points)).toBe('M108 50L108 50L109 25L110 0L110 50Z');
  });

  it('breaks the line at unknown values and at gaps in time', () => {
    const points = [
      { t: 90_000, v: 1 },
      { t: 91_000, v: null },
      { t: 92_000, v: 1 },
      { t: 93_000, v: 1 },
      { t: 99_000, v: 1 },
    ];
    expect(segments(plot, points).map((run) => run.length)).toEqual([1, 2, 1]);
    expect(linePath(plot, points).match(/M/g)).toHaveLength(3);
  });

  it('leaves out samples outside the span', () => {
    const wide: Plot = { ...plot, spanMs: 5_000 };
    expect(segments(wide, [{ t: 90_000, v: 1 }])).toEqual([]);
    expect(linePath(wide, [])).toBe('');
  });

  it('finds the peak across series, ignoring unknown values', () => {
    expect(
      peak([
        [{ t: 1, v: null }],
        [
          { t: 1, v: 4 },
          { t: 2, v: 2 },
        ],
      ]),
    ).toBe(4);
    expect(peak([])).toBe(0);
  });

  it('draws a gauge arc over the top of the circle', () => {
    expect(gaugeArc(50, 50, 40, 0)).toBe('');
    expect(gaugeArc(50, 50, 40, 0.5)).toBe('M10 50A40 40 0 0 1 50 10');
    expect(gaugeArc(50, 50, 40, 1)).toBe('M10 50A40 40 0 0 1 90 50');
    expect(gaugeArc(50, 50, 40, 2)).toBe(gaugeArc(50, 50, 40, 1));
  });
});

describe('samples', () => {
  const stats: PipelineStats = {
    at: '2025-01-01T10:00:00.000Z',
    windowSeconds: 10,
    events: { applied: 900, total: 1000 },
    eventsPerSecond: 42,
    slotLagBytes: 2048,
    latencyMs: {
      commitToStore: { p50: 0.5, p99: 2.5 },
      commitToServe: { p50: 1, p99: null },
    },
    l1: { hits: 90, misses: 10, hitRatio: 0.9 },
    streams: 3,
  };
  function at(t: number): Sample {
    return { ...toSample(stats), t };
  }

  it('flattens the API shape', () => {
    expect(toSample(stats)).toEqual({
      t: Date.parse('2025-01-01T10:00:00.000Z'),
      windowSeconds: 10,
      eventsPerSecond: 42,
      slotLagBytes: 2048,
      storeP50: 0.5,
      storeP99: 2.5,
      serveP50: 1,
      serveP99: null,
      hitRatio: 0.9,
      hits: 90,
      misses: 10,
      streams: 3,
    });
  });

  it('keeps the newest samples up to the capacity', () => {
    let history: readonly Sample[] = [];
    for (let t = 1; t <= 5; t++) history = appendSample(history, at(t), 3);
    expect(history.map((s) => s.t)).toEqual([3, 4, 5]);
  });

  it('does not change the array it was given', () => {
    const history = [at(1)];
    const next = appendSample(history, at(2));
    expect(history).toHaveLength(1);
    expect(next).not.toBe(history);
  });

  it('replaces a repeated sample and ignores an older one', () => {
    const history = [at(1), at(2)];
    const repeated = appendSample(history, { ...at(2), streams: 9 });
    expect(repeated.map((s) => [s.t, s.streams])).toEqual([
      [1, 3],
      [2, 9],
    ]);
    expect(appendSample(history, at(1))).toBe(history);
  });

  it('extracts one figure as chart points', () => {
    expect(pointsOf([at(1), at(2)], 'serveP99')).toEqual([
      { t: 1, v: null },
      { t: 2, v: null },
    ]);
    expect(pointsOf([at(1)], 'eventsPerSecond')).toEqual([{ t: 1, v: 42 }]);
  });
});

describe('link', () => {
  it('goes live on stats and back to waiting on errors', () => {
    expect(nextLink('snapshot', 'open')).toBe('connecting');
    expect(nextLink('connecting', 'stats')).toBe('live');
    expect(nextLink('live', 'unavailable')).toBe('api-down');
    expect(nextLink('api-down', 'stats')).toBe('live');
    expect(nextLink('live', 'error')).toBe('reconnecting');
    expect(nextLink('reconnecting', 'open')).toBe('connecting');
    expect(nextLink('api-down', 'open')).toBe('api-down');
  });

  it('backs off exponentially with jitter, up to a ceiling', () => {
    expect(retryDelayMs(0, () => 0)).toBe(500);
    expect(retryDelayMs(0, () => 1)).toBe(1_000);
    expect(retryDelayMs(3, () => 1)).toBe(8_000);
    expect(retryDelayMs(20, () => 1)).toBe(RETRY_MAX_MS);
    expect(retryDelayMs(20, () => 0)).toBe(RETRY_MAX_MS / 2);
  });
});
