import { type Freshness, makeProduct, type Product, type StoredRow, type UserState } from '@brisk/features';

/**
 * Compact encodings of a user's hash fields. A row is a JSON array rather than an object: it is written once
 * per event and read on every cold load, and the array form is about half the bytes.
 *   live row:  [lsn, order, eventUs, type, productId]
 *   tombstone: [lsn, order, eventUs]
 */
export function encodeRow(row: StoredRow): string {
  const { lsn, order, eventUs, data } = row;
  return data === null
    ? JSON.stringify([lsn, order, eventUs])
    : JSON.stringify([lsn, order, eventUs, data.type, data.productId]);
}

export function decodeRow(text: string): StoredRow | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(value) || value.length < 3) return null;
  const [lsn, order, eventUs, type, productId] = value as unknown[];
  if (typeof lsn !== 'number' || typeof order !== 'number' || typeof eventUs !== 'number') return null;
  if (value.length === 3) return { lsn, order, eventUs, data: null };
  if (typeof type !== 'string' || (productId !== null && typeof productId !== 'string')) return null;
  return { lsn, order, eventUs, data: { type, productId: productId as string | null, eventUs } };
}

interface MetaJson {
  o: number;
  l: number;
  c: number;
  u: number | null;
}

export function encodeMeta(newest: Freshness | null, updatedAtUs: number | null): string {
  const meta: MetaJson | { u: number | null } =
    newest === null
      ? { u: updatedAtUs }
      : { o: newest.order, l: newest.lsn, c: newest.commitUs, u: updatedAtUs };
  return JSON.stringify(meta);
}

export function decodeMeta(text: string | undefined): Pick<UserState, 'newest' | 'updatedAtUs'> {
  if (text === undefined) return { newest: null, updatedAtUs: null };
  try {
    const meta = JSON.parse(text) as Partial<MetaJson>;
    const newest =
      typeof meta.o === 'number' && typeof meta.l === 'number' && typeof meta.c === 'number'
        ? { order: meta.o, lsn: meta.l, commitUs: meta.c }
        : null;
    return { newest, updatedAtUs: typeof meta.u === 'number' ? meta.u : null };
  } catch {
    return { newest: null, updatedAtUs: null };
  }
}

export function encodeProduct(product: Product): string {
  return JSON.stringify({ n: product.name, c: product.category, p: product.price });
}

export function decodeProduct(id: string, text: string): Product | null {
  try {
    const { n, c, p } = JSON.parse(text) as { n?: unknown; c?: unknown; p?: unknown };
    if (typeof c !== 'string') return null;
    return makeProduct(id, typeof n === 'string' ? n : id, c, typeof p === 'number' ? p : null);
  } catch {
    return null;
  }
}
