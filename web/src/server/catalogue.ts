import type { Logger } from '@brisk/core';
import type { Mapper, Product, Queryable } from '@brisk/legacy';

/**
 * The product catalogue as the legacy application reads it (ProductMapper `selectAllProducts`), held in this
 * process and reloaded every `reloadMs`: product cards and names are rendered from memory, never with a query
 * per request. A failed reload keeps the previous copy.
 */
export interface CatalogueCache {
  /** The current copy; waits for the first load. */
  all(): Promise<readonly Product[]>;
  /** The current copy, without waiting (empty before the first load). */
  now(): { readonly list: readonly Product[]; readonly byId: ReadonlyMap<string, Product> };
  /** Reloads now unless a load finished within `minAgeMs`; used when a product id is not known yet. */
  refresh(minAgeMs: number): Promise<void>;
  close(): void;
}

export function catalogueCache(options: {
  readonly db: Queryable;
  readonly mapper: Mapper;
  readonly logger: Logger;
  readonly reloadMs?: number;
}): CatalogueCache {
  let list: readonly Product[] = [];
  let byId: ReadonlyMap<string, Product> = new Map();
  let loadedAt = Number.NEGATIVE_INFINITY;
  let loading: Promise<void> | null = null;
  let failing = false;

  const load = (): Promise<void> => {
    loading ??= (async () => {
      try {
        const { rows } = await options.mapper.run<Product>(options.db, 'selectAllProducts');
        list = rows.map((row) => ({
          id: String(row.id),
          name: String(row.name),
          category: String(row.category),
          price: String(row.price),
        }));
        byId = new Map(list.map((product) => [product.id, product]));
        loadedAt = performance.now();
        if (failing) options.logger.info({ products: list.length }, 'product catalogue loaded again');
        failing = false;
      } catch (error) {
        if (!failing) options.logger.warn({ err: error }, 'product catalogue could not be loaded');
        failing = true;
      } finally {
        loading = null;
      }
    })();
    return loading;
  };

  const first = load();
  const timer = setInterval(() => void load(), options.reloadMs ?? 30_000);
  timer.unref();

  return {
    all: async () => {
      await first;
      return list;
    },
    now: () => ({ list, byId }),
    refresh: async (minAgeMs) => {
      if (performance.now() - loadedAt >= minAgeMs) await load();
    },
    close: () => clearInterval(timer),
  };
}
