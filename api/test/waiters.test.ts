import { describe, expect, it } from 'vitest';
import type { ChangedVersion } from '../src/waiters.ts';
import { VersionWaiters } from '../src/waiters.ts';

function feed() {
  const listeners = new Set<(changes: readonly ChangedVersion[]) => void>();
  return {
    subscribe: (listener: (changes: readonly ChangedVersion[]) => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit: (changes: ChangedVersion[]) => {
      for (const listener of listeners) listener(changes);
    },
    get size() {
      return listeners.size;
    },
  };
}

describe('VersionWaiters', () => {
  it('wakes a waiter when its user reaches the version, and only then', async () => {
    const changes = feed();
    const waiters = new VersionWaiters(changes.subscribe);
    let settled: boolean | undefined;
    const waiting = waiters.wait('u1', 3, 1_000, new AbortController().signal).then((r) => {
      settled = r;
    });
    changes.emit([{ userId: 'u2', version: 9 }]);
    changes.emit([{ userId: 'u1', version: 2 }]);
    await Promise.resolve();
    expect(settled).toBeUndefined();
    changes.emit([
      { userId: 'u2', version: 10 },
      { userId: 'u1', version: 3 },
    ]);
    await waiting;
    expect(settled).toBe(true);
  });

  it('answers false on timeout and on abort, and forgets the waiter', async () => {
    const changes = feed();
    const waiters = new VersionWaiters(changes.subscribe);
    expect(await waiters.wait('u1', 1, 5, new AbortController().signal)).toBe(false);
    const abort = new AbortController();
    const aborted = waiters.wait('u1', 1, 10_000, abort.signal);
    abort.abort();
    expect(await aborted).toBe(false);
    // Nothing is left registered: a later change must not throw or resolve anything twice.
    changes.emit([{ userId: 'u1', version: 5 }]);
  });

  it('refuses new waits beyond its bound', async () => {
    const waiters = new VersionWaiters(feed().subscribe, 2);
    const signal = new AbortController().signal;
    const first = waiters.wait('a', 1, 50, signal);
    const second = waiters.wait('b', 1, 50, signal);
    await expect(waiters.wait('c', 1, 50, signal)).rejects.toThrow(/too many/);
    expect(await Promise.all([first, second])).toEqual([false, false]);
    expect(await waiters.wait('c', 1, 1, signal)).toBe(false);
  });

  it('releases every waiter and its subscription on close', async () => {
    const changes = feed();
    const waiters = new VersionWaiters(changes.subscribe);
    const waiting = waiters.wait('u1', 1, 10_000, new AbortController().signal);
    waiters.close();
    expect(await waiting).toBe(false);
    expect(changes.size).toBe(0);
  });
});
