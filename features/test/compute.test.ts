import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ActivityRow } from '../src/activity.ts';
import { EMBEDDING_DIMS, MapCatalogue, makeProduct, type Product } from '../src/catalogue.ts';
import { computeFeatures, FEATURE_NAMES } from '../src/compute.ts';
import { FEATURES, type FeatureName, longestWindowUs, WINDOW_US } from '../src/definitions.ts';
import { emptyState, type StoredRow, type UserState } from '../src/state.ts';

const S = 1_000_000;
const MIN = 60 * S;
const HOUR = 60 * MIN;
const T = Date.UTC(2026, 10, 24, 12, 0, 0) * 1000;

const PRODUCTS: readonly Product[] = [
  makeProduct('tv', 'Aurora 4K Television', 'electronics', 499),
  makeProduct('phone', 'Nimbus Smartphone', 'electronics', 799),
  makeProduct('novel', 'The Quiet Harbor', 'books', 15),
  makeProduct('atlas', 'World Atlas', 'books', 40),
  makeProduct('pan', 'Cast Iron Frying Pan', 'kitchen', 35),
  makeProduct('kettle', 'Copper Kettle', 'kitchen', 60),
  makeProduct('mat', 'Yoga Mat', 'sports', 25),
];
const catalogue = new MapCatalogue(PRODUCTS);
const embeddingOf = (id: string): readonly number[] => catalogue.get(id)!.embedding;
const ZEROS = new Array<number>(EMBEDDING_DIMS).fill(0);

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

function features(state: UserState, nowUs: number, names?: readonly FeatureName[], truncatedBeforeLsn = 0) {
  return computeFeatures(state, { nowUs, catalogue, truncatedBeforeLsn }, names);
}
const one = <K extends FeatureName>(state: UserState, nowUs: number, name: K, truncatedBeforeLsn = 0) =>
  features(state, nowUs, [name], truncatedBeforeLsn)[name];

/** The definition's weighted mean, written out: weights 0.5^(age / 60 s), ages clamped at 0. */
function decayedMean(entries: readonly [productId: string, ageUs: number][]): number[] {
  const weights = entries.map(([, age]) => 0.5 ** (Math.max(0, age) / (60 * S)));
  const total = weights.reduce((a, b) => a + b, 0);
  return ZEROS.map(
    (_, i) => entries.reduce((sum, [id], k) => sum + weights[k]! * embeddingOf(id)[i]!, 0 as number) / total,
  );
}

/** Per component within `tolerance` (the feature rounds to 6 decimals). */
function expectClose(actual: unknown, expected: readonly number[], tolerance = 1e-6) {
  expect(Array.isArray(actual)).toBe(true);
  const vector = actual as number[];
  expect(vector).toHaveLength(expected.length);
  const worst = Math.max(0, ...vector.map((v, i) => Math.abs(v - expected[i]!)));
  expect(worst).toBeLessThanOrEqual(tolerance + 1e-12);
}

const round6 = (v: number) => Math.round(v * 1e6) / 1e6;

describe('definitions', () => {
  it('declares the ten default features, in API order', () => {
    const names = [
      'lastViewedProduct',
      'lastClickedCategory',
      'viewCount30s',
      'clickCount30s',
      'viewCount5m',
      'clickCount5m',
      'activityCount1h',
      'recentProducts',
      'topCategories5m',
      'embedding',
    ];
    expect(Object.keys(FEATURES)).toEqual(names);
    expect(FEATURE_NAMES).toEqual(names);
    expect(FEATURES.lastViewedProduct).toMatchObject({
      where: { activityTypes: ['VIEW_PRODUCT'], requireProduct: true },
      window: 'lifetime',
      aggregation: { kind: 'last', value: 'productId' },
    });
  });

  it('windows are 30 s, 5 min, 1 h and unbounded; the longest window is the lifetime', () => {
    expect(WINDOW_US).toEqual({
      '30s': 30 * S,
      '5m': 5 * MIN,
      '1h': HOUR,
      lifetime: Number.POSITIVE_INFINITY,
    });
    expect(longestWindowUs()).toBe(Number.POSITIVE_INFINITY);
  });

  it('an empty state computes every feature as its default value', () => {
    expect(EMBEDDING_DIMS).toBeGreaterThanOrEqual(16);
    expect(features(emptyState('nobody'), T)).toEqual({
      lastViewedProduct: null,
      lastClickedCategory: null,
      viewCount30s: 0,
      clickCount30s: 0,
      viewCount5m: 0,
      clickCount5m: 0,
      activityCount1h: 0,
      recentProducts: [],
      topCategories5m: [],
      embedding: ZEROS,
    });
  });
});

