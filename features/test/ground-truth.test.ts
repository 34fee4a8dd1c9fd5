import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMBEDDING_DIMS, MapCatalogue, makeProduct } from '../src/catalogue.ts';
import { computeFeatures } from '../src/compute.ts';
import type { FeatureName } from '../src/definitions.ts';
import { applyPlan, emptyState, type Limits, plan, type UserChange, type UserState } from '../src/state.ts';

/**
 * Ground truth. A random history of INSERT / UPDATE / DELETE on user_activity (late and out-of-order activity
 * times, rows moving between users, unknown activity types, unknown and missing products) is replayed twice:
 * - the oracle: a plain table (Map<id, row>) replayed the way PostgreSQL would, and each feature computed from
 *   its definition the way a SQL query over that table would, with no code shared with compute.ts or state.ts;
 * - the system under test: the history routed into per-user changes as the engine routes them, delivered in
 *   order, with redeliveries, permuted and in random batches, folded with plan/applyPlan, read by computeFeatures.
 */

const S = 1_000_000;
const MIN = 60 * S;
const HOUR = 60 * MIN;
const NOW = Date.UTC(2026, 10, 24, 12, 0, 0) * 1000;
/** The instants the features are read at. The state was built at NOW; reads never change it. */
const READ_AT = [NOW, NOW + 29 * S, NOW + 31 * S, NOW + 6 * MIN, NOW + 2 * HOUR];
/** Nothing is evicted: the oracle's table keeps every row too. */
const LIMITS: Limits = { maxRows: 10_000, retentionUs: 30 * 24 * HOUR, truncatedBeforeLsn: 0 };

const USERS = ['u1', 'u2', 'u3', 'u4'];
/** u1 gets most rows, so that it often holds more than 10 products and more than 3 categories. */
const USER_WEIGHTS = ['u1', 'u1', 'u1', 'u1', 'u2', 'u3', 'u4'];
const TYPES = ['VIEW_PRODUCT', 'CLICK_PRODUCT', 'ADD_TO_CART', 'PURCHASE', 'WISHLIST'];
const CATEGORY_OF: Readonly<Record<string, string>> = {
  p1: 'audio',
  p2: 'audio',
  p3: 'audio',
  p4: 'books',
  p5: 'books',
  p6: 'garden',
  p7: 'garden',
  p8: 'toys',
  p9: 'sports',
  p10: 'tools',
};
/** Twelve products, two of them unknown to the catalogue: more than recentProducts keeps. */
const PRODUCTS = [...Object.keys(CATEGORY_OF), 'x1', 'x2'];
const catalogue = new MapCatalogue(
  Object.entries(CATEGORY_OF).map(([id, category]) =>
    makeProduct(id, `${category} item ${id}`, category, 10),
  ),
);

/* ------------------------------------------------------------------------------------------------------------
 * The history
 * ---------------------------------------------------------------------------------------------------------- */

interface SqlRow {
  readonly user_id: string;
  readonly activity_type: string;
  readonly product_id: string | null;
  readonly activity_timestamp: number;
}

interface Step {
  /** `snapshot`: a row read by the initial snapshot (Debezium op 'r'), committed before streaming began. */
  readonly op: 'snapshot' | 'insert' | 'update' | 'delete';
  readonly id: string;
  /** The row before the change (update, delete) and after it (insert, update). */
  readonly before: SqlRow | null;
  readonly after: SqlRow | null;
  readonly lsn: number;
  /** Transaction order (Debezium sequence[0]): the same for every change of a transaction. */
  readonly order: number;
}

/** Times cluster on window edges as seen from each read instant, so boundaries and ties are common. */
const EDGES_S = [-3600, -60, -31, -1, 0, 1, 29, 30, 31, 60, 120, 299, 300, 301, 2400, 3569, 3600, 3631];
const activityTime = fc
  .tuple(
    fc.oneof(fc.integer({ min: -120, max: 7200 }), fc.constantFrom(...EDGES_S), fc.constantFrom(...EDGES_S)),
    fc.constantFrom(0, 0, 0, 1, -1),
  )
  .map(([secondsAgo, jitterUs]) => NOW - secondsAgo * S + jitterUs);

