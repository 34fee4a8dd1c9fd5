import type { ChangeEvent } from '@brisk/cdc';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MapCatalogue, makeProduct, type Product } from '../src/catalogue.ts';
import { foldProductChanges, isTable, type ProductChange, parseProductEvent } from '../src/product-events.ts';

const COMMIT_US = Date.UTC(2026, 10, 24, 12) * 1000;
const TABLE = { schema: 'public', table: 'product' };

/** A product change event shaped as Brisk's connector (or Debezium with schemas disabled) writes it. */
function event(
  op: string,
  before: unknown,
  after: unknown,
  source: Record<string, unknown> = {},
): ChangeEvent {
  return {
    op,
    before,
    after,
    source: {
      version: 'brisk-0.1.0',
      connector: 'postgresql',
      name: 'cdc',
      ts_ms: COMMIT_US / 1000,
      ts_us: COMMIT_US,
      db: 'shop',
      schema: 'public',
      table: 'product',
      lsn: 23_803_800,
      sequence: '["23803720","23803800"]',
      ...source,
    },
    ts_ms: COMMIT_US / 1000 + 9,
    ts_us: COMMIT_US + 9_000,
    ts_ns: (COMMIT_US + 9_000) * 1000,
  } as unknown as ChangeEvent;
}

const kettleRow = { id: 'k1', name: 'Copper Kettle', category: 'kitchen', price: '59.90' };
const kettle = makeProduct('k1', 'Copper Kettle', 'kitchen', 59.9);

describe('parseProductEvent', () => {
  it.each(['c', 'u', 'r'])("op '%s' upserts the product of `after`", (op) => {
    const before = op === 'u' ? { ...kettleRow, category: 'camping' } : null;
    expect(parseProductEvent(event(op, before, kettleRow))).toEqual({
      ok: true,
      change: { kind: 'upsert', product: kettle },
    });
  });

  it("op 'u' reads the new category and a Debezium variable-scale price", () => {
    const after = { ...kettleRow, category: 'camping', price: { scale: 2, value: 'BOI=' } };
    expect(parseProductEvent(event('u', kettleRow, after))).toEqual({
      ok: true,
      change: { kind: 'upsert', product: makeProduct('k1', 'Copper Kettle', 'camping', 12.5) },
    });
  });

  it("op 'd' deletes by before.id, also when `before` carries only the key", () => {
    expect(parseProductEvent(event('d', kettleRow, null))).toEqual({
      ok: true,
      change: { kind: 'delete', id: 'k1' },
    });
    expect(
      parseProductEvent(event('d', { id: 'k1', name: null, category: null, price: null }, null)),
    ).toEqual({
      ok: true,
      change: { kind: 'delete', id: 'k1' },
    });
  });

  it("op 't' truncates the catalogue", () => {
    expect(parseProductEvent(event('t', null, null))).toEqual({ ok: true, change: { kind: 'truncate' } });
  });

  const malformed = (e: ChangeEvent, message: string) =>
    expect(parseProductEvent(e)).toEqual({
      ok: false,
      deadLetter: { code: 'BRISK_EVENT_MALFORMED', message, disposition: 'rejected', event: e },
    });

  it('an upsert without a usable row is a dead letter BRISK_EVENT_MALFORMED', () => {
    const noRow = 'product row has no id or category';
    malformed(event('c', null, null), noRow);
    malformed(event('u', kettleRow, null), noRow);
    malformed(event('r', null, { ...kettleRow, id: undefined }), noRow);
    malformed(event('c', null, { ...kettleRow, id: '' }), noRow);
    malformed(event('c', null, { ...kettleRow, id: 42 }), noRow);
    malformed(event('c', null, { ...kettleRow, category: null }), noRow);
    malformed(event('c', null, { id: 'k1' }), noRow);
  });

  it('a delete without a string id is a dead letter BRISK_EVENT_MALFORMED', () => {
    const noId = 'product delete without an id';
    malformed(event('d', null, null), noId);
    malformed(event('d', {}, null), noId);
    malformed(event('d', { id: '' }, null), noId);
    malformed(event('d', { id: 7 }, null), noId);
  });

  it('an unknown op is a dead letter BRISK_EVENT_MALFORMED naming the op', () => {
    malformed(event('x', null, kettleRow), "unknown op 'x'");
    malformed(event('m', null, null), "unknown op 'm'");
    malformed(event(undefined as unknown as string, null, kettleRow), "unknown op 'undefined'");
  });

  it('never throws on arbitrary rows', () => {
    const row = fc.oneof(
      fc.dictionary(fc.constantFrom('id', 'name', 'category', 'price'), fc.jsonValue()),
      fc.jsonValue(),
    );
    fc.assert(
      fc.property(fc.constantFrom('c', 'u', 'r', 'd', 't', 'x'), row, row, (op, before, after) => {
        const result = parseProductEvent(event(op, before, after));
        if (result.ok) expect(['upsert', 'delete', 'truncate']).toContain(result.change.kind);
        else expect(result.deadLetter.code).toBe('BRISK_EVENT_MALFORMED');
      }),
    );
  });
});

