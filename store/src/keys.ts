/**
 * Redis key layout. Everything about one user lives in one hash under a hash tag of its own, so a user's
 * writes are single-key (atomic, and Redis Cluster routes them to one slot). Ids are escaped inside the tag:
 * a '}' in an id would otherwise end the tag early and split one user's keys across slots.
 */
const PREFIX = 'brisk';

/** Every key Brisk writes matches this (one Redis holds the state of one Brisk pipeline). */
export const KEY_PATTERN = `${PREFIX}:*`;

const NEEDS_ESCAPE = /[%{}]/;

export function tag(id: string): string {
  if (!NEEDS_ESCAPE.test(id)) return `{${id}}`;
  return `{${id.replaceAll('%', '%25').replaceAll('{', '%7B').replaceAll('}', '%7D')}}`;
}

export const keys = {
  /** HASH: `v` version, `m` freshness JSON, `r:<rowId>` one activity row each. */
  user: (userId: string) => `${PREFIX}:u:${tag(userId)}`,
  /** STRING: the user owning a row, for deletes that carry only the row id. */
  rowOwner: (rowId: string) => `${PREFIX}:row:${tag(rowId)}`,
  /** STRING: LSN of the last TRUNCATE of the activity table; rows below it no longer exist. */
  truncate: `${PREFIX}:truncate`,
  /** STRING: LSN up to which Redis holds every effect (written after each batch, before PostgreSQL is told). */
  checkpoint: (slot: string) => `${PREFIX}:checkpoint:${slot}`,
  /** HASH: the product catalogue, product id -> {n: name, c: category, p: price}. */
  catalogue: `${PREFIX}:catalogue`,
  /** ZSET per hour: new views and clicks per product. One hash tag, so ZUNION works on Redis Cluster too. */
  popular: (hour: number) => `${PREFIX}:popular:{p}:${hour}`,
  /** STRING: `pending` while the initial snapshot for a slot runs, `done` after. */
  snapshot: (slot: string) => `${PREFIX}:snapshot:${slot}`,
  /** STREAM: events that could not be (fully) used, with the reason. */
  deadLetters: `${PREFIX}:deadletter`,
} as const;

export const ROW_FIELD_PREFIX = 'r:';
