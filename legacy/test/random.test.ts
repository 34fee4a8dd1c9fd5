import { describe, expect, it } from 'vitest';
import { mulberry32, shuffled } from '../src/random.ts';

describe('mulberry32', () => {
  it('repeats its sequence for a seed and differs between seeds', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const first = Array.from({ length: 5 }, a);
    expect(Array.from({ length: 5 }, b)).toEqual(first);
    expect(Array.from({ length: 5 }, mulberry32(43))).not.toEqual(first);
  });

  it('stays in [0, 1) with a mean near one half', () => {
    const random = mulberry32(7);
    const draws = Array.from({ length: 10_000 }, random);
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
    expect(draws.reduce((sum, x) => sum + x, 0) / draws.length).toBeCloseTo(0.5, 1);
  });
});

describe('shuffled', () => {
  it('returns a reordered copy holding the same items, leaving the input alone', () => {
    const input = Array.from({ length: 50 }, (_, i) => i);
    const output = shuffled(input, mulberry32(1));
    expect(input).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(output).not.toEqual(input);
    expect([...output].sort((x, y) => x - y)).toEqual(input);
  });
});