describe('the whole vector of a mixed history', () => {
  const state = stateOf({
    a: row('VIEW_PRODUCT', 'tv', T - 10 * S, 1),
    b: row('VIEW_PRODUCT', 'novel', T - 40 * S, 2),
    c: row('CLICK_PRODUCT', 'pan', T - 5 * S, 3),
    d: row('CLICK_PRODUCT', 'ghost', T - 2 * S, 4),
    e: row('ADD_TO_CART', 'tv', T - 100 * S, 5),
    f: row('WISHLIST', null, T - 20 * MIN, 6),
    g: row('PURCHASE', 'kettle', T - 2 * HOUR, 7),
    h: row('VIEW_PRODUCT', null, T - S, 8),
  });

  it('at the moment of reading', () => {
    const { embedding, ...rest } = features(state, T);
    expect(rest).toEqual({
      lastViewedProduct: 'tv',
      lastClickedCategory: 'kitchen',
      viewCount30s: 2,
      clickCount30s: 2,
      viewCount5m: 3,
      clickCount5m: 2,
      activityCount1h: 7,
      recentProducts: ['ghost', 'pan', 'tv', 'novel', 'kettle'],
      topCategories5m: [
        { category: 'electronics', count: 2 },
        { category: 'kitchen', count: 1 },
        { category: 'books', count: 1 },
      ],
    });
    expectClose(
      embedding,
      decayedMean([
        ['tv', 10 * S],
        ['novel', 40 * S],
        ['pan', 5 * S],
      ]),
    );
  });

  it('two hours later, with no new events, only the lifetime features remain', () => {
    const { embedding, ...rest } = features(state, T + 2 * HOUR);
    expect(rest).toEqual({
      lastViewedProduct: 'tv',
      lastClickedCategory: 'kitchen',
      viewCount30s: 0,
      clickCount30s: 0,
      viewCount5m: 0,
      clickCount5m: 0,
      activityCount1h: 0,
      recentProducts: ['ghost', 'pan', 'tv', 'novel', 'kettle'],
      topCategories5m: [],
    });
    expect(embedding).toHaveLength(EMBEDDING_DIMS);
  });
});

