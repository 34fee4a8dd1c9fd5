import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cosine,
  EMBEDDING_DIMS,
  MapCatalogue,
  makeProduct,
  type Product,
  productEmbedding,
  productFromRow,
} from '../src/catalogue.ts';

const norm = (v: readonly number[]) => Math.hypot(...v);

/** A demo-like shop: every product is `<head> <tail>`, with words typical of its category. */
const WORDS: Readonly<Record<string, readonly [heads: string[], tails: string[]]>> = {
  electronics: [
    ['Aurora', 'Nimbus', 'Vertex'],
    ['Smartwatch', 'Wireless Mouse', 'USB-C Hub', 'Bluetooth Speaker'],
  ],
  books: [
    ['The Quiet Harbor', 'Salt and Silence', 'Northern Lights'],
    ['Hardcover', 'Paperback'],
  ],
  kitchen: [
    ['Copper', 'Cast Iron', 'Ceramic'],
    ['Frying Pan', 'Saucepan', 'Kettle'],
  ],
  sports: [
    ['Trail', 'Summit', 'Sprint'],
    ['Running Shoes', 'Yoga Mat', 'Water Bottle'],
  ],
  grocery: [
    ['Organic', 'Fair Trade', 'Artisan'],
    ['Coffee Beans 1 kg', 'Green Tea 100 Bags', 'Honey 500 g'],
  ],
};
const DEMO: readonly Product[] = Object.entries(WORDS).flatMap(([category, [heads, tails]]) =>
  heads.flatMap((head) =>
    tails.map((tail) => makeProduct(`${category}/${head}/${tail}`, `${head} ${tail}`, category, 10)),
  ),
);

describe('productEmbedding', () => {
  it('is EMBEDDING_DIMS long, unit length and deterministic', () => {
    expect(EMBEDDING_DIMS).toBe(32);
    const first = productEmbedding('Aurora Smartwatch', 'electronics');
    expect(first).toHaveLength(EMBEDDING_DIMS);
    expect(norm(first)).toBeCloseTo(1, 12);
    expect(productEmbedding('Aurora Smartwatch', 'electronics')).toEqual(first);
    // Category and name both matter.
    expect(productEmbedding('Aurora Smartwatch', 'books')).not.toEqual(first);
    expect(productEmbedding('Nimbus Smartwatch', 'electronics')).not.toEqual(first);
  });

  it('ignores case, punctuation and one-character tokens', () => {
    const base = productEmbedding('usb c hub', 'electronics');
    expect(productEmbedding('USB-C Hub', 'Electronics')).toEqual(base);
    expect(productEmbedding('usb, hub!', 'ELECTRONICS')).toEqual(base);
    expect(productEmbedding('Hub', 'kitchen')).toEqual(productEmbedding('A Hub', 'kitchen'));
  });

  it('a name without usable tokens leaves the category alone: one vector per category', () => {
    expect(productEmbedding('', 'books')).toEqual(productEmbedding('- ! ?', 'books'));
    expect(norm(productEmbedding('', 'books'))).toBeCloseTo(1, 12);
  });

  it('every demo product is a unit vector; any input gives a unit or a zero vector of the right length', () => {
    for (const product of DEMO) {
      expect(product.embedding).toEqual(productEmbedding(product.name, product.category));
      expect(norm(product.embedding)).toBeCloseTo(1, 12);
    }
    fc.assert(
      fc.property(fc.string(), fc.string(), (name, category) => {
        const v = productEmbedding(name, category);
        expect(v).toHaveLength(EMBEDDING_DIMS);
        expect(v.every(Number.isFinite)).toBe(true);
        const n = norm(v);
        // Hashed dimensions can cancel exactly; normalising a zero vector is skipped rather than dividing by 0.
        expect(n === 0 || Math.abs(n - 1) < 1e-12).toBe(true);
      }),
    );
  });

  it('on a demo-like catalogue, products of one category are closer than products of different ones', () => {
    expect(DEMO.length).toBe(45);
    let within = 0;
    let withinPairs = 0;
    let across = 0;
    let acrossPairs = 0;
    const perCategory = new Map<string, { within: number[]; across: number[] }>();
    for (const a of DEMO) {
      const mine = perCategory.get(a.category) ?? { within: [], across: [] };
      perCategory.set(a.category, mine);
      for (const b of DEMO) {
        if (a === b) continue;
        const similarity = cosine(a.embedding, b.embedding);
        if (a.category === b.category) {
          within += similarity;
          withinPairs++;
          mine.within.push(similarity);
        } else {
          across += similarity;
          acrossPairs++;
          mine.across.push(similarity);
        }
      }
    }
    const meanWithin = within / withinPairs;
    const meanAcross = across / acrossPairs;
    expect(meanWithin).toBeGreaterThan(meanAcross);
    // The category carries most of the weight: the gap is wide, not a rounding accident.
    expect(meanWithin - meanAcross).toBeGreaterThan(0.5);
    const mean = (v: number[]) => v.reduce((x, y) => x + y, 0) / v.length;
    for (const [category, { within: w, across: a }] of perCategory) {
      expect({ category, closerWithin: mean(w) > mean(a) }).toEqual({ category, closerWithin: true });
    }
  });

  it('products sharing a name word are closer than products of the same category that share none', () => {
    const shared = cosine(
      productEmbedding('Copper Kettle', 'kitchen'),
      productEmbedding('Ceramic Kettle', 'kitchen'),
    );
    const unshared = cosine(
      productEmbedding('Copper Kettle', 'kitchen'),
      productEmbedding('Ceramic Saucepan', 'kitchen'),
    );
    expect(shared).toBeGreaterThan(unshared);
  });
});

