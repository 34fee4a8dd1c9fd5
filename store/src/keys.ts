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

/** Pub/sub channel on which every commit announces the users it changed (see the commit script). */
export const CHANGES_CHANNEL = `${PREFIX}:changes`;

/** Pub/sub channel announcing that the catalogue or the truncate marker changed: readers reload them. */
export const SHARED_CHANNEL = `${PREFIX}:shared`;

const UNESCAPE: Record<string, string> = { '7B': '{', '7D': '}', '25': '%' };
const USER_KEY_PREFIX = `${PREFIX}:u:{`;

/** The user id inside a user key (the inverse of keys.user), or null for any other key. */
export function userFromKey(key: string): string | null {
  if (!key.startsWith(USER_KEY_PREFIX) || !key.endsWith('}')) return null;
  const inner = key.slice(USER_KEY_PREFIX.length, -1);
  return inner.includes('%') ? inner.replace(/%(7B|7D|25)/g, (_, hex: string) => UNESCAPE[hex]!) : inner;
}