const stepSpec = fc.record({
  op: fc.constantFrom('insert', 'insert', 'insert', 'insert', 'update', 'update', 'delete'),
  pick: fc.nat(),
  user: fc.constantFrom(...USER_WEIGHTS),
  type: fc.constantFrom(...TYPES),
  product: fc.option(fc.constantFrom(...PRODUCTS), { freq: 6, nil: null }),
  time: activityTime,
  changes: fc.record({ user: fc.boolean(), type: fc.boolean(), product: fc.boolean(), time: fc.boolean() }),
  /** Transactions of about four changes: same-transaction ties on activity time are broken by lsn. */
  newTransaction: fc.constantFrom(true, false, false, false),
});

const snapshotSpec = fc.record({
  user: fc.constantFrom(...USER_WEIGHTS),
  type: fc.constantFrom(...TYPES),
  product: fc.option(fc.constantFrom(...PRODUCTS), { freq: 6, nil: null }),
  time: activityTime,
});

/**
 * An initial snapshot, then streamed changes. Updates and deletes touch rows alive at that point (snapshot rows
 * included). Snapshot rows all sit at position {order: 0, lsn: 0}; their activity times are made distinct (by
 * whole milliseconds) because nothing, not even SQL, orders two of them that tie (see compute.test.ts).
 */
const history = fc
  .tuple(
    fc.array(snapshotSpec, { maxLength: 10 }),
    fc.array(stepSpec, { minLength: 1, maxLength: 80, size: 'max' }),
  )
  .map(([snapshot, specs]) => {
    const alive = new Map<string, SqlRow>();
    const steps: Step[] = [];
    snapshot.forEach((spec, i) => {
      const id = `snap-${i}`;
      const row: SqlRow = {
        user_id: spec.user,
        activity_type: spec.type,
        product_id: spec.product,
        activity_timestamp: spec.time + 1000 * i,
      };
      alive.set(id, row);
      steps.push({ op: 'snapshot', id, before: null, after: row, lsn: 0, order: 0 });
    });
    let order = 0;
    specs.forEach((spec, i) => {
      const lsn = 10_000 + i * 16;
      if (i === 0 || spec.newTransaction) order = lsn - 8;
      const ids = [...alive.keys()];
      const fresh: SqlRow = {
        user_id: spec.user,
        activity_type: spec.type,
        product_id: spec.product,
        activity_timestamp: spec.time,
      };
      if (spec.op === 'insert' || ids.length === 0) {
        const id = `row-${i}`;
        alive.set(id, fresh);
        steps.push({ op: 'insert', id, before: null, after: fresh, lsn, order });
        return;
      }
      const id = ids[spec.pick % ids.length]!;
      const before = alive.get(id)!;
      if (spec.op === 'delete') {
        alive.delete(id);
        steps.push({ op: 'delete', id, before, after: null, lsn, order });
        return;
      }
      const after: SqlRow = {
        user_id: spec.changes.user ? fresh.user_id : before.user_id,
        activity_type: spec.changes.type ? fresh.activity_type : before.activity_type,
        product_id: spec.changes.product ? fresh.product_id : before.product_id,
        activity_timestamp: spec.changes.time ? fresh.activity_timestamp : before.activity_timestamp,
      };
      alive.set(id, after);
      steps.push({ op: 'update', id, before, after, lsn, order });
    });
    return steps;
  });

/* ------------------------------------------------------------------------------------------------------------
 * The oracle: the table as PostgreSQL holds it, and the features as SQL would compute them
 * ---------------------------------------------------------------------------------------------------------- */

interface TableRow extends SqlRow {
  /** Commit position of the row's latest change: the tie-break "commit order" of the definitions. */
  readonly lsn: number;
}

function replay(steps: readonly Step[]): Map<string, TableRow> {
  const table = new Map<string, TableRow>();
  for (const step of steps) {
    if (step.op === 'delete') table.delete(step.id);
    else table.set(step.id, { ...step.after!, lsn: step.lsn });
  }
  return table;
}

/** SELECT ... WHERE user_id = $1 ORDER BY activity_timestamp DESC, lsn DESC */
function rowsOf(table: Map<string, TableRow>, user: string): TableRow[] {
  return [...table.values()]
    .filter((r) => r.user_id === user)
    .sort((a, b) => b.activity_timestamp - a.activity_timestamp || b.lsn - a.lsn);
}

