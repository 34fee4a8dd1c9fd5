import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ActivityRow } from '../src/activity.ts';
import { MapCatalogue } from '../src/catalogue.ts';
import { computeFeatures } from '../src/compute.ts';
import { applyPlan, emptyState, type Limits, plan, type UserChange, type UserState } from '../src/state.ts';

const SECOND_US = 1_000_000;
const DAY_US = 86_400 * SECOND_US;
const BASE_US = Date.UTC(2026, 10, 24, 0, 0, 0) * 1000;
const NOW_US = BASE_US + DAY_US;
/** Production-like limits: a week of retention, a cap nothing here reaches. */
const LIMITS: Limits = { maxRows: 1_000, retentionUs: 7 * DAY_US, truncatedBeforeLsn: 0 };

const view = (productId: string | null, eventUs: number): ActivityRow => ({
  type: 'VIEW_PRODUCT',
  productId,
  eventUs,
});

function upsert(rowId: string, lsn: number, row: ActivityRow, order = lsn): UserChange {
  return { kind: 'upsert', rowId, row, position: { order, lsn }, commitUs: BASE_US + lsn };
}

function del(rowId: string, lsn: number, order = lsn): UserChange {
  return { kind: 'delete', rowId, position: { order, lsn }, commitUs: BASE_US + lsn };
}

/** The engine's loop for one user: plan, (commit,) apply. Returns the plan. */
function apply(state: UserState, changes: UserChange[], limits = LIMITS, nowUs = NOW_US) {
  const p = plan(state, changes, limits, nowUs);
  if (p) applyPlan(state, p);
  return p;
}

function snapshot(state: UserState) {
  return {
    version: state.version,
    rows: Object.fromEntries(state.rows),
    newest: state.newest,
    updatedAtUs: state.updatedAtUs,
  };
}