describe('isTable', () => {
  it('matches schema and table; a missing schema means the configured one', () => {
    expect(isTable(event('c', null, kettleRow), TABLE)).toBe(true);
    expect(isTable(event('c', null, kettleRow, { schema: undefined }), TABLE)).toBe(true);
    expect(isTable(event('c', null, kettleRow, { schema: 'shop' }), TABLE)).toBe(false);
    expect(isTable(event('c', null, kettleRow, { table: 'user_activity' }), TABLE)).toBe(false);
    expect(isTable({ op: 'c' } as unknown as ChangeEvent, TABLE)).toBe(false);
  });
});

describe('foldProductChanges', () => {
  const v1 = makeProduct('a', 'Copper Kettle', 'kitchen', 60);
  const v2 = makeProduct('a', 'Copper Kettle', 'camping', 55);
  const other = makeProduct('b', 'Yoga Mat', 'sports', 25);
  const upsert = (product: Product): ProductChange => ({ kind: 'upsert', product });
  const del = (id: string): ProductChange => ({ kind: 'delete', id });
  const truncate: ProductChange = { kind: 'truncate' };
  const fold = (changes: ProductChange[]) => {
    const { truncate: t, set, deleted } = foldProductChanges(changes);
    return { truncate: t, set: Object.fromEntries(set), deleted: [...deleted] };
  };

  it('nothing', () => {
    expect(fold([])).toEqual({ truncate: false, set: {}, deleted: [] });
  });

  it('upsert then delete: deleted', () => {
    expect(fold([upsert(v1), del('a')])).toEqual({ truncate: false, set: {}, deleted: ['a'] });
  });

  it('delete then upsert: the upserted version', () => {
    expect(fold([del('a'), upsert(v2)])).toEqual({ truncate: false, set: { a: v2 }, deleted: [] });
  });

  it('two upserts: the later one', () => {
    expect(fold([upsert(v1), upsert(v2)])).toEqual({ truncate: false, set: { a: v2 }, deleted: [] });
  });

  it('a truncate in the middle forgets what came before it, but not what came after', () => {
    expect(fold([upsert(v1), del('b'), truncate, upsert(other), del('c')])).toEqual({
      truncate: true,
      set: { b: other },
      deleted: ['c'],
    });
    expect(fold([upsert(v1), truncate])).toEqual({ truncate: true, set: {}, deleted: [] });
  });

  it('applying the fold equals applying the changes one by one (fast-check)', () => {
    const ids = ['a', 'b', 'c', 'd'];
    const product = fc
      .tuple(fc.constantFrom(...ids), fc.constantFrom('kitchen', 'books'), fc.integer({ min: 1, max: 9 }))
      .map(([id, category, price]) => makeProduct(id, `item ${id}`, category, price));
    const change: fc.Arbitrary<ProductChange> = fc.oneof(
      { weight: 4, arbitrary: product.map(upsert) },
      { weight: 2, arbitrary: fc.constantFrom(...ids).map(del) },
      { weight: 1, arbitrary: fc.constant(truncate) },
    );
    fc.assert(
      fc.property(
        fc.array(product, { maxLength: 4 }),
        fc.array(change, { maxLength: 12 }),
        (initial, changes) => {
          const oneByOne = new MapCatalogue(initial);
          for (const c of changes) {
            if (c.kind === 'truncate') oneByOne.clear();
            else if (c.kind === 'upsert') oneByOne.set(c.product);
            else oneByOne.delete(c.id);
          }
          const folded = new MapCatalogue(initial);
          const { truncate: t, set, deleted } = foldProductChanges(changes);
          for (const id of deleted) expect(set.has(id)).toBe(false);
          if (t) folded.clear();
          for (const id of deleted) folded.delete(id);
          for (const p of set.values()) folded.set(p);
          const sorted = (c: MapCatalogue) => [...c.all()].sort((x, y) => x.id.localeCompare(y.id));
          expect(sorted(folded)).toEqual(sorted(oneByOne));
        },
      ),
    );
  });
});