describe('productFromRow', () => {
  const row = (price: unknown) => ({ id: 'p1', name: 'Copper Kettle', category: 'kitchen', price });
  const priceOf = (price: unknown) => productFromRow(row(price))?.price;
  /** Big-endian two's complement bytes of `value`, base64: Debezium's encoding of an unscaled decimal. */
  const base64 = (bytes: number[]) => Buffer.from(bytes).toString('base64');

  it('builds the product with its embedding', () => {
    expect(productFromRow(row(12.5))).toEqual({
      id: 'p1',
      name: 'Copper Kettle',
      category: 'kitchen',
      price: 12.5,
      embedding: productEmbedding('Copper Kettle', 'kitchen'),
    });
    expect(makeProduct('p1', 'Copper Kettle', 'kitchen', 12.5)).toEqual(productFromRow(row(12.5)));
  });

  it('reads a price as a number (double mode) and as a decimal string (string mode)', () => {
    expect(priceOf(12.5)).toBe(12.5);
    expect(priceOf(0)).toBe(0);
    expect(priceOf(-3)).toBe(-3);
    expect(priceOf('12.50')).toBe(12.5);
    expect(priceOf('1499')).toBe(1499);
    expect(priceOf('-0.99')).toBe(-0.99);
  });

  it('reads a variable-scale struct {scale, value: base64 two’s complement}', () => {
    expect(base64([0x04, 0xe2])).toBe('BOI=');
    expect(priceOf({ scale: 2, value: 'BOI=' })).toBe(12.5);
    expect(priceOf({ scale: 0, value: 'BOI=' })).toBe(1250);
    expect(priceOf({ scale: 3, value: 'BOI=' })).toBe(1.25);
    // -1250 = 0xFB1E in 16-bit two's complement.
    expect(base64([0xfb, 0x1e])).toBe('+x4=');
    expect(priceOf({ scale: 2, value: '+x4=' })).toBe(-12.5);
    expect(priceOf({ scale: 2, value: base64([0xff]) })).toBe(-0.01);
    // A leading zero byte keeps a value with the top bit set positive.
    expect(priceOf({ scale: 2, value: base64([0x00, 0xff]) })).toBe(2.55);
    expect(priceOf({ scale: 2, value: base64([0x00, 0x01, 0x86, 0x9f]) })).toBe(999.99);
  });

  it('gives a null price for what it cannot read (fixed-scale base64 without its scale, garbage)', () => {
    expect(priceOf('BOI=')).toBeNull();
    expect(priceOf(base64([0x00, 0x01, 0x86, 0x9f]))).toBeNull();
    expect(priceOf({ scale: 2, value: '' })).toBeNull();
    expect(priceOf({ scale: 2 })).toBeNull();
    expect(priceOf({ value: 'BOI=' })).toBeNull();
    expect(priceOf({ scale: '2', value: 'BOI=' })).toBeNull();
    expect(priceOf('12,50')).toBeNull();
    expect(priceOf('1e3')).toBeNull();
    expect(priceOf(' 12')).toBeNull();
    expect(priceOf(Number.NaN)).toBeNull();
    expect(priceOf(Number.POSITIVE_INFINITY)).toBeNull();
    expect(priceOf(null)).toBeNull();
    expect(priceOf(undefined)).toBeNull();
    expect(priceOf(true)).toBeNull();
    // The rest of the product is still there.
    expect(productFromRow(row('BOI='))).toMatchObject({ id: 'p1', category: 'kitchen', price: null });
  });

  it('is null without a string id or a string category; a missing name falls back to the id', () => {
    expect(productFromRow({ name: 'x', category: 'kitchen', price: 1 })).toBeNull();
    expect(productFromRow({ id: '', name: 'x', category: 'kitchen', price: 1 })).toBeNull();
    expect(productFromRow({ id: 7, name: 'x', category: 'kitchen', price: 1 })).toBeNull();
    expect(productFromRow({ id: 'p1', name: 'x', price: 1 })).toBeNull();
    expect(productFromRow({ id: 'p1', name: 'x', category: null, price: 1 })).toBeNull();
    expect(productFromRow({ id: 'p1', name: 'x', category: 3, price: 1 })).toBeNull();
    expect(productFromRow({ id: 'p1', category: 'kitchen' })).toEqual({
      id: 'p1',
      name: 'p1',
      category: 'kitchen',
      price: null,
      embedding: productEmbedding('p1', 'kitchen'),
    });
  });
});

