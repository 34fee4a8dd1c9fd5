import { type Catalogue, EMBEDDING_DIMS } from './catalogue.ts';
import {
  type Aggregation,
  FEATURES,
  type FeatureDefinition,
  type FeatureName,
  type FeatureVector,
  type Value,
  WINDOW_US,
} from './definitions.ts';
import type { StoredRow, UserState } from './state.ts';

/**
 * Evaluates the feature definitions over a user's rows at the moment of reading. Pure: state, catalogue and
 * clock in, vector out. Rows are visited newest first (activity time, then commit order), so a window is a
 * prefix of that order and `last`/`lastN` stop at the first matches.
 */
export interface ReadContext {
  readonly nowUs: number;
  readonly catalogue: Catalogue;
  /** Rows below this LSN were truncated away at the source. */
  readonly truncatedBeforeLsn: number;
}

export function computeFeatures(
  state: UserState,
  context: ReadContext,
  names: readonly FeatureName[] = FEATURE_NAMES,
): Partial<FeatureVector> & Record<string, unknown> {
  const rows = newestFirst(state, context.truncatedBeforeLsn);
  const vector: Record<string, unknown> = {};
  for (const name of names) vector[name] = evaluate(FEATURES[name], rows, context);
  return vector;
}

export const FEATURE_NAMES = Object.keys(FEATURES) as FeatureName[];

/**
 * Live rows newest first (a user holds at most BRISK_MAX_ROWS_PER_USER rows: sorting per read is cheap). Rows
 * that tie on activity time, commit order and LSN (snapshot reads all sit at 0) are ordered by row id, so the
 * result never depends on the order rows were stored or loaded in.
 */
function newestFirst(state: UserState, truncatedBeforeLsn: number): readonly StoredRow[] {
  const live: [string, StoredRow][] = [];
  for (const entry of state.rows) {
    const row = entry[1];
    if (row.data !== null && row.lsn >= truncatedBeforeLsn) live.push(entry);
  }
  live.sort(
    ([ida, a], [idb, b]) =>
      b.eventUs - a.eventUs || b.order - a.order || b.lsn - a.lsn || (ida < idb ? 1 : ida > idb ? -1 : 0),
  );
  return live.map((entry) => entry[1]);
}

function evaluate(definition: FeatureDefinition, rows: readonly StoredRow[], context: ReadContext): unknown {
  const { where, aggregation } = definition;
  const cutoff = context.nowUs - WINDOW_US[definition.window];
  const types = where.activityTypes;
  const matches = function* () {
    for (const row of rows) {
      if (row.eventUs <= cutoff) return;
      const data = row.data!;
      if (types !== undefined && !types.includes(data.type)) continue;
      if (where.requireProduct && data.productId === null) continue;
      yield row;
    }
  };
  return aggregate(aggregation, matches, context);
}

function aggregate(
  aggregation: Aggregation,
  matches: () => Iterable<StoredRow>,
  context: ReadContext,
): unknown {
  const value = (row: StoredRow, field: Value) => fieldOf(row, field, context.catalogue);
  switch (aggregation.kind) {
    case 'last': {
      for (const row of matches()) {
        const v = value(row, aggregation.value);
        if (v !== null) return v;
      }
      return null;
    }
    case 'count': {
      let count = 0;
      for (const _ of matches()) count++;
      return count;
    }
    case 'sum': {
      let sum = 0;
      for (const row of matches()) {
        const v = value(row, aggregation.value);
        if (typeof v === 'number') sum += v;
      }
      return Math.round(sum * 100) / 100;
    }
    case 'countDistinct': {
      const seen = new Set<string | number>();
      for (const row of matches()) {
        const v = value(row, aggregation.value);
        if (v !== null) seen.add(v);
      }
      return seen.size;
    }
    case 'lastN': {
      const seen = new Set<string | number>();
      for (const row of matches()) {
        const v = value(row, aggregation.value);
        if (v !== null) seen.add(v);
        if (seen.size === aggregation.n) break;
      }
      return [...seen];
    }
    case 'topK': {
      // Insertion order is newest first, and the sort is stable: equal counts stay newest first.
      const counts = new Map<string | number, number>();
      for (const row of matches()) {
        const v = value(row, aggregation.value);
        if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
      }
      return [...counts]
        .sort((a, b) => b[1] - a[1])
        .slice(0, aggregation.k)
        .map(([v, count]) => ({ [aggregation.as]: v, count }));
    }
    case 'decayedMean': {
      const sum = new Array<number>(EMBEDDING_DIMS).fill(0);
      let total = 0;
      const halfLifeUs = aggregation.halfLifeSeconds * 1_000_000;
      // A mean divided by its total weight depends only on relative ages: weigh against the newest row (weight
      // 1), so an old history keeps its shape instead of underflowing to zero.
      let newestUs: number | null = null;
      for (const row of matches()) {
        const embedding = context.catalogue.get(row.data!.productId!)?.embedding;
        if (embedding === undefined) continue;
        newestUs ??= Math.min(row.eventUs, context.nowUs);
        const age = Math.max(0, newestUs - row.eventUs);
        // Beyond 40 half-lives a row weighs less than 1e-12 of the newest: stop, rows only get older.
        if (age > 40 * halfLifeUs) break;
        const weight = 2 ** (-age / halfLifeUs);
        total += weight;
        for (let i = 0; i < EMBEDDING_DIMS; i++) sum[i]! += weight * embedding[i]!;
      }
      return sum.map((v) => (total === 0 ? 0 : Math.round((v / total) * 1e6) / 1e6));
    }
  }
}

function fieldOf(row: StoredRow, field: Value, catalogue: Catalogue): string | number | null {
  const data = row.data!;
  switch (field) {
    case 'productId':
      return data.productId;
    case 'type':
      return data.type;
    case 'category':
      return data.productId === null ? null : (catalogue.get(data.productId)?.category ?? null);
    case 'price':
      return data.productId === null ? null : (catalogue.get(data.productId)?.price ?? null);
  }
}
