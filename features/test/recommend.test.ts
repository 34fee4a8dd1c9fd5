import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cosine, EMBEDDING_DIMS, MapCatalogue, makeProduct } from '../src/catalogue.ts';
import { type RecommendationInput, recommend } from '../src/recommend.ts';

const catalogue = new MapCatalogue([
  makeProduct('e1', 'Aurora Smartwatch', 'electronics', 199),
  makeProduct('e2', 'Nimbus Smartwatch', 'electronics', 249),
  makeProduct('e3', 'Vertex Wireless Mouse', 'electronics', 29),
  makeProduct('b1', 'The Quiet Harbor Hardcover', 'books', 25),
  makeProduct('b2', 'Northern Lights Paperback', 'books', 12),
  makeProduct('k1', 'Copper Kettle', 'kitchen', 60),
  makeProduct('k2', 'Ceramic Kettle', 'kitchen', 45),
  makeProduct('s1', 'Trail Running Shoes', 'sports', 120),
]);
const IDS = [...catalogue.all()].map((p) => p.id);
const ZEROS: readonly number[] = new Array<number>(EMBEDDING_DIMS).fill(0);
const embeddingOf = (id: string) => catalogue.get(id)!.embedding;

const POPULAR = 'popular right now';
const CATALOGUE_ORDER = 'from the catalogue';
const SIMILAR = 'similar to what you viewed recently';
const browsing = (category: string) => `you have been browsing ${category}`;

function input(partial: Partial<RecommendationInput>): RecommendationInput {
  return { embedding: ZEROS, recentProducts: [], topCategories5m: [], lastClickedCategory: null, ...partial };
}

function expectNonIncreasing(scores: readonly number[]) {
  for (let i = 1; i < scores.length; i++) expect(scores[i]!).toBeLessThanOrEqual(scores[i - 1]!);
}

describe('cold start (no embedding, no categories)', () => {
  it('popular products in order, skipping unknown and recently touched ones, then the catalogue', () => {
    const items = recommend(input({ recentProducts: ['k1'] }), catalogue, ['b2', 'ghost', 'k1', 'e3'], 5);
    expect(items).toEqual([
      { productId: 'b2', score: 1, reason: POPULAR },
      { productId: 'e3', score: 0.25, reason: POPULAR },
      { productId: 'e1', score: 0, reason: CATALOGUE_ORDER },
      { productId: 'e2', score: 0, reason: CATALOGUE_ORDER },
      { productId: 'b1', score: 0, reason: CATALOGUE_ORDER },
    ]);
  });

  it('the popularity score is 1 / (rank + 1), rank counted over the whole popular list', () => {
    const items = recommend(input({}), catalogue, ['ghost-1', 'ghost-2', 'e1', 'k2'], 2);
    expect(items).toEqual([
      { productId: 'e1', score: 0.3333, reason: POPULAR },
      { productId: 'k2', score: 0.25, reason: POPULAR },
    ]);
  });

  it('respects the limit, also while filling from the catalogue', () => {
    expect(recommend(input({}), catalogue, ['b2', 'e3'], 1)).toEqual([
      { productId: 'b2', score: 1, reason: POPULAR },
    ]);
    expect(recommend(input({}), catalogue, ['b2', 'e3'], 0)).toEqual([]);
    expect(recommend(input({ recentProducts: ['e1', 'e2'] }), catalogue, [], 2)).toEqual([
      { productId: 'e3', score: 0, reason: CATALOGUE_ORDER },
      { productId: 'b1', score: 0, reason: CATALOGUE_ORDER },
    ]);
  });

  it('a user who touched everything gets nothing; an empty catalogue gives nothing', () => {
    expect(recommend(input({ recentProducts: IDS }), catalogue, IDS, 10)).toEqual([]);
    expect(recommend(input({}), new MapCatalogue(), ['e1'], 10)).toEqual([]);
  });
});

