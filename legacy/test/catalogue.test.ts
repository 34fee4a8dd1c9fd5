import { describe, expect, it } from 'vitest';
import { CATEGORIES, demoCatalogue, PRODUCTS_PER_CATEGORY } from '../src/catalogue.ts';

describe('demoCatalogue', () => {
  const catalogue = demoCatalogue();

  it('is identical on every call', () => {
    expect(demoCatalogue()).toEqual(catalogue);
  });

  it('numbers 300 products prod-001..prod-300, each id once', () => {
    expect(catalogue).toHaveLength(300);
    expect(catalogue.map((p) => p.id).sort()).toEqual(
      Array.from({ length: 300 }, (_, i) => `prod-${String(i + 1).padStart(3, '0')}`),
    );
  });

  it('fills the 10 categories evenly, with ids that do not reveal the category', () => {
    expect(CATEGORIES).toHaveLength(10);
    for (const category of CATEGORIES) {
      expect(catalogue.filter((p) => p.category === category)).toHaveLength(PRODUCTS_PER_CATEGORY);
    }
    expect(new Set(catalogue.slice(0, 30).map((p) => p.category)).size).toBeGreaterThan(5);
  });

  it('prices every product as a positive amount with two decimals', () => {
    for (const { price } of catalogue) {
      expect(price).toMatch(/^\d+\.\d{2}$/);
      expect(Number(price)).toBeGreaterThan(0);
    }
    expect(new Set(catalogue.map((p) => p.price)).size).toBeGreaterThan(100);
  });

  it('keeps prices within believable ranges per category', () => {
    const prices = (category: string) =>
      catalogue.filter((p) => p.category === category).map((p) => Number(p.price));
    expect(Math.max(...prices('grocery'))).toBeLessThan(31);
    expect(Math.max(...prices('electronics'))).toBeGreaterThan(100);
  });

  it('gives products unique, non-empty names within their category', () => {
    for (const category of CATEGORIES) {
      const names = catalogue.filter((p) => p.category === category).map((p) => p.name);
      expect(new Set(names).size).toBe(names.length);
      for (const name of names) expect(name).toMatch(/^\S.*\S$/);
    }
  });
});
