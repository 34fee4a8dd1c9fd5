import type { ChangeEvent } from '@brisk/cdc';
import type { DeadLetter, SourceTable } from './activity.ts';
import { type Product, productFromRow } from './catalogue.ts';

/**
 * Change events on the catalogue table. The catalogue is joined at read time (category, price, embedding), so a
 * product changing its category changes every feature that reads it without touching any user's state.
 */
export type ProductChange =
  | { readonly kind: 'upsert'; readonly product: Product }
  | { readonly kind: 'delete'; readonly id: string }
  | { readonly kind: 'truncate' };

export type ProductParseResult =
  | { readonly ok: true; readonly change: ProductChange }
  | { readonly ok: false; readonly deadLetter: DeadLetter };

export function parseProductEvent(event: ChangeEvent): ProductParseResult {
  switch (event.op) {
    case 'c':
    case 'u':
    case 'r': {
      const product = event.after ? productFromRow(event.after) : null;
      if (product === null) return reject('product row has no id or category', event);
      return { ok: true, change: { kind: 'upsert', product } };
    }
    case 'd': {
      const id = event.before?.id;
      if (typeof id !== 'string' || id === '') return reject('product delete without an id', event);
      return { ok: true, change: { kind: 'delete', id } };
    }
    case 't':
      return { ok: true, change: { kind: 'truncate' } };
    default:
      return reject(`unknown op '${String(event.op)}'`, event);
  }
}

export function isTable(event: ChangeEvent, table: SourceTable): boolean {
  return event.source?.table === table.table && (event.source.schema ?? table.schema) === table.schema;
}

/** The net effect of a batch's product changes, in order: what to set, what to delete, whether to clear first. */
export function foldProductChanges(changes: readonly ProductChange[]) {
  let truncate = false;
  const set = new Map<string, Product>();
  const deleted = new Set<string>();
  for (const change of changes) {
    if (change.kind === 'truncate') {
      truncate = true;
      set.clear();
      deleted.clear();
    } else if (change.kind === 'upsert') {
      set.set(change.product.id, change.product);
      deleted.delete(change.product.id);
    } else {
      set.delete(change.id);
      deleted.add(change.id);
    }
  }
  return { truncate, set, deleted };
}

function reject(message: string, event: unknown): ProductParseResult {
  return {
    ok: false,
    deadLetter: { code: 'BRISK_EVENT_MALFORMED', message, disposition: 'rejected', event },
  };
}
