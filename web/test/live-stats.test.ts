import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { PipelineStats } from '../src/app/services.ts';
import { StatsHub } from '../src/server/live-stats.ts';

class FakeResponse extends EventEmitter {
  chunks: string[] = [];
  status = 0;
  ended = false;
  writeHead(status: number) {
    this.status = status;
    return this;
  }
  write(chunk: string) {
    this.chunks.push(chunk);
    return true;
  }
  end() {
    this.ended = true;
    this.emit('close');
  }
}

const stats = { at: 'now', streams: 1 } as unknown as PipelineStats;
const hubs: StatsHub[] = [];
afterEach(() => {
  for (const hub of hubs.splice(0)) hub.close();
});

function hub(fetchStats: () => Promise<PipelineStats | null>) {
  const created = new StatsHub({ fetchStats, intervalMs: 20 });
  hubs.push(created);
  return created;
}

const add = (h: StatsHub) => {
  const response = new FakeResponse();
  h.add(response as unknown as ServerResponse);
  return response;
};

describe('StatsHub', () => {
  it('polls once per interval however many clients listen, and stops without clients', async () => {
    let calls = 0;
    const h = hub(async () => {
      calls++;
      return stats;
    });
    const clients = Array.from({ length: 20 }, () => add(h));
    await new Promise((resolve) => setTimeout(resolve, 110));
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(calls).toBeLessThanOrEqual(8);
    for (const client of clients) {
      expect(client.status).toBe(200);
      expect(client.chunks[0]).toBe('retry: 1000\n\n');
      expect(client.chunks[1]).toContain('event: stats\n');
    }
    for (const client of clients) client.end();
    const stopped = calls;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(calls).toBe(stopped);
    expect(h.size).toBe(0);
  });

  it('says unavailable when the API does not answer, and serves a late joiner the newest event at once', async () => {
    const h = hub(async () => null);
    add(h);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const late = add(h);
    expect(late.chunks[1]).toMatch(/^event: unavailable\ndata: \{"message":/);
  });

  it('keeps one poller when the last client leaves and another joins during a poll', async () => {
    let calls = 0;
    const h = hub(async () => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 30));
      return stats;
    });
    add(h).end();
    add(h);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // One poller: a poll takes 30 ms and the next starts right after, so about 200 / 30 + 1 polls in all; the
    // abandoned poll carrying on as a second poller would double that.
    expect(calls).toBeLessThanOrEqual(9);
    expect(calls).toBeGreaterThanOrEqual(4);
  });

  it('ends every client on close', () => {
    const h = hub(async () => stats);
    const a = add(h);
    const b = add(h);
    h.close();
    expect(a.ended && b.ended).toBe(true);
  });
});
