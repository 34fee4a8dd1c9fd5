import { describe, expect, it } from 'vitest';
import type { FeatureSnapshot, Product } from '../src/app/services.ts';
import { featuresView, popularProducts, recommendationsView } from '../src/app/view.ts';

const products: Product[] = [
  { id: 'p1', name: 'One', category: 'books', price: '1.00' },
  { id: 'p2', name: 'Two', category: 'books', price: '2.00' },
  { id: 'p3', name: 'Three', category: 'toys', price: '3.00' },
  { id: 'p4', name: 'Four', category: 'books', price: '4.00' },
  { id: 'p5', name: 'Five', category: 'toys', price: '5.00' },
];
const byId = new Map(products.map((p) => [p.id, p]));

function snapshot(lastViewedProduct: string | null, recentProducts: string[]): FeatureSnapshot {
  return {
    userId: 'u',
    features: {
      lastViewedProduct,
      lastClickedCategory: null,
      viewCount30s: 1,
      clickCount30s: 0,
      viewCount5m: 1,
      clickCount5m: 0,
      recentProducts,
      topCategories5m: [],
    },
    meta: { version: 4, updatedAt: null, commitTs: null, lsn: null },
  };
}

describe('featuresView', () => {
  it('resolves named products and picks same-category products not touched recently', () => {
    const view = featuresView(snapshot('p1', ['p1', 'p2', 'gone']), byId);
    expect(Object.keys(view.products).sort()).toEqual(['p1', 'p2']);
    expect(view.because.map((p) => p.id)).toEqual(['p4']);
  });

  it('has nothing to say without a last viewed product', () => {
    const view = featuresView(snapshot(null, []), byId);
    expect(view.products).toEqual({});
    expect(view.because).toEqual([]);
  });
});

describe('recommendationsView', () => {
  it('drops items the catalogue does not know', () => {
    const view = recommendationsView(
      4,
      [
        { productId: 'p3', score: 0.9, reason: 'r' },
        { productId: 'nope', score: 0.5, reason: 'r' },
      ],
      byId,
    );
    expect(view).toEqual({ version: 4, items: [{ product: products[2], score: 0.9, reason: 'r' }] });
  });
});

describe('popularProducts', () => {
  it('alternates categories', () => {
    expect(popularProducts(products, 4).map((p) => p.id)).toEqual(['p1', 'p3', 'p2', 'p5']);
    expect(popularProducts(products, 99)).toHaveLength(5);
    expect(popularProducts([], 3)).toEqual([]);
  });
});
