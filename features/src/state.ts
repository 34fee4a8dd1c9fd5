import type { ActivityChange, ActivityRow } from './activity.ts';

/**
 * A user's state: the latest version of each of their recent activity rows, keyed by row id. Because a row
 * only ever moves forward (a change applies only if its LSN is newer than the stored one, and a delete leaves
 * a versioned tombstone), applying an event twice, or applying events in any order, ends in the same state:
 * exactly-once effects under at-least-once delivery, without any per-consumer offset bookkeeping.
 *
 * Planning is pure (state + changes -> plan); the store commits a plan durably, and only then is it applied
 * to the in-memory state, so a reader never sees a change Redis does not have.
 */
export interface StoredRow {
  readonly lsn: number;
  readonly order: number;
  /** Activity time, kept for tombstones too so retention can drop them. */
  readonly eventUs: number;
  /** Null: the row was deleted. */
  readonly data: ActivityRow | null;
}

export interface Freshness {
  readonly order: number;
  readonly lsn: number;
  readonly commitUs: number;
}

export interface UserState {
  readonly userId: string;
  version: number;
  readonly rows: Map<string, StoredRow>;
  /** The newest change folded in (by commit order). */
  newest: Freshness | null;
  /** When the last change was applied (store clock). */
  updatedAtUs: number | null;
}

/** A change once its user is known: the parsed activity change minus what only routing needed. */
export type UserChange =
  | Pick<Extract<ActivityChange, { kind: 'upsert' }>, 'kind' | 'rowId' | 'row' | 'position' | 'commitUs'>
  | Pick<Extract<ActivityChange, { kind: 'delete' }>, 'kind' | 'rowId' | 'position' | 'commitUs'>;

export interface Limits {
  /** Rows (tombstones included) kept per user; the oldest by activity time go first, tombstones before rows. */
  readonly maxRows: number;
  /** Rows whose activity time is older than this are dropped. */
  readonly retentionUs: number;
  /** Rows below this LSN were truncated away at the source. */
  readonly truncatedBeforeLsn: number;
}

export interface Plan {
  readonly version: number;
  readonly set: ReadonlyMap<string, StoredRow>;
  readonly removed: ReadonlySet<string>;
  /** The removed rows that were live (not tombstones): the user owned them until now. */
  readonly evictedLive: ReadonlySet<string>;
  readonly newest: Freshness | null;
  readonly updatedAtUs: number;
  /** Per input change: did it change anything? `expired`: older than retention, for a row not held. */
  readonly outcomes: readonly Outcome[];
}

export type Outcome = 'applied' | 'duplicate' | 'expired';

export function emptyState(userId: string): UserState {
  return { userId, version: 0, rows: new Map(), newest: null, updatedAtUs: null };
}

/** What applying `changes` would do; null when nothing would change (all duplicates, nothing to evict). */
export function plan(
  state: UserState,
  changes: readonly UserChange[],
  limits: Limits,
  nowUs: number,
): Plan | null {
  const set = new Map<string, StoredRow>();
  const outcomes: Outcome[] = [];
  const cutoff = nowUs - limits.retentionUs;
  let newest = state.newest;
  let applied = 0;

  for (const change of changes) {
    const existing = set.get(change.rowId) ?? state.rows.get(change.rowId);
    const { lsn, order } = change.position;
    if (lsn < limits.truncatedBeforeLsn || (existing !== undefined && existing.lsn >= lsn)) {
      outcomes.push('duplicate');
      continue;
    }
    if (existing === undefined && change.kind === 'upsert' && change.row.eventUs < cutoff) {
      // Retention would drop it at once: holding nothing, there is nothing to change.
      outcomes.push('expired');
      continue;
    }
    // A tombstone for a row never seen (its delete overtook its insert) must outlive that late insert, so it
    // ages from the delete's commit rather than from an activity time nobody told us.
    const stored: StoredRow =
      change.kind === 'upsert'
        ? { lsn, order, eventUs: change.row.eventUs, data: change.row }
        : { lsn, order, eventUs: existing?.eventUs ?? (change.commitUs || nowUs), data: null };
    set.set(change.rowId, stored);
    outcomes.push('applied');
    applied++;
    if (newest === null || order > newest.order || (order === newest.order && lsn > newest.lsn)) {
      newest = { order, lsn, commitUs: change.commitUs };
    }
  }

  const removed = evictions(state, set, limits, nowUs);
  const evictedLive = new Set<string>();
  for (const rowId of removed) {
    if (state.rows.get(rowId)?.data) evictedLive.add(rowId);
    set.delete(rowId);
  }
  if (applied === 0 && removed.size === 0) return null;
  return { version: state.version + 1, set, removed, evictedLive, newest, updatedAtUs: nowUs, outcomes };
}

/** Makes a committed plan visible. */
export function applyPlan(state: UserState, committed: Plan): void {
  for (const [rowId, row] of committed.set) state.rows.set(rowId, row);
  for (const rowId of committed.removed) state.rows.delete(rowId);
  state.version = committed.version;
  state.newest = committed.newest;
  state.updatedAtUs = committed.updatedAtUs;
}

/**
 * Rows to drop: older than retention or truncated away, then, over the cap, tombstones first (oldest first)
 * and live rows from the oldest activity time. Runs on every plan, so it is written as plain loops over the
 * stored rows and the pending ones (the common case, under the cap with nothing too old, allocates nothing
 * but the result).
 */
function evictions(
  state: UserState,
  pending: Map<string, StoredRow>,
  limits: Limits,
  nowUs: number,
): Set<string> {
  const removed = new Set<string>();
  const cutoff = nowUs - limits.retentionUs;
  const truncated = limits.truncatedBeforeLsn;
  let size = 0;
  for (const [rowId, row] of pending) {
    if (row.eventUs < cutoff || row.lsn < truncated) removed.add(rowId);
    else size++;
  }
  for (const [rowId, row] of state.rows) {
    if (pending.has(rowId)) continue;
    if (row.eventUs < cutoff || row.lsn < truncated) removed.add(rowId);
    else size++;
  }
  let excess = size - limits.maxRows;
  if (excess <= 0) return removed;
  const candidates: [string, StoredRow][] = [];
  for (const entry of pending) if (!removed.has(entry[0])) candidates.push(entry);
  for (const entry of state.rows)
    if (!pending.has(entry[0]) && !removed.has(entry[0])) candidates.push(entry);
  candidates.sort(([, a], [, b]) => {
    if ((a.data === null) !== (b.data === null)) return a.data === null ? -1 : 1;
    return a.eventUs - b.eventUs || a.order - b.order || a.lsn - b.lsn;
  });
  for (const [rowId] of candidates) {
    if (excess-- <= 0) break;
    removed.add(rowId);
  }
  return removed;
}
