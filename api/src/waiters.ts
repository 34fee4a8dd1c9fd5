/**
 * Requests waiting for a user's state to reach a version (read-your-writes: "answer once my write is in").
 * One listener on the store's change feed dispatches each change to that user's waiters only, by map lookup,
 * never by scanning every waiter. The number of waiters is bounded; beyond it, new waits are refused.
 */
export interface ChangedVersion {
  readonly userId: string;
  readonly version: number;
}

/** Subscribes to every committed change; returns the unsubscribe function. */
export type ChangeFeed = (listener: (changes: readonly ChangedVersion[]) => void) => () => void;

interface Waiter {
  readonly minVersion: number;
  readonly resolve: (reached: boolean) => void;
}

export class VersionWaiters {
  private readonly byUser = new Map<string, Set<Waiter>>();
  private count = 0;
  private readonly unsubscribe: () => void;

  constructor(
    feed: ChangeFeed,
    private readonly maxWaiters = 10_000,
  ) {
    this.unsubscribe = feed((changes) => {
      for (const { userId, version } of changes) {
        const waiters = this.byUser.get(userId);
        if (!waiters) continue;
        for (const waiter of waiters) if (version >= waiter.minVersion) this.settle(userId, waiter, true);
      }
    });
  }

  /** True when the version was reached before the timeout or the abort. Throws when too many are waiting. */
  wait(userId: string, minVersion: number, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    if (this.count >= this.maxWaiters) return Promise.reject(new Error('too many waiting requests'));
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = {
        minVersion,
        resolve: (reached) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          resolve(reached);
        },
      };
      const timer = setTimeout(() => this.settle(userId, waiter, false), timeoutMs);
      const onAbort = () => this.settle(userId, waiter, false);
      signal.addEventListener('abort', onAbort, { once: true });
      const waiters = this.byUser.get(userId);
      if (waiters) waiters.add(waiter);
      else this.byUser.set(userId, new Set([waiter]));
      this.count++;
    });
  }

  close(): void {
    this.unsubscribe();
    for (const [userId, waiters] of this.byUser)
      for (const waiter of waiters) this.settle(userId, waiter, false);
  }

  private settle(userId: string, waiter: Waiter, reached: boolean): void {
    const waiters = this.byUser.get(userId);
    if (!waiters?.delete(waiter)) return;
    this.count--;
    if (waiters.size === 0) this.byUser.delete(userId);
    waiter.resolve(reached);
  }
}