describe('plan / applyPlan', () => {
  it('an insert: the plan describes it, and only applyPlan makes it visible', () => {
    const state = emptyState('user-1');
    const row = view('p1', BASE_US + 5);
    const p = plan(state, [upsert('r1', 100, row, 90)], LIMITS, NOW_US);
    expect(p).not.toBeNull();
    expect({
      ...p!,
      set: Object.fromEntries(p!.set),
      removed: [...p!.removed],
      evictedLive: [...p!.evictedLive],
    }).toEqual({
      version: 1,
      set: { r1: { lsn: 100, order: 90, eventUs: BASE_US + 5, data: row } },
      removed: [],
      evictedLive: [],
      newest: { order: 90, lsn: 100, commitUs: BASE_US + 100 },
      updatedAtUs: NOW_US,
      outcomes: ['applied'],
    });
    expect(snapshot(state)).toEqual({ version: 0, rows: {}, newest: null, updatedAtUs: null });

    applyPlan(state, p!);
    expect(snapshot(state)).toEqual({
      version: 1,
      rows: { r1: { lsn: 100, order: 90, eventUs: BASE_US + 5, data: row } },
      newest: { order: 90, lsn: 100, commitUs: BASE_US + 100 },
      updatedAtUs: NOW_US,
    });
  });

  it('an update with a newer LSN replaces the row; an older or equal one is a no-op (null plan)', () => {
    const state = emptyState('user-1');
    apply(state, [upsert('r1', 100, view('p1', BASE_US))]);
    apply(state, [upsert('r1', 200, view('p2', BASE_US + 1))]);
    expect(state.rows.get('r1')).toEqual({
      lsn: 200,
      order: 200,
      eventUs: BASE_US + 1,
      data: view('p2', BASE_US + 1),
    });

    const before = snapshot(state);
    expect(plan(state, [upsert('r1', 200, view('p2', BASE_US + 1))], LIMITS, NOW_US + 1)).toBeNull();
    expect(plan(state, [upsert('r1', 150, view('p3', BASE_US + 9))], LIMITS, NOW_US + 1)).toBeNull();
    expect(
      plan(state, [upsert('r1', 100, view('p1', BASE_US)), del('r1', 200)], LIMITS, NOW_US + 1),
    ).toBeNull();
    expect(snapshot(state)).toEqual(before);
  });

  it('within one batch, a change is compared with the earlier changes of the same batch', () => {
    const state = emptyState('user-1');
    const p = apply(state, [
      upsert('r1', 300, view('new', BASE_US)),
      upsert('r1', 200, view('old', BASE_US)),
      upsert('r2', 250, view('x', BASE_US)),
      upsert('r2', 250, view('x', BASE_US)),
    ]);
    expect(p!.outcomes).toEqual(['applied', 'duplicate', 'applied', 'duplicate']);
    expect(state.rows.get('r1')!.data!.productId).toBe('new');
    expect(state.version).toBe(1);
  });

  it('a delete leaves a versioned tombstone that keeps the event time and blocks older redeliveries', () => {
    const state = emptyState('user-1');
    apply(state, [upsert('r1', 100, view('p1', BASE_US + 7))]);
    apply(state, [del('r1', 200)]);
    expect(state.rows.get('r1')).toEqual({ lsn: 200, order: 200, eventUs: BASE_US + 7, data: null });
    expect(plan(state, [upsert('r1', 100, view('p1', BASE_US + 7))], LIMITS, NOW_US)).toBeNull();
    expect(plan(state, [del('r1', 200)], LIMITS, NOW_US)).toBeNull();
    // A newer upsert (the row re-inserted with the same id) wins over the tombstone.
    apply(state, [upsert('r1', 300, view('p9', BASE_US + 8))]);
    expect(state.rows.get('r1')!.data).toEqual(view('p9', BASE_US + 8));
  });

  // Per-user order is not guaranteed on a real Debezium topic (REFERENCES.md): a delete can reach a user's state
  // before the insert it deletes (e.g. a row moved to another user, processed from the other user's partition).
  // The tombstone of a row the state never saw gets eventUs 0, is dropped by retention at once, and the late
  // insert then resurrects the deleted row.
  it('a delete that arrives before its insert still wins (the row stays deleted)', () => {
    const state = emptyState('user-1');
    apply(state, [del('r1', 200)]);
    const late = plan(state, [upsert('r1', 100, view('p1', BASE_US + 7))], LIMITS, NOW_US);
    if (late) applyPlan(state, late);
    expect(state.rows.get('r1')?.data ?? null).toBeNull();
    expect(late).toBeNull();
  });

  it('the version goes up by exactly one per applied plan, never for a null plan', () => {
    const state = emptyState('user-1');
    const versions: number[] = [];
    for (const batch of [
      [upsert('r1', 10, view('a', BASE_US))],
      [upsert('r1', 10, view('a', BASE_US))],
      [upsert('r2', 20, view('b', BASE_US)), upsert('r3', 30, view('c', BASE_US))],
      [del('r2', 40)],
      [del('r2', 40)],
    ]) {
      apply(state, batch);
      versions.push(state.version);
    }
    expect(versions).toEqual([1, 1, 2, 3, 3]);
  });

  it('newest is the max (order, lsn) among applied changes, with its commit time', () => {
    const state = emptyState('user-1');
    apply(state, [upsert('r1', 150, view('a', BASE_US), 100)]);
    expect(state.newest).toEqual({ order: 100, lsn: 150, commitUs: BASE_US + 150 });
    // A higher LSN from a transaction that committed earlier (smaller order) is not newer.
    apply(state, [upsert('r2', 200, view('b', BASE_US), 50)]);
    expect(state.newest).toEqual({ order: 100, lsn: 150, commitUs: BASE_US + 150 });
    // Same transaction, later change.
    apply(state, [upsert('r3', 160, view('c', BASE_US), 100)]);
    expect(state.newest).toEqual({ order: 100, lsn: 160, commitUs: BASE_US + 160 });
    // Within one batch the max wins regardless of position; duplicates do not count.
    apply(state, [
      upsert('r4', 400, view('d', BASE_US), 300),
      upsert('r5', 350, view('e', BASE_US), 300),
      upsert('r4', 390, view('d', BASE_US), 999),
    ]);
    expect(state.newest).toEqual({ order: 300, lsn: 400, commitUs: BASE_US + 400 });
  });

  it('retention drops rows (and tombstones) older than nowUs - retentionUs; only live ones are evictedLive', () => {
    const state = emptyState('user-1');
    const retention: Limits = { ...LIMITS, retentionUs: 10 * SECOND_US };
    const t0 = BASE_US;
    apply(
      state,
      [upsert('old', 1, view('a', t0)), upsert('edge', 2, view('b', t0 + 5 * SECOND_US))],
      retention,
      t0,
    );
    apply(state, [upsert('gone', 3, view('c', t0 + SECOND_US)), del('gone', 4)], retention, t0 + SECOND_US);
    expect([...state.rows.keys()].sort()).toEqual(['edge', 'gone', 'old']);

    // At t0 + 15 s the cutoff is t0 + 5 s: 'old' and the tombstone 'gone' go, 'edge' (exactly at the cutoff) stays.
    const p = plan(state, [], retention, t0 + 15 * SECOND_US);
    expect(p).not.toBeNull();
    expect([...p!.removed].sort()).toEqual(['gone', 'old']);
    expect([...p!.evictedLive]).toEqual(['old']);
    expect(p!.version).toBe(state.version + 1);
    applyPlan(state, p!);
    expect([...state.rows.keys()]).toEqual(['edge']);
    expect(plan(state, [], retention, t0 + 15 * SECOND_US)).toBeNull();
  });

  it('over the cap, tombstones go first (oldest first), then live rows from the oldest activity time', () => {
    const state = emptyState('user-1');
    const wide: Limits = { ...LIMITS, maxRows: 10 };
    apply(
      state,
      [
        upsert('t-new', 1, view('x', BASE_US + 50)),
        upsert('t-old', 2, view('x', BASE_US + 40)),
        upsert('a', 3, view('a', BASE_US + 10)),
        upsert('b', 4, view('b', BASE_US + 20)),
        upsert('c', 5, view('c', BASE_US + 20), 1),
        del('t-new', 6),
        del('t-old', 7),
      ],
      wide,
    );
    const capped: Limits = { ...LIMITS, maxRows: 3 };
    // 5 rows + 1 new = 6, three must go: both tombstones (oldest first), then 'a' (oldest activity).
    const p = plan(state, [upsert('d', 8, view('d', BASE_US + 30))], capped, NOW_US);
    expect([...p!.removed]).toEqual(['t-old', 't-new', 'a']);
    expect([...p!.evictedLive]).toEqual(['a']);
    applyPlan(state, p!);
    expect([...state.rows.keys()].sort()).toEqual(['b', 'c', 'd']);

    // Equal activity times: the smaller order goes first ('c' has order 1, 'b' order 4).
    const next = plan(state, [upsert('e', 9, view('e', BASE_US + 60))], capped, NOW_US);
    expect([...next!.evictedLive]).toEqual(['c']);
  });

  it('truncatedBeforeLsn ignores older changes and drops older rows', () => {
    const state = emptyState('user-1');
    apply(state, [upsert('r1', 100, view('a', BASE_US)), upsert('r2', 300, view('b', BASE_US))]);
    const truncated: Limits = { ...LIMITS, truncatedBeforeLsn: 200 };
    const p = plan(
      state,
      [upsert('r3', 150, view('c', BASE_US)), upsert('r4', 250, view('d', BASE_US))],
      truncated,
      NOW_US,
    );
    expect(p!.outcomes).toEqual(['duplicate', 'applied']);
    expect([...p!.removed]).toEqual(['r1']);
    expect([...p!.evictedLive]).toEqual(['r1']);
    applyPlan(state, p!);
    expect([...state.rows.keys()].sort()).toEqual(['r2', 'r4']);
  });
});

