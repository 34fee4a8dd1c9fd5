import { createMetrics } from '@brisk/core';
import { afterEach, describe, expect, it } from 'vitest';
import { StatsSampler } from '../src/stats.ts';

describe('StatsSampler', () => {
  let sampler: StatsSampler | null = null;
  afterEach(() => sampler?.close());

  it('reports over a 10 s window however often it is read', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    let now = 1_000_000;
    sampler = new StatsSampler(metrics, () => now);
    // 20 events/s, read four times a second (a dashboard and a scraper): the window stays 10 s, not 11 reads.
    let stats = await sampler.read(null);
    for (let i = 0; i < 120; i++) {
      now += 250;
      metrics.engineEvents.inc({ outcome: 'applied' }, 5);
      metrics.commitToStore.observe(i < 80 ? 0.5 : 0.002);
      stats = await sampler.read(null);
    }
    expect(stats.windowSeconds).toBe(10);
    expect(stats.eventsPerSecond).toBe(20);
    expect(stats.events.applied).toBe(600);
    // Only the last 10 s of observations count: the slow ones are older than that.
    expect(stats.latencyMs.commitToStore.p99).toBeLessThan(0.01 * 1000);
  });

  it('merges reads that come faster than it samples', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    let now = 0;
    sampler = new StatsSampler(metrics, () => now);
    await sampler.read(null);
    for (let i = 0; i < 1000; i++) {
      now += 10;
      metrics.engineEvents.inc({ outcome: 'applied' });
      await sampler.read(null);
    }
    const stats = await sampler.read(null);
    expect(stats.windowSeconds).toBe(10);
    expect(stats.eventsPerSecond).toBe(100);
  });
});
