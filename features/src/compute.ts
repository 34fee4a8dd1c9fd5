import { FEATURES, type FeatureDefinition, type FeatureName, type FeatureVector } from './definitions.ts';
import type { StoredRow, UserState } from './state.ts';

/**
 * Reads a user's feature vector from their state. Pure, and evaluated at read time so that windowed
 * features can be relative to `nowUs` (no background job has to expire anything).
 */
export function computeFeatures(state: UserState, truncatedBeforeLsn: number): FeatureVector {
  const vector = {} as FeatureVector;
  for (const name of Object.keys(FEATURES) as FeatureName[]) {
    vector[name] = computeLast(state, FEATURES[name], truncatedBeforeLsn);
  }
  return vector;
}

function computeLast(
  state: UserState,
  definition: FeatureDefinition,
  truncatedBeforeLsn: number,
): string | null {
  let best: StoredRow | null = null;
  let value: string | null = null;
  for (const row of state.rows.values()) {
    const data = row.data;
    if (data === null || row.lsn < truncatedBeforeLsn || !definition.activityTypes.includes(data.type))
      continue;
    const candidate = data[definition.value];
    if (candidate === null) continue;
    if (best === null || newer(row, best)) {
      best = row;
      value = candidate;
    }
  }
  return value;
}

/** Newest by activity time; equal times are ordered by commit order, then by position in the transaction. */
function newer(a: StoredRow, b: StoredRow): boolean {
  if (a.eventUs !== b.eventUs) return a.eventUs > b.eventUs;
  if (a.order !== b.order) return a.order > b.order;
  return a.lsn > b.lsn;
}
