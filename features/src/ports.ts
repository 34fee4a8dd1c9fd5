import type { DeadLetter } from './activity.ts';
import type { Catalogue, Product } from './catalogue.ts';
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
  /** New views and clicks per product that this batch applied (duplicates never count): popularity. */
  readonly popularity: ReadonlyMap<string, number>;
  /** Catalogue changes, net of the batch: clear first when `truncate`, then set and delete. */
  readonly products: {
    readonly truncate: boolean;
    readonly set: ReadonlyMap<string, Product>;
    readonly deleted: ReadonlySet<string>;
  } | null;
}

export interface CommitResult {
  /** Users whose stored version was not the plan's base: nothing of theirs was written. */
  readonly conflicts: readonly string[];
}

/** Products read from the source database, when its catalogue table is not published (no change events). */
export interface ProductLookup {
  products(ids: readonly string[]): Promise<Product[]>;
}

export interface StateStore {
  /** Current states, from the cache where possible. Unknown users come back empty (version 0). */
  states(userIds: readonly string[]): Promise<Map<string, UserState>>;
  /** Current states read from Redis, bypassing the cache (after a conflict). */
  freshStates(userIds: readonly string[]): Promise<Map<string, UserState>>;
  /** Owners of rows, for deletes that carry only the row id. Rows nobody holds are absent. */
  rowOwners(rowIds: readonly string[]): Promise<Map<string, string>>;
  truncatedBeforeLsn(): number;
  /** The product catalogue as last committed. */
  catalogue(): Catalogue;
  /** Durable when it resolves: only then may the source position be acknowledged. */
  commit(request: CommitRequest): Promise<CommitResult>;
}
