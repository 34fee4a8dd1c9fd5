import type { FeatureSnapshot, Product, Recommendation } from './services.ts';

/**
 * What the storefront renders, assembled on the server from the feature API's answers and the cached
 * catalogue: product ids resolved to products, so neither the page nor the live script needs the catalogue.
 * The same shapes travel in the live stream (`/live/features`), which is why they are plain JSON.
 */
export interface FeaturesView {
  readonly snapshot: FeatureSnapshot;
  /** Every product the features name (last viewed, recently viewed) that the catalogue knows. */
  readonly products: Record<string, Product>;
  /** "Because you viewed": products of the last viewed product's category, not touched recently. */
  readonly because: readonly Product[];
}

export interface RecommendedProduct {
  readonly product: Product;
  readonly score: number;
  readonly reason: string;
}

export interface RecommendationsView {
  /** The feature version these were computed after (the stream sends them right behind that version). */
  readonly version: number;
  readonly items: readonly RecommendedProduct[];
}

export interface ShopView {
  readonly userId: string;
  /** null: the feature API did not answer within the budget; the live stream fills it in. */
  readonly features: FeaturesView | null;
  readonly recommendations: RecommendationsView | null;
  /** Shown instead of recommendations when there are none: a spread over the categories. */
  readonly popular: readonly Product[];
}

export const BECAUSE_LIMIT = 4;
export const RECOMMENDATION_LIMIT = 8;

export function featuresView(snapshot: FeatureSnapshot, byId: ReadonlyMap<string, Product>): FeaturesView {
  const products: Record<string, Product> = {};
  const { lastViewedProduct, recentProducts } = snapshot.features;
  for (const id of [lastViewedProduct, ...(Array.isArray(recentProducts) ? recentProducts : [])]) {
    if (id === null || id === undefined) continue;
    const product = byId.get(String(id));
    if (product !== undefined) products[product.id] = product;
  }
  const last = lastViewedProduct === null ? undefined : byId.get(String(lastViewedProduct));
  return { snapshot, products, because: last === undefined ? [] : because(last, snapshot, byId) };
}

function because(last: Product, snapshot: FeatureSnapshot, byId: ReadonlyMap<string, Product>): Product[] {
  const touched = new Set((snapshot.features.recentProducts ?? []).map(String));
  touched.add(last.id);
  const picked: Product[] = [];
  for (const product of byId.values()) {
    if (picked.length >= BECAUSE_LIMIT) break;
    if (product.category === last.category && !touched.has(product.id)) picked.push(product);
  }
  return picked;
}

export function recommendationsView(
  version: number,
  items: readonly Recommendation[],
  byId: ReadonlyMap<string, Product>,
): RecommendationsView {
  const resolved: RecommendedProduct[] = [];
  for (const item of items) {
    const product = byId.get(item.productId);
    if (product !== undefined) resolved.push({ product, score: item.score, reason: item.reason });
  }
  return { version, items: resolved };
}

/** Round-robin over the categories, in catalogue order: a varied shelf without any feature data. */
export function popularProducts(catalogue: readonly Product[], limit: number): Product[] {
  const byCategory = new Map<string, Product[]>();
  for (const product of catalogue) {
    const shelf = byCategory.get(product.category);
    if (shelf === undefined) byCategory.set(product.category, [product]);
    else shelf.push(product);
  }
  const shelves = [...byCategory.values()];
  const picked: Product[] = [];
  for (let row = 0; picked.length < limit; row++) {
    let any = false;
    for (const shelf of shelves) {
      const product = shelf[row];
      if (product === undefined) continue;
      any = true;
      picked.push(product);
      if (picked.length >= limit) break;
    }
    if (!any) break;
  }
  return picked;
}