const known = (r: TableRow) => r.product_id !== null && r.product_id in CATEGORY_OF;
const within = (r: TableRow, now: number, windowUs: number) => r.activity_timestamp > now - windowUs;
const count = (rows: TableRow[], now: number, windowUs: number, type?: string) =>
  rows.filter((r) => (type === undefined || r.activity_type === type) && within(r, now, windowUs)).length;

function oracle(table: Map<string, TableRow>, user: string, now: number) {
  const rows = rowsOf(table, user);
  const views = rows.filter((r) => r.activity_type === 'VIEW_PRODUCT');
  const clicks = rows.filter((r) => r.activity_type === 'CLICK_PRODUCT');

  const recent: string[] = [];
  for (const r of rows) {
    if (r.product_id !== null && !recent.includes(r.product_id)) recent.push(r.product_id);
  }

  // GROUP BY category ORDER BY count DESC, max(activity_timestamp, lsn) DESC LIMIT 3
  const groups = new Map<string, { count: number; newest: number }>();
  rows.forEach((r, rank) => {
    if (!known(r) || !within(r, now, 5 * MIN)) return;
    const category = CATEGORY_OF[r.product_id!]!;
    const group = groups.get(category) ?? { count: 0, newest: rank };
    groups.set(category, { count: group.count + 1, newest: Math.min(group.newest, rank) });
  });
  const topCategories5m = [...groups]
    .sort(([, a], [, b]) => b.count - a.count || a.newest - b.newest)
    .slice(0, 3)
    .map(([category, { count }]) => ({ category, count }));

  return {
    lastViewedProduct: views.find((r) => r.product_id !== null)?.product_id ?? null,
    lastClickedCategory: CATEGORY_OF[clicks.find(known)?.product_id ?? ''] ?? null,
    viewCount30s: count(rows, now, 30 * S, 'VIEW_PRODUCT'),
    clickCount30s: count(rows, now, 30 * S, 'CLICK_PRODUCT'),
    viewCount5m: count(rows, now, 5 * MIN, 'VIEW_PRODUCT'),
    clickCount5m: count(rows, now, 5 * MIN, 'CLICK_PRODUCT'),
    activityCount1h: count(rows, now, HOUR),
    recentProducts: recent.slice(0, 10),
    topCategories5m,
  };
}

/**
 * sum(w * embedding) / sum(w) with w = 0.5^(age / 60 s), age clamped at 0. The weights are taken relative to
 * the youngest row (the common factor cancels), so old histories neither underflow nor divide by zero.
 */
function oracleEmbedding(table: Map<string, TableRow>, user: string, now: number): number[] {
  const rows = rowsOf(table, user).filter(
    (r) => (r.activity_type === 'VIEW_PRODUCT' || r.activity_type === 'CLICK_PRODUCT') && known(r),
  );
  const mean = new Array<number>(EMBEDDING_DIMS).fill(0);
  if (rows.length === 0) return mean;
  const ages = rows.map((r) => Math.max(0, now - r.activity_timestamp));
  const youngest = Math.min(...ages);
  const weights = ages.map((age) => 0.5 ** ((age - youngest) / MIN));
  const total = weights.reduce((a, b) => a + b, 0);
  rows.forEach((r, k) => {
    const embedding = catalogue.get(r.product_id!)!.embedding;
    for (let i = 0; i < EMBEDDING_DIMS; i++) mean[i]! += (weights[k]! * embedding[i]!) / total;
  });
  return mean;
}

/* ------------------------------------------------------------------------------------------------------------
 * The system under test
 * ---------------------------------------------------------------------------------------------------------- */

interface Delivery {
  readonly user: string;
  readonly change: UserChange;
}

