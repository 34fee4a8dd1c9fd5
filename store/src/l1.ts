import { isBriskError, type Metrics } from '@brisk/core';
import type { UserState } from '@brisk/features';
import { LRUCache } from 'lru-cache';

/**
 * The in-process cache in front of Redis. Concurrent misses for one user share a single load (lru-cache's
 * fetchMethod). A write-through put() while a load is in flight wins: lru-cache aborts that load so its older
 * value is never stored, and the reader waiting on it takes the newer one.
 */
const ROW_BYTES = 160;
const STATE_BYTES = 256;

export class L1Cache {
  private readonly cache: LRUCache<string, UserState>;
  private readonly metrics: Metrics;
  private readonly load: (userId: string) => Promise<UserState>;

  constructor(options: { maxBytes: number; load: (userId: string) => Promise<UserState>; metrics: Metrics }) {
    this.metrics = options.metrics;
    this.load = options.load;
    this.cache = new LRUCache<string, UserState>({
      maxSize: options.maxBytes,
      sizeCalculation: (state) => STATE_BYTES + state.rows.size * ROW_BYTES,
      fetchMethod: (userId) => options.load(userId),
    });
  }

  async get(userId: string): Promise<UserState> {
    const hit = this.cache.get(userId);
    if (hit !== undefined) {
      this.metrics.l1Hits.inc();
      return hit;
    }
    this.metrics.l1Misses.inc();
    try {
      const loaded = await this.cache.fetch(userId);
      this.metrics.l1Entries.set(this.cache.size);
      if (loaded !== undefined) return loaded;
    } catch (error) {
      // Store errors are the caller's to handle; anything else is lru-cache aborting a load we superseded.
      if (isBriskError(error)) throw error;
    }
    // The load was superseded (a newer state was put, or the entry invalidated while it ran). Take the cached
    // state if there is one now; otherwise read straight from the store: that read starts after the
    // invalidation, so it is at least as new. Retrying the shared fetch instead can lose every race while a
    // user changes faster than a load takes.
    return this.cache.peek(userId) ?? this.load(userId);
  }

  peek(userId: string): UserState | undefined {
    return this.cache.peek(userId);
  }

  /** Stores a state that is already durable in Redis (re-measuring its size, which changes as rows do). */
  put(state: UserState): void {
    this.cache.set(state.userId, state);
    this.metrics.l1Entries.set(this.cache.size);
  }

  invalidate(userId: string): void {
    this.cache.delete(userId);
  }

  clear(): void {
    this.cache.clear();
    this.metrics.l1Entries.set(0);
  }
}
