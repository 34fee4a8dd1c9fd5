import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ActivityRow } from '../src/activity.ts';
import { computeFeatures } from '../src/compute.ts';
import { FEATURES } from '../src/definitions.ts';
import { emptyState, type StoredRow, type UserState } from '../src/state.ts';

const T = Date.UTC(2026, 10, 24, 12, 0, 0) * 1000;

function stateOf(rows: Record<string, StoredRow>): UserState {
  const state = emptyState('user-1');
  for (const [id, row] of Object.entries(rows)) state.rows.set(id, row);
  return state;
}

function row(type: string, productId: string | null, eventUs: number, lsn: number, order = lsn): StoredRow {
  const data: ActivityRow = { type, productId, eventUs };
  return { lsn, order, eventUs, data };
}

const tombstone = (eventUs: number, lsn: number): StoredRow => ({ lsn, order: lsn, eventUs, data: null });

const last = (state: UserState, truncatedBeforeLsn = 0) =>
  computeFeatures(state, truncatedBeforeLsn).lastViewedProduct;

describe('definitions', () => {
  it('declares lastViewedProduct as the last VIEW_PRODUCT product', () => {
    expect(Object.keys(FEATURES)).toEqual(['lastViewedProduct']);
    expect(FEATURES.lastViewedProduct).toMatchObject({
      activityTypes: ['VIEW_PRODUCT'],
      aggregation: 'last',
      value: 'productId',
    });
  });

  it('defaults: an empty state computes every feature as null', () => {
    expect(computeFeatures(emptyState('nobody'), 0)).toEqual({ lastViewedProduct: null });
  });
});

describe('lastViewedProduct', () => {
  it('is the product of the newest VIEW_PRODUCT by activity time, not by commit order', () => {
    const state = stateOf({
      a: row('VIEW_PRODUCT', 'p-early-committed-late', T, 900),
      b: row('VIEW_PRODUCT', 'p-newest', T + 5, 100),
      c: row('VIEW_PRODUCT', 'p-mid', T + 2, 500),
    });
    expect(computeFeatures(state, 0)).toEqual({ lastViewedProduct: 'p-newest' });
  });

  it('equal activity times: the later transaction (order) wins, then the later change (lsn)', () => {
    expect(
      last(
        stateOf({
          a: row('VIEW_PRODUCT', 'by-order', T, 100, 80),
          b: row('VIEW_PRODUCT', 'loses', T, 300, 50),
        }),
      ),
    ).toBe('by-order');
    expect(
      last(
        stateOf({
          a: row('VIEW_PRODUCT', 'by-lsn', T, 120, 80),
          b: row('VIEW_PRODUCT', 'loses', T, 110, 80),
        }),
      ),
    ).toBe('by-lsn');
    // Insertion order of the map does not matter.
    expect(
      last(
        stateOf({
          b: row('VIEW_PRODUCT', 'loses', T, 110, 80),
          a: row('VIEW_PRODUCT', 'by-lsn', T, 120, 80),
        }),
      ),
    ).toBe('by-lsn');
  });

  it('deleting the newest view falls back to the previous one, then to null', () => {
    const state = stateOf({
      a: row('VIEW_PRODUCT', 'p1', T, 10),
      b: row('VIEW_PRODUCT', 'p2', T + 1, 20),
    });
    expect(last(state)).toBe('p2');
    state.rows.set('b', tombstone(T + 1, 30));
    expect(last(state)).toBe('p1');
    state.rows.set('a', tombstone(T, 40));
    expect(last(state)).toBeNull();
  });

  it('ignores other activity types and views without a product', () => {
    const state = stateOf({
      a: row('VIEW_PRODUCT', 'p-old', T, 10),
      b: row('VIEW_PRODUCT', null, T + 3, 20),
      c: row('CLICK_PRODUCT', 'p-click', T + 4, 30),
      d: row('PURCHASE', 'p-buy', T + 5, 40),
      e: row('view_product', 'p-case', T + 6, 50),
    });
    expect(last(state)).toBe('p-old');
  });

  it('hides rows below truncatedBeforeLsn', () => {
    const state = stateOf({ a: row('VIEW_PRODUCT', 'p1', T, 10), b: row('VIEW_PRODUCT', 'p2', T + 1, 20) });
    expect(last(state, 15)).toBe('p2');
    expect(last(state, 21)).toBeNull();
    state.rows.set('c', row('VIEW_PRODUCT', 'p3', T - 100, 30));
    expect(last(state, 21)).toBe('p3');
  });

  it('agrees with a sort-based reference for any set of rows', () => {
    const rows = fc.uniqueArray(
      fc.record({
        id: fc.integer({ min: 0, max: 20 }),
        type: fc.constantFrom('VIEW_PRODUCT', 'CLICK_PRODUCT'),
        product: fc.constantFrom('p1', 'p2', 'p3', null),
        deleted: fc.boolean(),
        eventUs: fc.integer({ min: 0, max: 3 }),
        order: fc.integer({ min: 0, max: 3 }),
        lsn: fc.integer({ min: 0, max: 1_000_000 }),
      }),
      { selector: (r) => r.lsn, maxLength: 12 },
    );
    fc.assert(
      fc.property(rows, fc.integer({ min: 0, max: 1_000_000 }), (specs, cut) => {
        const state = emptyState('u');
        for (const s of specs) {
          state.rows.set(
            `r${s.id}`,
            s.deleted
              ? tombstone(T + s.eventUs, s.lsn)
              : row(s.type, s.product, T + s.eventUs, s.lsn, s.order),
          );
        }
        const candidates = [...state.rows.values()]
          .filter((r) => r.data?.type === 'VIEW_PRODUCT' && r.data.productId !== null && r.lsn >= cut)
          .sort((a, b) => a.eventUs - b.eventUs || a.order - b.order || a.lsn - b.lsn);
        expect(last(state, cut)).toBe(candidates.at(-1)?.data?.productId ?? null);
      }),
    );
  });
});