/** As the engine routes: an update that changes user_id is a delete for the old owner and an upsert for the new. */
function route(steps: readonly Step[]): Delivery[] {
  const out: Delivery[] = [];
  for (const step of steps) {
    const position = { order: step.order, lsn: step.lsn };
    const commitUs = NOW - HOUR + step.order;
    const rowId = step.id;
    if (step.before !== null && (step.after === null || step.after.user_id !== step.before.user_id)) {
      out.push({ user: step.before.user_id, change: { kind: 'delete', rowId, position, commitUs } });
    }
    if (step.after !== null) {
      const row = {
        type: step.after.activity_type,
        productId: step.after.product_id,
        eventUs: step.after.activity_timestamp,
      };
      out.push({ user: step.after.user_id, change: { kind: 'upsert', rowId, row, position, commitUs } });
    }
  }
  return out;
}

/** The engine's loop: each batch grouped by user, planned against the user's state, then applied. */
function deliver(batches: readonly (readonly Delivery[])[]): Map<string, UserState> {
  const states = new Map(USERS.map((user) => [user, emptyState(user)]));
  for (const batch of batches) {
    const perUser = new Map<string, UserChange[]>();
    for (const { user, change } of batch) perUser.set(user, [...(perUser.get(user) ?? []), change]);
    for (const [user, changes] of perUser) {
      const state = states.get(user)!;
      const planned = plan(state, changes, LIMITS, NOW);
      if (planned) applyPlan(state, planned);
    }
  }
  return states;
}

const oneByOne = (deliveries: readonly Delivery[]) => deliveries.map((d) => [d]);

const NOT_EMBEDDING = (
  [
    'lastViewedProduct',
    'lastClickedCategory',
    'viewCount30s',
    'clickCount30s',
    'viewCount5m',
    'clickCount5m',
    'activityCount1h',
    'recentProducts',
    'topCategories5m',
  ] as const satisfies readonly FeatureName[]
).slice();

const read = (state: UserState, nowUs: number, names: FeatureName[]) =>
  computeFeatures(state, { nowUs, catalogue, truncatedBeforeLsn: 0 }, names);

/** Every user's live rows, every feature but the embedding at every read instant: exactly the oracle's. */
function expectGroundTruth(steps: readonly Step[], states: Map<string, UserState>): void {
  const table = replay(steps);
  for (const user of USERS) {
    const state = states.get(user)!;
    const live: Record<string, unknown> = {};
    for (const [rowId, stored] of state.rows) {
      if (stored.data !== null) live[rowId] = { lsn: stored.lsn, ...stored.data };
    }
    const expected: Record<string, unknown> = {};
    for (const [rowId, r] of table) {
      if (r.user_id !== user) continue;
      expected[rowId] = {
        lsn: r.lsn,
        type: r.activity_type,
        productId: r.product_id,
        eventUs: r.activity_timestamp,
      };
    }
    expect({ user, rows: live }).toEqual({ user, rows: expected });
    for (const at of READ_AT) {
      const readAt = `NOW+${(at - NOW) / S}s`;
      expect({ user, readAt, ...read(state, at, NOT_EMBEDDING) }).toEqual({
        user,
        readAt,
        ...oracle(table, user, at),
      });
    }
  }
}

function maxDifference(a: readonly number[], b: readonly number[]): number {
  expect(a).toHaveLength(b.length);
  return Math.max(0, ...a.map((v, i) => Math.abs(v - b[i]!)));
}

/** The feature rounds to 6 decimals: two roundings of nearly equal values differ by at most 1e-6. */
const TOLERANCE = 1e-6 + 1e-12;

/* ------------------------------------------------------------------------------------------------------------
 * Deliveries
 * ---------------------------------------------------------------------------------------------------------- */

/** Redeliveries: copies of earlier deliveries inserted anywhere after their original. */
const withDuplicates = (deliveries: readonly Delivery[]) =>
  fc
    .array(fc.tuple(fc.nat(deliveries.length - 1), fc.nat()), { minLength: 1, maxLength: 20 })
    .map((copies) => {
      const out = [...deliveries];
      for (const [from, offset] of copies) {
        const original = out.indexOf(deliveries[from]!);
        out.splice(original + 1 + (offset % (out.length - original)), 0, deliveries[from]!);
      }
      return out;
    });

const permutation = (deliveries: readonly Delivery[]) =>
  fc.shuffledSubarray([...deliveries], { minLength: deliveries.length, maxLength: deliveries.length });

