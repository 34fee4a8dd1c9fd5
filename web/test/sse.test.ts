import { describe, expect, it } from 'vitest';
import { commitTimeMs } from '../src/app/commit-time.ts';
import { formatSse, SseParser } from '../src/app/sse.ts';

describe('SseParser', () => {
  it('parses events split across chunks at any point', () => {
    const wire =
      'retry: 1000\n\n: hb\n\nid: 3\nevent: features\ndata: {"a":\ndata: 1}\n\nevent: x\r\ndata: y\r\n\r\n';
    for (let split = 0; split <= wire.length; split++) {
      const parser = new SseParser();
      const out = [...parser.push(wire.slice(0, split)), ...parser.push(wire.slice(split))];
      expect(out).toEqual([
        { kind: 'comment', text: 'hb' },
        { kind: 'event', event: 'features', data: '{"a":\n1}', id: '3' },
        { kind: 'event', event: 'x', data: 'y', id: '3' },
      ]);
    }
  });

  it('round-trips what formatSse writes', () => {
    const parser = new SseParser();
    expect(parser.push(formatSse('stats', 'one\ntwo', '7'))).toEqual([
      { kind: 'event', event: 'stats', data: 'one\ntwo', id: '7' },
    ]);
  });
});

describe('commitTimeMs', () => {
  it('keeps microseconds', () => {
    const base = Date.parse('2025-01-01T10:00:00.123Z');
    expect(commitTimeMs('2025-01-01T10:00:00.123456Z')).toBeCloseTo(base + 0.456, 6);
    expect(commitTimeMs('2025-01-01T10:00:00Z')).toBe(Date.parse('2025-01-01T10:00:00Z'));
  });

  it('reads offsets and the PostgreSQL text form', () => {
    const utc = Date.parse('2025-01-01T10:00:00Z');
    expect(commitTimeMs('2025-01-01 12:00:00+02')).toBe(utc);
    expect(commitTimeMs('2025-01-01T12:00:00+0200')).toBe(utc);
    expect(commitTimeMs('2025-01-01T05:30:00-04:30')).toBe(utc);
    expect(commitTimeMs('2025-01-01T10:00:00')).toBe(utc);
  });

  it('returns null for anything else', () => {
    for (const bad of ['', 'yesterday', '2025-13-01T00:00:00Z', '2025-01-01'])
      expect(commitTimeMs(bad)).toBeNull();
  });
});
