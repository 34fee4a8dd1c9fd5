/**
 * The product catalogue as the engine sees it, with each product's embedding derived deterministically from the
 * catalogue itself (no model to load): the category sets a few dimensions, each name token a few more, and the
 * vector is normalised. Products of one category therefore sit close together, and products sharing words
 * closer still, which is what the behaviour embedding and the recommendations need.
 */
export const EMBEDDING_DIMS = 32;

export interface Product {
  readonly id: string;
  readonly name: string;
  readonly category: string;
  /** Null when the event's NUMERIC encoding cannot be read as a number (see productFromRow). */
  readonly price: number | null;
  readonly embedding: readonly number[];
}

export interface Catalogue {
  get(productId: string): Product | undefined;
  /** Every known product (recommendation candidates). */
  all(): Iterable<Product>;
}

export class MapCatalogue implements Catalogue {
  private readonly products = new Map<string, Product>();

  constructor(products: Iterable<Product> = []) {
    for (const product of products) this.products.set(product.id, product);
  }
  get(productId: string): Product | undefined {
    return this.products.get(productId);
  }
  all(): Iterable<Product> {
    return this.products.values();
  }
  set(product: Product): void {
    this.products.set(product.id, product);
  }
  delete(productId: string): void {
    this.products.delete(productId);
  }
  clear(): void {
    this.products.clear();
  }
  get size(): number {
    return this.products.size;
  }
}

export function makeProduct(id: string, name: string, category: string, price: number | null): Product {
  return { id, name, category, price, embedding: productEmbedding(name, category) };
}

/**
 * A product from a `product` row of a change event. Price arrives as Debezium encodes NUMERIC: a number
 * (double mode), a decimal string (string mode), a {scale, value} struct (variable-scale precise mode); the
 * fixed-scale precise form (base64 bytes without its scale, which lives in the schema) cannot be read and gives
 * null — set BRISK_DECIMAL_HANDLING=string where prices matter.
 */
export function productFromRow(row: Record<string, unknown>): Product | null {
  const { id, name, category, price } = row;
  if (typeof id !== 'string' || id === '' || typeof category !== 'string') return null;
  return makeProduct(id, typeof name === 'string' ? name : id, category, priceOf(price));
}

function priceOf(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (value !== null && typeof value === 'object') {
    const { scale, value: bytes } = value as { scale?: unknown; value?: unknown };
    if (typeof scale === 'number' && typeof bytes === 'string') {
      const buffer = Buffer.from(bytes, 'base64');
      if (buffer.length === 0 || buffer.length > 16) return null;
      let unscaled = 0n;
      for (const byte of buffer) unscaled = (unscaled << 8n) | BigInt(byte);
      if (buffer[0]! & 0x80) unscaled -= 1n << BigInt(buffer.length * 8);
      return Number(unscaled) / 10 ** scale;
    }
  }
  return null;
}

export function productEmbedding(name: string, category: string): number[] {
  const vector = new Array<number>(EMBEDDING_DIMS).fill(0);
  spread(vector, `category:${category.toLowerCase()}`, 4, 1);
  for (const token of name.toLowerCase().split(/[^a-z0-9]+/)) {
    if (token.length >= 2) spread(vector, `token:${token}`, 2, 0.5);
  }
  const norm = Math.hypot(...vector);
  return norm === 0 ? vector : vector.map((v) => v / norm);
}

export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * (b[i] ?? 0);
    na += a[i]! * a[i]!;
    nb += (b[i] ?? 0) * (b[i] ?? 0);
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/**
 * Adds ±weight to `count` distinct dimensions chosen by hashing `key` (FNV-1a: stable across processes and runs).
 * Distinct, so one key's contributions never cancel each other out.
 */
function spread(vector: number[], key: string, count: number, weight: number): void {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  const used = new Set<number>();
  while (used.size < count) {
    hash = Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d) >>> 0;
    const dim = hash % EMBEDDING_DIMS;
    if (used.has(dim)) continue;
    used.add(dim);
    vector[dim]! += hash & 0x10000 ? weight : -weight;
  }
}
