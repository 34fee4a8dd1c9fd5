import type { ChangeEvent } from '@brisk/cdc';
import { type ErrorCode, parseTimestampUs, userIdProblem } from '@brisk/core';

/**
 * Turns a Debezium change event on the activity table into what the engine applies. Accepts what Brisk's own
 * connector emits and what a real Debezium connector writes: ISO-8601 ZonedTimestamp strings or epoch numbers,
 * `before` null (REPLICA IDENTITY DEFAULT) or a full row, deletes that carry only the key. Anything else is
 * turned into a dead letter with a code saying what was wrong — never an exception.
 */

/** Where a change sits in the source's history. Row versions compare `lsn`; ties across rows use `order` first. */
export interface Position {
  /** Transaction order: the commit LSN the connector saw before this transaction (Debezium sequence[0]). */
  readonly order: number;
  /** The change's own LSN. */
  readonly lsn: number;
}

export interface ActivityRow {
  readonly type: string;
  readonly productId: string | null;
  /** activity_timestamp in microseconds since the epoch. */
  readonly eventUs: number;
}

export type ActivityChange =
  | {
      readonly kind: 'upsert';
      readonly rowId: string;
      readonly userId: string;
      /** Set when the event itself says the row belonged to another user before (full `before` image). */
      readonly previousUserId: string | null;
      /** True for inserts and snapshot reads: the row cannot have had an owner before. */
      readonly isNew: boolean;
      readonly row: ActivityRow;
      readonly position: Position;
      readonly commitUs: number;
    }
  | {
      readonly kind: 'delete';
      readonly rowId: string;
      /** Null when the event carries only the key; the engine then asks the row index. */
      readonly userId: string | null;
      readonly position: Position;
      readonly commitUs: number;
    }
  | { readonly kind: 'truncate'; readonly position: Position; readonly commitUs: number };

export interface DeadLetter {
  readonly code: ErrorCode;
  readonly message: string;
  /** rejected: nothing was applied. kept: the row was applied, but some feature cannot use it. */
  readonly disposition: 'rejected' | 'kept';
  readonly event: unknown;
}

export type ParseResult =
  | { readonly ok: true; readonly change: ActivityChange; readonly warning: DeadLetter | null }
  | { readonly ok: false; readonly deadLetter: DeadLetter }
  /** Not an activity change at all (other table, heartbeat, logical message): nothing to do. */
  | { readonly ok: 'skip' };

/** The position of every snapshot read: row version 0, so any streamed change of the row wins. */
export const SNAPSHOT_POSITION: Position = { order: 0, lsn: 0 };

/** Activity types whose rows must name a product. */
export const PRODUCT_ACTIVITIES: ReadonlySet<string> = new Set([
  'VIEW_PRODUCT',
  'CLICK_PRODUCT',
  'ADD_TO_CART',
  'PURCHASE',
]);

export interface SourceTable {
  readonly schema: string;
  readonly table: string;
}