describe('lastViewedProduct', () => {
  const last = (state: UserState, truncatedBeforeLsn = 0) =>
    one(state, T + HOUR, 'lastViewedProduct', truncatedBeforeLsn);

  it('is the product of the newest VIEW_PRODUCT by activity time, not by commit order', () => {
    const state = stateOf({
      a: row('VIEW_PRODUCT', 'p-early-committed-late', T, 900),
      b: row('VIEW_PRODUCT', 'p-newest', T + 5, 100),
      c: row('VIEW_PRODUCT', 'p-mid', T + 2, 500),
    });
    expect(features(state, T + HOUR, ['lastViewedProduct'])).toEqual({ lastViewedProduct: 'p-newest' });
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

  it('is a lifetime feature: a view from two days ago still counts, and products need no catalogue entry', () => {
    const state = stateOf({ a: row('VIEW_PRODUCT', 'not-in-catalogue', T - 48 * HOUR, 1) });
    expect(last(state)).toBe('not-in-catalogue');
  });

  it('hides rows below truncatedBeforeLsn', () => {
    const state = stateOf({ a: row('VIEW_PRODUCT', 'p1', T, 10), b: row('VIEW_PRODUCT', 'p2', T + 1, 20) });
    expect(last(state, 15)).toBe('p2');
    expect(last(state, 20)).toBe('p2');
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

describe('lastClickedCategory', () => {
  const category = (state: UserState) => one(state, T + HOUR, 'lastClickedCategory');

  it('is the catalogue category of the newest click', () => {
    const state = stateOf({
      a: row('CLICK_PRODUCT', 'tv', T, 1),
      b: row('CLICK_PRODUCT', 'novel', T + S, 2),
      c: row('VIEW_PRODUCT', 'pan', T + 2 * S, 3),
      d: row('ADD_TO_CART', 'mat', T + 3 * S, 4),
    });
    expect(category(state)).toBe('books');
  });

  it('skips a newer click on a product the catalogue does not know, and a click without a product', () => {
    const state = stateOf({
      a: row('CLICK_PRODUCT', 'pan', T, 1),
      b: row('CLICK_PRODUCT', 'ghost', T + S, 2),
      c: row('CLICK_PRODUCT', null, T + 2 * S, 3),
    });
    expect(category(state)).toBe('kitchen');
  });

  it('is null when no click names a known product', () => {
    expect(category(emptyState('u'))).toBeNull();
    expect(
      category(
        stateOf({
          a: row('CLICK_PRODUCT', 'ghost', T, 1),
          b: row('CLICK_PRODUCT', null, T, 2),
          c: row('VIEW_PRODUCT', 'tv', T, 3),
        }),
      ),
    ).toBeNull();
  });

  it('is a lifetime feature and joins the catalogue at read time', () => {
    const state = stateOf({ a: row('CLICK_PRODUCT', 'tv', T - 48 * HOUR, 1) });
    expect(category(state)).toBe('electronics');
    const recategorised = new MapCatalogue(PRODUCTS);
    recategorised.set(makeProduct('tv', 'Aurora 4K Television', 'home-cinema', 499));
    const ctx = { nowUs: T, catalogue: recategorised, truncatedBeforeLsn: 0 };
    expect(computeFeatures(state, ctx, ['lastClickedCategory'])).toEqual({
      lastClickedCategory: 'home-cinema',
    });
    recategorised.delete('tv');
    expect(computeFeatures(state, ctx, ['lastClickedCategory'])).toEqual({ lastClickedCategory: null });
  });
});

describe('windowed counts', () => {
  it('a row counts when its activity time is strictly after nowUs - 30 s (exact boundary)', () => {
    const state = stateOf({ a: row('VIEW_PRODUCT', 'tv', T, 1), b: row('CLICK_PRODUCT', 'tv', T, 2) });
    const counts = (nowUs: number) => features(state, nowUs, ['viewCount30s', 'clickCount30s']);
    expect(counts(T + 30 * S - 1)).toEqual({ viewCount30s: 1, clickCount30s: 1 });
    expect(counts(T + 30 * S)).toEqual({ viewCount30s: 0, clickCount30s: 0 });
  });

  it('decays with no new events: a view at T counts at T+29 s, not at T+31 s', () => {
    const state = stateOf({ a: row('VIEW_PRODUCT', 'tv', T, 1) });
    const versionBefore = state.version;
    expect(one(state, T, 'viewCount30s')).toBe(1);
    expect(one(state, T + 29 * S, 'viewCount30s')).toBe(1);
    expect(one(state, T + 31 * S, 'viewCount30s')).toBe(0);
    expect(one(state, T + 31 * S, 'viewCount5m')).toBe(1);
    expect(state.version).toBe(versionBefore);
    expect(state.rows.size).toBe(1);
  });

  it('5 minute and 1 hour boundaries are exclusive too', () => {
    const state = stateOf({
      v: row('VIEW_PRODUCT', 'tv', T, 1),
      c: row('CLICK_PRODUCT', 'tv', T, 2),
      w: row('WISHLIST', null, T, 3),
    });
    const at = (nowUs: number) => features(state, nowUs, ['viewCount5m', 'clickCount5m', 'activityCount1h']);
    expect(at(T + 5 * MIN - 1)).toEqual({ viewCount5m: 1, clickCount5m: 1, activityCount1h: 3 });
    expect(at(T + 5 * MIN)).toEqual({ viewCount5m: 0, clickCount5m: 0, activityCount1h: 3 });
    expect(at(T + HOUR - 1)).toEqual({ viewCount5m: 0, clickCount5m: 0, activityCount1h: 3 });
    expect(at(T + HOUR)).toEqual({ viewCount5m: 0, clickCount5m: 0, activityCount1h: 0 });
  });

  it('rows from the future count (clock skew, late reads)', () => {
    const state = stateOf({
      a: row('VIEW_PRODUCT', 'tv', T + 10 * S, 1),
      b: row('CLICK_PRODUCT', 'tv', T + 2 * HOUR, 2),
    });
    expect(features(state, T, ['viewCount30s', 'clickCount30s', 'activityCount1h'])).toEqual({
      viewCount30s: 1,
      clickCount30s: 1,
      activityCount1h: 2,
    });
  });

  it('counts only their own type; views and clicks without a product still count', () => {
    const state = stateOf({
      a: row('VIEW_PRODUCT', 'tv', T - S, 1),
      b: row('VIEW_PRODUCT', null, T - 2 * S, 2),
      c: row('VIEW_PRODUCT', 'ghost', T - 3 * S, 3),
      d: row('CLICK_PRODUCT', null, T - 4 * S, 4),
      e: row('ADD_TO_CART', 'tv', T - 5 * S, 5),
      f: row('PURCHASE', 'tv', T - 6 * S, 6),
      g: row('CLICK_PRODUCT', 'pan', T - 2 * MIN, 7),
      h: row('VIEW_PRODUCT', 'pan', T - 4 * MIN, 8),
    });
    expect(
      features(state, T, ['viewCount30s', 'clickCount30s', 'viewCount5m', 'clickCount5m', 'activityCount1h']),
    ).toEqual({ viewCount30s: 3, clickCount30s: 1, viewCount5m: 4, clickCount5m: 2, activityCount1h: 8 });
  });

  it('activityCount1h counts every type, unknown ones and rows without a product included', () => {
    const state = stateOf({
      a: row('WISHLIST', 'tv', T - 59 * MIN, 1),
      b: row('WISHLIST', null, T - 10 * MIN, 2),
      c: row('SEARCH', null, T - S, 3),
      d: row('PURCHASE', 'ghost', T - 2 * S, 4),
      e: row('VIEW_PRODUCT', 'tv', T - 61 * MIN, 5),
    });
    expect(one(state, T, 'activityCount1h')).toBe(4);
    expect(one(state, T + 2 * MIN, 'activityCount1h')).toBe(3);
  });
});

describe('recentProducts', () => {
  it('up to 10 distinct products of any activity type, newest first', () => {
    const rows: Record<string, StoredRow> = {};
    const types = ['VIEW_PRODUCT', 'CLICK_PRODUCT', 'ADD_TO_CART', 'PURCHASE', 'WISHLIST'];
    for (let i = 0; i < 12; i++) rows[`r${i}`] = row(types[i % 5]!, `p${i}`, T + i * S, i + 1);
    // Touching p3 again makes it the newest; a row without a product is skipped.
    rows.again = row('VIEW_PRODUCT', 'p3', T + 20 * S, 100);
    rows.none = row('VIEW_PRODUCT', null, T + 30 * S, 101);
    expect(one(stateOf(rows), T, 'recentProducts')).toEqual([
      'p3',
      'p11',
      'p10',
      'p9',
      'p8',
      'p7',
      'p6',
      'p5',
      'p4',
      'p2',
    ]);
  });

  it('is a lifetime feature, and names products the catalogue does not know', () => {
    const state = stateOf({
      a: row('WISHLIST', 'ghost', T - 48 * HOUR, 1),
      b: row('VIEW_PRODUCT', 'tv', T - 47 * HOUR, 2),
      c: row('VIEW_PRODUCT', 'ghost', T - 49 * HOUR, 3),
    });
    expect(one(state, T, 'recentProducts')).toEqual(['tv', 'ghost']);
  });
});

describe('topCategories5m', () => {
  it('up to 3 categories, most frequent first, equal counts newest first, unknown products skipped', () => {
    const state = stateOf({
      a: row('VIEW_PRODUCT', 'novel', T - 10 * S, 1),
      b: row('PURCHASE', 'atlas', T - 20 * S, 2),
      c: row('ADD_TO_CART', 'pan', T - 5 * S, 3),
      d: row('CLICK_PRODUCT', 'tv', T - 30 * S, 4),
      e: row('WISHLIST', 'phone', T - 40 * S, 5),
      f: row('VIEW_PRODUCT', 'mat', T - 2 * S, 6),
      g: row('VIEW_PRODUCT', 'ghost', T - S, 7),
      h: row('VIEW_PRODUCT', 'ghost', T - S, 8),
      i: row('VIEW_PRODUCT', 'ghost', T - S, 9),
      j: row('VIEW_PRODUCT', null, T - S, 10),
      k: row('VIEW_PRODUCT', 'kettle', T - 6 * MIN, 11),
      l: row('VIEW_PRODUCT', 'pan', T - 6 * MIN, 12),
    });
    // books 2 (newest 10 s), electronics 2 (newest 30 s), sports 1 (2 s), kitchen 1 (5 s; the 6 min rows are out).
    expect(one(state, T, 'topCategories5m')).toEqual([
      { category: 'books', count: 2 },
      { category: 'electronics', count: 2 },
      { category: 'sports', count: 1 },
    ]);
  });

  it('the window moves with the reading time', () => {
    const state = stateOf({
      a: row('VIEW_PRODUCT', 'tv', T - 4 * MIN, 1),
      b: row('VIEW_PRODUCT', 'phone', T - 4 * MIN, 2),
      c: row('VIEW_PRODUCT', 'pan', T, 3),
    });
    expect(one(state, T, 'topCategories5m')).toEqual([
      { category: 'electronics', count: 2 },
      { category: 'kitchen', count: 1 },
    ]);
    expect(one(state, T + MIN, 'topCategories5m')).toEqual([{ category: 'kitchen', count: 1 }]);
    expect(one(state, T + 5 * MIN, 'topCategories5m')).toEqual([]);
  });
});

describe('embedding', () => {
  it('is all zeros without a view or click of a known product', () => {
    const state = stateOf({
      a: row('ADD_TO_CART', 'tv', T, 1),
      b: row('PURCHASE', 'pan', T, 2),
      c: row('VIEW_PRODUCT', 'ghost', T, 3),
      d: row('CLICK_PRODUCT', null, T, 4),
      e: row('WISHLIST', 'novel', T, 5),
    });
    expect(one(state, T, 'embedding')).toEqual(ZEROS);
  });

  it('a single view (or click) is the product embedding, rounded to 6 decimals', () => {
    const tv = embeddingOf('tv');
    expect(tv.some((v) => v !== 0)).toBe(true);
    expect(one(stateOf({ a: row('VIEW_PRODUCT', 'tv', T, 1) }), T, 'embedding')).toEqual(tv.map(round6));
    expect(one(stateOf({ a: row('CLICK_PRODUCT', 'pan', T - 5 * S, 1) }), T, 'embedding')).toEqual(
      embeddingOf('pan').map(round6),
    );
  });

  it('half-life 60 s: a view 60 s older weighs half', () => {
    const state = stateOf({
      a: row('VIEW_PRODUCT', 'tv', T, 1),
      b: row('VIEW_PRODUCT', 'novel', T - 60 * S, 2),
    });
    const tv = embeddingOf('tv');
    const novel = embeddingOf('novel');
    const byHand = tv.map((v, i) => (1 * v + 0.5 * novel[i]!) / 1.5);
    expectClose(one(state, T, 'embedding'), byHand);
    // Read 2 min later the ratio is the same: only relative age matters.
    expectClose(one(state, T + 2 * MIN, 'embedding'), byHand);
    // A third view 120 s old weighs a quarter.
    state.rows.set('c', row('CLICK_PRODUCT', 'pan', T - 120 * S, 3));
    expectClose(
      one(state, T, 'embedding'),
      tv.map((v, i) => (v + 0.5 * novel[i]! + 0.25 * embeddingOf('pan')[i]!) / 1.75),
    );
  });

  it('add-to-cart, purchase and unknown products do not move it', () => {
    const base = { a: row('VIEW_PRODUCT', 'tv', T - 10 * S, 1) };
    const expected = one(stateOf(base), T, 'embedding');
    const noisy = stateOf({
      ...base,
      b: row('ADD_TO_CART', 'novel', T, 2),
      c: row('PURCHASE', 'pan', T, 3),
      d: row('CLICK_PRODUCT', 'ghost', T, 4),
      e: row('VIEW_PRODUCT', null, T, 5),
    });
    expect(one(noisy, T, 'embedding')).toEqual(expected);
  });

  it('a row from the future weighs as much as a fresh one (age clamped at 0)', () => {
    const state = stateOf({
      a: row('VIEW_PRODUCT', 'tv', T + 60 * S, 1),
      b: row('VIEW_PRODUCT', 'novel', T, 2),
    });
    expectClose(
      one(state, T, 'embedding'),
      embeddingOf('tv').map((v, i) => (v + embeddingOf('novel')[i]!) / 2),
    );
  });

  // The mean is normalised by the total weight, so a row's absolute age must not matter, only its age relative
  // to the other rows. compute.ts stops at 40 half-lives measured from nowUs, which drops every row once the
  // user's newest view is 40 minutes old.
  it('a single view keeps its product embedding however old it is (the mean of one row is that row)', () => {
    const state = stateOf({ a: row('VIEW_PRODUCT', 'tv', T, 1) });
    const tv = embeddingOf('tv').map(round6);
    expect(one(state, T + 39 * MIN, 'embedding')).toEqual(tv);
    expect(one(state, T + 41 * MIN, 'embedding')).toEqual(tv);
    expect(one(state, T + 2 * HOUR, 'embedding')).toEqual(tv);
    expect(one(state, T + 48 * HOUR, 'embedding')).toEqual(tv);
  });

  it('two views 39 and 41 minutes old weigh 1 : 1/4 (2 minutes apart), whatever the cut-off', () => {
    const state = stateOf({
      a: row('VIEW_PRODUCT', 'tv', T - 39 * MIN, 1),
      b: row('VIEW_PRODUCT', 'novel', T - 41 * MIN, 2),
    });
    const novel = embeddingOf('novel');
    expectClose(
      one(state, T, 'embedding'),
      embeddingOf('tv').map((v, i) => (v + 0.25 * novel[i]!) / 1.25),
    );
  });
});

describe('tombstones, truncation and name selection', () => {
  const live = {
    a: row('VIEW_PRODUCT', 'tv', T - 10 * S, 10),
    b: row('CLICK_PRODUCT', 'novel', T - 20 * S, 11),
    c: row('WISHLIST', 'pan', T - 30 * MIN, 12),
  };

  it('deleted rows are invisible to every feature', () => {
    const withTombstones = stateOf({
      ...live,
      // Each would be the newest row for some feature were it alive.
      x: tombstone(T - S, 20),
      y: tombstone(T + S, 21),
      z: tombstone(T - 2 * MIN, 22),
    });
    for (const at of [T, T + 31 * S, T + 6 * MIN, T + 2 * HOUR]) {
      expect(features(withTombstones, at)).toEqual(features(stateOf(live), at));
    }
    const { embedding, ...rest } = features(withTombstones, T);
    expect(rest).toEqual({
      lastViewedProduct: 'tv',
      lastClickedCategory: 'books',
      viewCount30s: 1,
      clickCount30s: 1,
      viewCount5m: 1,
      clickCount5m: 1,
      activityCount1h: 3,
      recentProducts: ['tv', 'novel', 'pan'],
      topCategories5m: [
        { category: 'electronics', count: 1 },
        { category: 'books', count: 1 },
      ],
    });
    expectClose(
      embedding,
      decayedMean([
        ['tv', 10 * S],
        ['novel', 20 * S],
      ]),
    );
  });

  it('rows below truncatedBeforeLsn are invisible to every feature; a row at it is visible', () => {
    const state = stateOf({
      ...live,
      old1: row('VIEW_PRODUCT', 'phone', T - S, 5),
      old2: row('CLICK_PRODUCT', 'kettle', T - S, 6),
      old3: row('WISHLIST', 'mat', T, 9),
    });
    for (const at of [T, T + 31 * S, T + 6 * MIN]) {
      expect(features(state, at, undefined, 10)).toEqual(features(stateOf(live), at));
    }
    expect(one(state, T, 'lastViewedProduct', 10)).toBe('tv');
    expect(one(state, T, 'lastViewedProduct', 5)).toBe('phone');
    expect(one(state, T, 'activityCount1h', 11)).toBe(2);
    expect(one(state, T, 'recentProducts', 13)).toEqual([]);
  });

  it('`names` selects exactly the features returned', () => {
    const state = stateOf(live);
    expect(features(state, T, ['viewCount30s', 'lastClickedCategory'])).toEqual({
      viewCount30s: 1,
      lastClickedCategory: 'books',
    });
    expect(Object.keys(features(state, T, ['embedding', 'recentProducts']))).toEqual([
      'embedding',
      'recentProducts',
    ]);
    expect(features(state, T, [])).toEqual({});
    expect(Object.keys(features(state, T))).toEqual(FEATURE_NAMES);
  });

  // Every snapshot read sits at position {order: 0, lsn: 0}, so two snapshot rows of one user with the same
  // activity_timestamp (e.g. written in one transaction with now()) tie on every sort key. The result then
  // depends on the Map's insertion order: arrival order, or the field order of a Redis HGETALL after a reload.
  it('rows that tie on (activity time, order, lsn) give the same features in any insertion order', () => {
    const a = row('VIEW_PRODUCT', 'tv', T - S, 0, 0);
    const b = row('VIEW_PRODUCT', 'novel', T - S, 0, 0);
    const aFirst = stateOf({ a, b });
    const bFirst = stateOf({ b, a });
    expect(features(bFirst, T)).toEqual(features(aFirst, T));
  });
});