describe('cosine', () => {
  it('orthogonal, identical, opposite and scaled vectors', () => {
    expect(cosine([1, 0, 0], [0, 1, 0])).toBe(0);
    expect(cosine([1, 2, 3], [1, 2, 3])).toBeCloseTo(1, 12);
    expect(cosine([1, 2, 3], [-1, -2, -3])).toBeCloseTo(-1, 12);
    expect(cosine([1, 2, 3], [10, 20, 30])).toBeCloseTo(1, 12);
    expect(cosine([1, 1], [1, 0])).toBeCloseTo(Math.SQRT1_2, 12);
  });

  it('is 0, not NaN, when either vector is zero', () => {
    expect(cosine([0, 0, 0], [1, 2, 3])).toBe(0);
    expect(cosine([1, 2, 3], [0, 0, 0])).toBe(0);
    expect(cosine([0, 0], [0, 0])).toBe(0);
    expect(cosine([], [])).toBe(0);
  });

  it('reads a shorter second vector as padded with zeros', () => {
    expect(cosine([1, 2], [1])).toBeCloseTo(1 / Math.sqrt(5), 12);
  });

  it('of two embeddings: 1 with itself, within [-1, 1] with any other', () => {
    const a = productEmbedding('Copper Kettle', 'kitchen');
    expect(cosine(a, a)).toBeCloseTo(1, 12);
    for (const p of DEMO) {
      const c = cosine(a, p.embedding);
      expect(c).toBeGreaterThanOrEqual(-1 - 1e-12);
      expect(c).toBeLessThanOrEqual(1 + 1e-12);
    }
  });
});

describe('MapCatalogue', () => {
  it('get, all, set, delete, clear and size', () => {
    const kettle = makeProduct('k', 'Copper Kettle', 'kitchen', 60);
    const pan = makeProduct('p', 'Cast Iron Pan', 'kitchen', 35);
    const catalogue = new MapCatalogue([kettle, pan]);
    expect(catalogue.size).toBe(2);
    expect(catalogue.get('k')).toBe(kettle);
    expect(catalogue.get('nope')).toBeUndefined();
    expect([...catalogue.all()].map((p) => p.id)).toEqual(['k', 'p']);
    const recategorised = makeProduct('k', 'Copper Kettle', 'camping', 60);
    catalogue.set(recategorised);
    expect(catalogue.get('k')).toBe(recategorised);
    expect(catalogue.size).toBe(2);
    catalogue.delete('p');
    expect([...catalogue.all()]).toEqual([recategorised]);
    catalogue.clear();
    expect(catalogue.size).toBe(0);
    expect(new MapCatalogue().size).toBe(0);
  });
});