/* ------------------------------------------------------------------------------------------------------------
 * The key property: at-least-once delivery, any order, any batching -> the same state and the same features.
 * ---------------------------------------------------------------------------------------------------------- */

interface Op {
  readonly user: string;
  readonly change: UserChange;
}

const opSpec = fc.record({
  user: fc.constantFrom('alice', 'bob', 'carol'),
  row: fc.constantFrom('r1', 'r2', 'r3', 'r4', 'r5'),
  kind: fc.constantFrom('upsert', 'upsert', 'delete'),
  type: fc.constantFrom('VIEW_PRODUCT', 'VIEW_PRODUCT', 'CLICK_PRODUCT'),
  product: fc.constantFrom('p1', 'p2', 'p3', null),
  // Few distinct activity times, so ties (broken by order, then lsn) are common.
  secondsAgo: fc.integer({ min: 0, max: 5 }),
  newTransaction: fc.boolean(),
});

/** Distinct increasing LSNs; transactions group consecutive changes and share an order. */
const sequence = fc.array(opSpec, { minLength: 1, maxLength: 30 }).map((specs) => {
  let order = 0;
  return specs.map((s, i): Op => {
    const lsn = 1_000 + i * 10;
    if (i === 0 || s.newTransaction) order = lsn - 5;
    const position = { order, lsn };
    const commitUs = BASE_US + order;
    const change: UserChange =
      s.kind === 'upsert'
        ? {
            kind: 'upsert',
            rowId: s.row,
            row: { type: s.type, productId: s.product, eventUs: NOW_US - s.secondsAgo * SECOND_US },
            position,
            commitUs,
          }
        : { kind: 'delete', rowId: s.row, position, commitUs };
    return { user: s.user, change };
  });
});

