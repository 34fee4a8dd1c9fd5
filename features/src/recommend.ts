import { type Catalogue, cosine } from './catalogue.ts';

/**
 * Ranks catalogue products for a user from their features: how close a product's embedding is to the user's
 * behaviour embedding, plus how much of the user's recent activity falls in the product's category. Products
 * the user just touched are left out. A user with no usable history gets the currently popular products.
 * Pure: the caller passes the features already computed and the popularity ranking.
 */
export interface RecommendationInput {
  readonly embedding: readonly number[];
  readonly recentProducts: readonly (string | number)[];
  readonly topCategories5m: readonly Record<string, string | number>[];
  readonly lastClickedCategory: string | number | null;
}

export interface Recommendation {
  readonly productId: string;
  readonly score: number;
  readonly reason: string;
}

const SIMILARITY_WEIGHT = 0.6;
const AFFINITY_WEIGHT = 0.4;

export function recommend(
  input: RecommendationInput,
  catalogue: Catalogue,
  popular: readonly string[],
  limit: number,
): Recommendation[] {
  const exclude = new Set(input.recentProducts.map(String));
  const affinity = categoryAffinity(input);
  const hasEmbedding = input.embedding.some((v) => v !== 0);
  if (!hasEmbedding && affinity.size === 0) return coldStart(catalogue, popular, exclude, limit);

  const scored: Recommendation[] = [];
  for (const product of catalogue.all()) {
    if (exclude.has(product.id)) continue;
    const similarity = hasEmbedding ? Math.max(0, cosine(input.embedding, product.embedding)) : 0;
    const share = affinity.get(product.category) ?? 0;
    const score = SIMILARITY_WEIGHT * similarity + AFFINITY_WEIGHT * share;
    if (score <= 0) continue;
    const reason =
      AFFINITY_WEIGHT * share >= SIMILARITY_WEIGHT * similarity
        ? `you have been browsing ${product.category}`
        : 'similar to what you viewed recently';
    scored.push({ productId: product.id, score: Math.round(score * 1e4) / 1e4, reason });
  }
  scored.sort((a, b) => b.score - a.score || a.productId.localeCompare(b.productId));
  return scored.slice(0, limit);
}

/** Each category's share of the user's recent product activity; the last clicked category counts once more. */
function categoryAffinity(input: RecommendationInput): Map<string, number> {
  const counts = new Map<string, number>();
  for (const entry of input.topCategories5m) {
    const category = entry.category;
    const count = entry.count;
    if (typeof category === 'string' && typeof count === 'number') counts.set(category, count);
  }
  if (typeof input.lastClickedCategory === 'string') {
    counts.set(input.lastClickedCategory, (counts.get(input.lastClickedCategory) ?? 0) + 1);
  }
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  return new Map([...counts].map(([category, count]) => [category, count / total]));
}

function coldStart(catalogue: Catalogue, popular: readonly string[], exclude: Set<string>, limit: number) {
  const items: Recommendation[] = [];
  popular.forEach((productId, rank) => {
    if (items.length >= limit || exclude.has(productId) || catalogue.get(productId) === undefined) return;
    items.push({ productId, score: Math.round((1 / (rank + 1)) * 1e4) / 1e4, reason: 'popular right now' });
  });
  // Before anyone has done anything, the catalogue's own order stands in for popularity.
  for (const product of catalogue.all()) {
    if (items.length >= limit) break;
    if (exclude.has(product.id) || items.some((i) => i.productId === product.id)) continue;
    items.push({ productId: product.id, score: 0, reason: 'from the catalogue' });
  }
  return items;
}