describe('a user with history', () => {
  it('category affinity alone: products of the category, excluding recent ones, score 0.4 x share', () => {
    const items = recommend(
      input({ topCategories5m: [{ category: 'books', count: 2 }], recentProducts: ['b1'] }),
      catalogue,
      ['e1', 'k1'],
      10,
    );
    expect(items).toEqual([{ productId: 'b2', score: 0.4, reason: browsing('books') }]);
  });

  it('the last clicked category counts once more; equal scores are ordered by product id', () => {
    expect(
      recommend(
        input({ topCategories5m: [{ category: 'books', count: 1 }], lastClickedCategory: 'kitchen' }),
        catalogue,
        [],
        10,
      ),
    ).toEqual([
      { productId: 'b1', score: 0.2, reason: browsing('books') },
      { productId: 'b2', score: 0.2, reason: browsing('books') },
      { productId: 'k1', score: 0.2, reason: browsing('kitchen') },
      { productId: 'k2', score: 0.2, reason: browsing('kitchen') },
    ]);
    // A last clicked category alone is history too: no cold start.
    expect(recommend(input({ lastClickedCategory: 'sports' }), catalogue, ['e1'], 10)).toEqual([
      { productId: 's1', score: 0.4, reason: browsing('sports') },
    ]);
  });

  it('shares are proportional to counts; the limit cuts the ranking', () => {
    const history = input({
      topCategories5m: [
        { category: 'electronics', count: 3 },
        { category: 'books', count: 1 },
      ],
      lastClickedCategory: 'electronics',
    });
    // electronics 4/5 -> 0.32, books 1/5 -> 0.08.
    expect(recommend(history, catalogue, [], 10)).toEqual([
      { productId: 'e1', score: 0.32, reason: browsing('electronics') },
      { productId: 'e2', score: 0.32, reason: browsing('electronics') },
      { productId: 'e3', score: 0.32, reason: browsing('electronics') },
      { productId: 'b1', score: 0.08, reason: browsing('books') },
      { productId: 'b2', score: 0.08, reason: browsing('books') },
    ]);
    expect(recommend(history, catalogue, [], 2).map((r) => r.productId)).toEqual(['e1', 'e2']);
    expect(recommend(history, catalogue, [], 0)).toEqual([]);
  });

  it('embedding alone: the most similar products first, 0.6 x cosine, the viewed product left out', () => {
    const items = recommend(
      input({ embedding: embeddingOf('k1'), recentProducts: ['k1'] }),
      catalogue,
      [],
      10,
    );
    // Same category and a shared word ("Kettle").
    expect(items[0]).toEqual({
      productId: 'k2',
      score: Math.round(0.6 * cosine(embeddingOf('k1'), embeddingOf('k2')) * 1e4) / 1e4,
      reason: SIMILAR,
    });
    expect(items.map((r) => r.productId)).not.toContain('k1');
    const expected = IDS.filter((id) => id !== 'k1')
      .map((id) => ({ id, c: cosine(embeddingOf('k1'), embeddingOf(id)) }))
      .filter(({ c }) => c > 0)
      .map(({ id, c }) => ({ productId: id, score: Math.round(0.6 * c * 1e4) / 1e4, reason: SIMILAR }))
      .sort((a, b) => b.score - a.score || a.productId.localeCompare(b.productId));
    expect(items).toEqual(expected);
    expectNonIncreasing(items.map((r) => r.score));
  });

  it('same category and similar embedding rank before everything else', () => {
    const mean = embeddingOf('e1').map((v, i) => (2 * v + embeddingOf('e2')[i]!) / 3);
    const items = recommend(
      input({
        embedding: mean,
        recentProducts: ['e1', 'e2'],
        topCategories5m: [{ category: 'electronics', count: 2 }],
        lastClickedCategory: 'electronics',
      }),
      catalogue,
      ['k1'],
      10,
    );
    expect(items[0]!.productId).toBe('e3');
    expect(catalogue.get(items[0]!.productId)!.category).toBe('electronics');
    expect(items[0]!.score).toBeGreaterThanOrEqual(0.4);
    expect(items.map((r) => r.productId)).not.toContain('e1');
    expect(items.map((r) => r.productId)).not.toContain('e2');
    expect(items.slice(1).every((r) => r.score < items[0]!.score)).toBe(true);
  });
});

describe('any input (fast-check)', () => {
  const arbitraryInput = fc.record({
    embedding: fc.oneof(
      fc.constant(ZEROS),
      fc.constantFrom(...IDS).map(embeddingOf),
      fc.array(fc.double({ min: -1, max: 1, noNaN: true }), {
        minLength: EMBEDDING_DIMS,
        maxLength: EMBEDDING_DIMS,
      }),
    ),
    recentProducts: fc.subarray([...IDS, 'ghost']),
    topCategories5m: fc.uniqueArray(
      fc.record({
        category: fc.constantFrom('electronics', 'books', 'kitchen', 'sports', 'garden'),
        count: fc.integer({ min: 1, max: 9 }),
      }),
      { selector: (e) => e.category, maxLength: 3 },
    ),
    lastClickedCategory: fc.constantFrom(null, 'electronics', 'books', 'garden'),
  });

  it('respects the limit, never repeats or recommends a recent product, scores never increase', () => {
    fc.assert(
      fc.property(
        arbitraryInput,
        fc.subarray([...IDS, 'ghost'], { minLength: 0 }),
        fc.integer({ min: 0, max: 12 }),
        (features, popular, limit) => {
          const items = recommend(features, catalogue, popular, limit);
          expect(items.length).toBeLessThanOrEqual(limit);
          const ids = items.map((r) => r.productId);
          expect(new Set(ids).size).toBe(ids.length);
          for (const item of items) {
            expect(features.recentProducts).not.toContain(item.productId);
            const product = catalogue.get(item.productId);
            expect(product).toBeDefined();
            expect([POPULAR, CATALOGUE_ORDER, SIMILAR, browsing(product!.category)]).toContain(item.reason);
            expect(Number.isFinite(item.score)).toBe(true);
          }
          expectNonIncreasing(items.map((r) => r.score));
          // Cold start fills up to the limit from the catalogue: fewer items only when nothing is left.
          const cold = features.embedding.every((v) => v === 0) && features.topCategories5m.length === 0;
          if (cold && features.lastClickedCategory === null) {
            const available = IDS.filter((id) => !features.recentProducts.includes(id)).length;
            expect(items.length).toBe(Math.min(limit, available));
          }
        },
      ),
    );
  });
});