/** Applies batches the way the engine does: group each batch by user, plan, apply. */
function run(batches: readonly (readonly Op[])[], limits: Limits) {
  const states = new Map<string, UserState>();
  for (const batch of batches) {
    const perUser = new Map<string, UserChange[]>();
    for (const { user, change } of batch) perUser.set(user, [...(perUser.get(user) ?? []), change]);
    for (const [user, changes] of perUser) {
      const state = states.get(user) ?? emptyState(user);
      states.set(user, state);
      const p = plan(state, changes, limits, NOW_US);
      if (p) applyPlan(state, p);
    }
  }
  const result: Record<string, unknown> = {};
  for (const [user, state] of [...states].sort(([a], [b]) => a.localeCompare(b))) {
    const live: Record<string, unknown> = {};
    for (const [rowId, row] of [...state.rows].sort(([a], [b]) => a.localeCompare(b))) {
      if (row.data !== null) live[rowId] = { lsn: row.lsn, data: row.data };
    }
    result[user] = {
      live,
      features: computeFeatures(
        state,
        {
          nowUs: Number.MAX_SAFE_INTEGER,
          catalogue: new MapCatalogue(),
          truncatedBeforeLsn: limits.truncatedBeforeLsn,
        },
        ['lastViewedProduct'],
      ),
      newest: state.newest,
    };
  }
  return result;
}

const oneByOne = (ops: readonly Op[]) => ops.map((op) => [op]);

/** Redeliveries: copies of earlier events inserted at random later points. */
const withDuplicates = sequence.chain((ops) =>
  fc
    .array(fc.tuple(fc.nat(ops.length - 1), fc.nat(ops.length * 2)), { minLength: 1, maxLength: 15 })
    .map((copies) => {
      const delivered = [...ops];
      for (const [from, offset] of copies) {
        // Anywhere after the original (the first occurrence): a redelivery never precedes the delivery.
        const original = delivered.indexOf(ops[from]!);
        delivered.splice(original + 1 + (offset % (delivered.length - original)), 0, ops[from]!);
      }
      return { ops, delivered };
    }),
);

const permuted = sequence.chain((ops) =>
  fc
    .shuffledSubarray(ops, { minLength: ops.length, maxLength: ops.length })
    .map((shuffled) => ({ ops, shuffled })),
);

const batched = sequence.chain((ops) =>
  fc.array(fc.boolean(), { minLength: ops.length, maxLength: ops.length }).map((cuts) => {
    const batches: Op[][] = [[]];
    ops.forEach((op, i) => {
      if (i > 0 && cuts[i]) batches.push([]);
      batches[batches.length - 1]!.push(op);
    });
    return { ops, batches };
  }),
);

describe('order-, duplicate- and batching-independence (fast-check)', () => {
  it('(a) = (a): the driver is deterministic, and one batch equals one event at a time', () => {
    fc.assert(
      fc.property(sequence, (ops) => {
        expect(run([ops], LIMITS)).toEqual(run(oneByOne(ops), LIMITS));
      }),
    );
  });

  it('(b) redelivered duplicates change nothing', () => {
    fc.assert(
      fc.property(withDuplicates, ({ ops, delivered }) => {
        expect(run(oneByOne(delivered), LIMITS)).toEqual(run(oneByOne(ops), LIMITS));
      }),
    );
  });

  it('(d) any split into batches gives the same result', () => {
    fc.assert(
      fc.property(batched, ({ ops, batches }) => {
        expect(run(batches, LIMITS)).toEqual(run(oneByOne(ops), LIMITS));
      }),
    );
  });

  it('(c) a permutation gives the same result, with retention out of reach (cutoff before the epoch)', () => {
    const noRetention: Limits = { ...LIMITS, retentionUs: NOW_US + 1 };
    fc.assert(
      fc.property(permuted, ({ ops, shuffled }) => {
        expect(run(oneByOne(shuffled), noRetention)).toEqual(run(oneByOne(ops), noRetention));
      }),
    );
  });

  it('(c) a permutation gives the same result under production limits', () => {
    fc.assert(
      fc.property(permuted, ({ ops, shuffled }) => {
        expect(run(oneByOne(shuffled), LIMITS)).toEqual(run(oneByOne(ops), LIMITS));
      }),
    );
  });
});
