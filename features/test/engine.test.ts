import type { ChangeEvent } from '@brisk/cdc';
import { createMetrics, fixedClock, silentLogger } from '@brisk/core';
import { describe, expect, it } from 'vitest';
import { MapCatalogue } from '../src/catalogue.ts';
import { computeFeatures } from '../src/compute.ts';
import { FeatureEngine } from '../src/engine.ts';
import type { CommitRequest, CommitResult, StateStore } from '../src/ports.ts';
import { applyPlan, emptyState, type UserState } from '../src/state.ts';

/**
 * The engine against an in-memory implementation of its store port: routing of key-only deletes through the
 * row index, rows moving between users, dead letters, and re-planning when a user's version moved under it.
 */
const NOW_US = Date.UTC(2026, 10, 24, 12) * 1000;

class MemoryStore implements StateStore {
  readonly durable = new Map<string, UserState>();
  readonly owners = new Map<string, string>();
  readonly deadLetters: CommitRequest['deadLetters'][number][] = [];
  checkpoint = 0;
  commits = 0;
  /** Users whose next commit fails as if another writer had moved their version first. */
  readonly conflictOnce = new Set<string>();

  async states(userIds: readonly string[]) {
    return this.freshStates(userIds);
  }
  async freshStates(userIds: readonly string[]) {
    return new Map(userIds.map((id) => [id, clone(this.durable.get(id) ?? emptyState(id))]));
  }
  async rowOwners(rowIds: readonly string[]) {
    return new Map(rowIds.filter((id) => this.owners.has(id)).map((id) => [id, this.owners.get(id)!]));
  }
  truncatedBeforeLsn() {
    return 0;
  }
  readonly products = new MapCatalogue();
  catalogue() {
    return this.products;
  }
  async commit(request: CommitRequest): Promise<CommitResult> {
    this.commits++;
    const conflicts: string[] = [];
    for (const { state, plan } of request.users) {
      const stored = this.durable.get(state.userId) ?? emptyState(state.userId);
      if (this.conflictOnce.delete(state.userId)) {
        stored.version++;
        this.durable.set(state.userId, stored);
      }
      if (stored.version !== state.version) {
        conflicts.push(state.userId);
        continue;
      }
      applyPlan(state, plan);
      this.durable.set(state.userId, clone(state));
    }
    for (const [rowId, userId] of request.ownerSets) this.owners.set(rowId, userId);
    this.deadLetters.push(...request.deadLetters);
    if (request.checkpoint !== null) this.checkpoint = Math.max(this.checkpoint, request.checkpoint);
    return { conflicts };
  }
}

function clone(state: UserState): UserState {
  return { ...state, rows: new Map(state.rows) };
}

let lsn = 1000;
function event(
  op: 'c' | 'u' | 'd',
  row: Record<string, unknown> | null,
  before: Record<string, unknown> | null = null,
) {
  lsn += 10;
  return {
    op,
    before,
    after: row,
    source: {
      table: 'user_activity',
      schema: 'public',
      lsn,
      sequence: `["${lsn - 5}","${lsn}"]`,
      ts_us: NOW_US,
      ts_ms: NOW_US / 1000,
    },
    ts_ms: NOW_US / 1000,
  } as unknown as ChangeEvent;
}

function view(id: string, user: string, product: string | null, second: number) {
  return {
    id,
    user_id: user,
    activity_type: 'VIEW_PRODUCT',
    product_id: product,
    activity_timestamp: new Date(NOW_US / 1000 - 60_000 + second * 1000).toISOString(),
  };
}

function engine(store: MemoryStore) {
  return new FeatureEngine({
    store,
    source: { schema: 'public', table: 'user_activity' },
    maxRowsPerUser: 100,
    retentionUs: 7 * 86_400 * 1e6,
    metrics: createMetrics({ defaultMetrics: false }),
    logger: silentLogger,
    clock: fixedClock(NOW_US),
  });
}

const lastViewed = (store: MemoryStore, user: string) =>
  computeFeatures(
    store.durable.get(user) ?? emptyState(user),
    { nowUs: NOW_US, catalogue: store.products, truncatedBeforeLsn: 0 },
    ['lastViewedProduct'],
  ).lastViewedProduct;

describe('FeatureEngine', () => {
  it('finds the owner of a key-only delete through the row index and falls back', async () => {
    const store = new MemoryStore();
    const e = engine(store);
    await e.submit([event('c', view('r1', 'u1', 'p-1', 1)), event('c', view('r2', 'u1', 'p-2', 2))], 1111);
    expect(lastViewed(store, 'u1')).toBe('p-2');
    expect(store.owners.get('r2')).toBe('u1');
    await e.submit([event('d', null, { id: 'r2', user_id: null })]);
    expect(lastViewed(store, 'u1')).toBe('p-1');
    expect(store.checkpoint).toBe(1111);
  });

  it('moves a row when an update without a before image changes user_id', async () => {
    const store = new MemoryStore();
    const e = engine(store);
    await e.submit([event('c', view('r1', 'from', 'p-moved', 1))]);
    await e.submit([event('u', view('r1', 'to', 'p-moved', 1))]);
    expect(lastViewed(store, 'to')).toBe('p-moved');
    expect(lastViewed(store, 'from')).toBeNull();
    expect(store.owners.get('r1')).toBe('to');
  });

  it('re-plans a user whose version moved under it, and commits the others at once', async () => {
    const store = new MemoryStore();
    const e = engine(store);
    store.conflictOnce.add('u1');
    await e.submit([event('c', view('r1', 'u1', 'p-1', 1)), event('c', view('r2', 'u2', 'p-2', 1))]);
    expect(store.commits).toBe(2);
    expect(lastViewed(store, 'u1')).toBe('p-1');
    expect(lastViewed(store, 'u2')).toBe('p-2');
    expect(store.durable.get('u1')!.version).toBe(2);
  });

  it('turns unusable rows into dead letters and still applies the rest of the batch', async () => {
    const store = new MemoryStore();
    const e = engine(store);
    await e.submit([
      event('c', { ...view('r1', 'u1', 'p-1', 1), activity_timestamp: 'yesterday' }),
      event('c', view('r2', 'u1', null, 2)),
      event('c', view('r3', 'u1', 'p-3', 3)),
    ]);
    expect(store.deadLetters.map((d) => [d.code, d.disposition])).toEqual([
      ['BRISK_EVENT_INVALID_TIMESTAMP', 'rejected'],
      ['BRISK_EVENT_MISSING_PRODUCT', 'kept'],
    ]);
    expect(store.durable.get('u1')!.rows.size).toBe(2);
    expect(lastViewed(store, 'u1')).toBe('p-3');
  });

  it('applies a redelivered batch as a no-op', async () => {
    const store = new MemoryStore();
    const e = engine(store);
    const batch = [event('c', view('r1', 'u1', 'p-1', 1)), event('c', view('r2', 'u1', 'p-2', 2))];
    await e.submit(batch);
    const version = store.durable.get('u1')!.version;
    await e.submit(batch);
    expect(store.durable.get('u1')!.version).toBe(version);
  });
});