const batches = (deliveries: readonly Delivery[]) =>
  fc.array(fc.boolean(), { minLength: deliveries.length, maxLength: deliveries.length }).map((cuts) => {
    const out: Delivery[][] = [[]];
    deliveries.forEach((d, i) => {
      if (i > 0 && cuts[i]) out.push([]);
      out[out.length - 1]!.push(d);
    });
    return out;
  });

/** Permuted, then redelivered anywhere (a redelivery may overtake the original), then batched. */
const chaos = (deliveries: readonly Delivery[]) =>
  permutation(deliveries).chain((shuffled) =>
    fc
      .array(fc.tuple(fc.nat(deliveries.length - 1), fc.nat()), { maxLength: 20 })
      .map((copies) => {
        const out = [...shuffled];
        for (const [from, at] of copies) out.splice(at % (out.length + 1), 0, deliveries[from]!);
        return out;
      })
      .chain(batches),
  );

const RUNS = { numRuns: 100 };

describe('ground truth: features equal a SQL oracle over the replayed table', () => {
  it('(a) delivered in order, one change at a time', () => {
    fc.assert(
      fc.property(history, (steps) => {
        expectGroundTruth(steps, deliver(oneByOne(route(steps))));
      }),
      RUNS,
    );
  });

  it('(b) with random redeliveries', () => {
    const arbitrary = history.chain((steps) => withDuplicates(route(steps)).map((d) => ({ steps, d })));
    fc.assert(
      fc.property(arbitrary, ({ steps, d }) => {
        expectGroundTruth(steps, deliver(oneByOne(d)));
      }),
      RUNS,
    );
  });

  it('(c) in a random permutation', () => {
    const arbitrary = history.chain((steps) => permutation(route(steps)).map((d) => ({ steps, d })));
    fc.assert(
      fc.property(arbitrary, ({ steps, d }) => {
        expectGroundTruth(steps, deliver(oneByOne(d)));
      }),
      RUNS,
    );
  });

  it('(d) split into random batches', () => {
    const arbitrary = history.chain((steps) => batches(route(steps)).map((b) => ({ steps, b })));
    fc.assert(
      fc.property(arbitrary, ({ steps, b }) => {
        expectGroundTruth(steps, deliver(b));
      }),
      RUNS,
    );
  });

  it('(e) permuted, redelivered and batched at once', () => {
    const arbitrary = history.chain((steps) => chaos(route(steps)).map((b) => ({ steps, b })));
    fc.assert(
      fc.property(arbitrary, ({ steps, b }) => {
        expectGroundTruth(steps, deliver(b));
      }),
      RUNS,
    );
  });

  it('embedding: every delivery (b)-(e) gives the in-order vector, within 1e-6 per component', () => {
    const arbitrary = history.chain((steps) => chaos(route(steps)).map((b) => ({ steps, b })));
    fc.assert(
      fc.property(arbitrary, ({ steps, b }) => {
        const inOrder = deliver(oneByOne(route(steps)));
        const chaotic = deliver(b);
        for (const user of USERS) {
          for (const at of READ_AT) {
            const expected = read(inOrder.get(user)!, at, ['embedding']).embedding!;
            const actual = read(chaotic.get(user)!, at, ['embedding']).embedding!;
            expect(maxDifference(actual, expected), `${user} at NOW+${(at - NOW) / S}s`).toBeLessThanOrEqual(
              TOLERANCE,
            );
          }
        }
      }),
      RUNS,
    );
  });

  it('embedding: equals the time-decayed mean of the oracle, within 1e-6 per component', () => {
    fc.assert(
      fc.property(history, (steps) => {
        const table = replay(steps);
        const states = deliver(oneByOne(route(steps)));
        for (const user of USERS) {
          for (const at of READ_AT) {
            const actual = read(states.get(user)!, at, ['embedding']).embedding!;
            const expected = oracleEmbedding(table, user, at);
            const where = `${user} read at NOW+${(at - NOW) / S}s: got ${actual.slice(0, 4)}…, want ${expected.slice(0, 4)}…`;
            expect(maxDifference(actual, expected), where).toBeLessThanOrEqual(TOLERANCE);
          }
        }
      }),
      RUNS,
    );
  });
});
