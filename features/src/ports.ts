import type { DeadLetter } from './activity.ts';
import type { Plan, UserState } from './state.ts';

/**
 * What the engine needs from durable storage. The store stage implements it (Redis + L1); the engine never
 * sees Redis, and its tests can run against any implementation.
 */
export interface UserCommit {
  /** The state the plan was made from; the store applies the plan to it once the write is durable. */
  readonly state: UserState;
  readonly plan: Plan;
}

export interface CommitRequest {
  readonly users: readonly UserCommit[];
  /** Row -> user entries to remember (new rows, rows that moved to another user). */
  readonly ownerSets: ReadonlyMap<string, string>;
  /** Row -> user entries no longer needed, written only if the user's commit succeeds (best effort). */
  readonly ownerRemovals: ReadonlyMap<string, readonly string[]>;
  readonly deadLetters: readonly DeadLetter[];
  /** A TRUNCATE in this batch: rows below this LSN disappear for every user. */
  readonly truncatedBeforeLsn: number | null;
  /** The source position this batch completes, when it is the end of a transaction. */
  readonly checkpoint: number | null;
}

export interface CommitResult {
  /** Users whose stored version was not the plan's base: nothing of theirs was written. */
  readonly conflicts: readonly string[];
}

export interface StateStore {
  /** Current states, from the cache where possible. Unknown users come back empty (version 0). */
  states(userIds: readonly string[]): Promise<Map<string, UserState>>;
  /** Current states read from Redis, bypassing the cache (after a conflict). */
  freshStates(userIds: readonly string[]): Promise<Map<string, UserState>>;
  /** Owners of rows, for deletes that carry only the row id. Rows nobody holds are absent. */
  rowOwners(rowIds: readonly string[]): Promise<Map<string, string>>;
  truncatedBeforeLsn(): number;
  /** Durable when it resolves: only then may the source position be acknowledged. */
  commit(request: CommitRequest): Promise<CommitResult>;
}