export function parseActivityEvent(event: ChangeEvent, source: SourceTable): ParseResult {
  if (
    event === null ||
    typeof event !== 'object' ||
    typeof event.source !== 'object' ||
    event.source === null
  ) {
    return reject('BRISK_EVENT_MALFORMED', 'event has no `source` block', event);
  }
  const { op } = event;
  if (op === 'm') return { ok: 'skip' };
  if (event.source.table !== source.table || (event.source.schema ?? source.schema) !== source.schema) {
    return { ok: 'skip' };
  }
  if (op !== 'c' && op !== 'u' && op !== 'r' && op !== 'd' && op !== 't') {
    return reject('BRISK_EVENT_MALFORMED', `unknown op '${String(op)}'`, event);
  }
  // A snapshot read is older than anything streamed, whatever its source.lsn says: a transaction that began
  // before the snapshot and committed after it streams changes whose LSNs are below the snapshot's point.
  const position = op === 'r' ? SNAPSHOT_POSITION : positionOf(event);
  if (!position) return reject('BRISK_EVENT_MALFORMED', 'source.lsn is missing or not a number', event);
  const commitUs = commitMicros(event);

  if (op === 't') return { ok: true, change: { kind: 'truncate', position, commitUs }, warning: null };

  if (op === 'd') {
    const before = event.before;
    if (!isRecord(before)) return reject('BRISK_EVENT_MALFORMED', 'delete event has no `before` key', event);
    const rowId = asId(before.id);
    if (rowId === null)
      return reject('BRISK_EVENT_MISSING_FIELD', 'delete event has no row id (before.id)', event);
    const user = before.user_id;
    const userId = typeof user === 'string' && userIdProblem(user) === null ? user : null;
    return { ok: true, change: { kind: 'delete', rowId, userId, position, commitUs }, warning: null };
  }

  const after = event.after;
  if (!isRecord(after))
    return reject('BRISK_EVENT_MALFORMED', `op '${op}' event has no \`after\` row`, event);
  const rowId = asId(after.id);
  if (rowId === null) return reject('BRISK_EVENT_MISSING_FIELD', 'row has no id', event);
  const user = after.user_id;
  if (typeof user !== 'string') {
    return reject('BRISK_EVENT_MISSING_FIELD', `row ${rowId} has no user_id`, event);
  }
  const problem = userIdProblem(user);
  if (problem !== null) {
    return reject('BRISK_EVENT_INVALID_USER_ID', `row ${rowId}: user_id ${problem}`, event);
  }
  const type = after.activity_type;
  if (typeof type !== 'string' || type === '') {
    return reject('BRISK_EVENT_MISSING_FIELD', `row ${rowId} has no activity_type`, event);
  }
  const eventUs = timestampMicros(after.activity_timestamp);
  if (eventUs === null) {
    return reject(
      'BRISK_EVENT_INVALID_TIMESTAMP',
      `row ${rowId}: activity_timestamp ${JSON.stringify(after.activity_timestamp)} is not a timestamp`,
      event,
    );
  }
  const product = after.product_id;
  const productId = typeof product === 'string' && product !== '' ? product : null;
  const warning: DeadLetter | null =
    productId === null && PRODUCT_ACTIVITIES.has(type)
      ? {
          code: 'BRISK_EVENT_MISSING_PRODUCT',
          message: `row ${rowId}: ${type} without product_id; the row counts as activity but no product feature uses it`,
          disposition: 'kept',
          event,
        }
      : null;
  const beforeUser = isRecord(event.before) ? event.before.user_id : null;
  return {
    ok: true,
    change: {
      kind: 'upsert',
      rowId,
      userId: user,
      previousUserId: typeof beforeUser === 'string' && beforeUser !== user ? beforeUser : null,
      isNew: op !== 'u',
      row: { type, productId, eventUs },
      position,
      commitUs,
    },
    warning,
  };
}

/**
 * Epoch numbers are read by magnitude, because the seed's sample carries milliseconds while Debezium's
 * MicroTimestamp carries microseconds: below 1e14 milliseconds, below 1e17 microseconds, else nanoseconds.
 */
export function timestampMicros(value: unknown): number | null {
  if (typeof value === 'string') return parseTimestampUs(value);
  if (typeof value !== 'number' || !Number.isFinite(value)) return null;
  const magnitude = Math.abs(value);
  if (magnitude < 1e14) return Math.round(value * 1000);
  if (magnitude < 1e17) return Math.round(value);
  return Math.round(value / 1000);
}

function positionOf(event: ChangeEvent): Position | null {
  const lsn = event.source.lsn;
  if (typeof lsn !== 'number' || !Number.isFinite(lsn)) return null;
  return { order: sequenceOrder(event.source.sequence) ?? lsn, lsn };
}

function sequenceOrder(sequence: unknown): number | null {
  if (typeof sequence !== 'string' || sequence.length < 2) return null;
  // `["<lastCommitLsn>","<lsn>"]`: only the first element is needed, without a full JSON.parse per event.
  const end = sequence.indexOf(',');
  if (end < 0) return null;
  const first = sequence.slice(1, end).replaceAll('"', '');
  if (first === 'null' || first === '') return null;
  const value = Number(first);
  return Number.isFinite(value) ? value : null;
}

function commitMicros(event: ChangeEvent): number {
  const { ts_us: us, ts_ms: ms } = event.source;
  if (typeof us === 'number' && Number.isFinite(us)) return us;
  return typeof ms === 'number' && Number.isFinite(ms) ? ms * 1000 : 0;
}

function asId(value: unknown): string | null {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function reject(code: ErrorCode, message: string, event: unknown): ParseResult {
  return { ok: false, deadLetter: { code, message, disposition: 'rejected', event } };
}
