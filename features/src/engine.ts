import type { ChangeEvent } from '@brisk/cdc';
import {
  type BackoffPolicy,
  backoffDelay,
  briskError,
  type Clock,
  DEFAULT_BACKOFF,
  isRetriable,
  type Logger,
  type Metrics,
  sleep,
  systemClock,
} from '@brisk/core';
import { type ActivityChange, type DeadLetter, parseActivityEvent, type SourceTable } from './activity.ts';
import type { Product } from './catalogue.ts';
import type { CommitRequest, ProductLookup, StateStore, UserCommit } from './ports.ts';
import { foldProductChanges, isTable, type ProductChange, parseProductEvent } from './product-events.ts';
import { type Limits, plan, type UserChange } from './state.ts';

/**
 * Applies change events to per-user state in the store, with group commit: while one batch is being written
 * to Redis, newly submitted events queue up and go together in the next write. At a trickle every event gets
 * its own round trip (lowest latency); under load, batches grow and round trips are amortised.
 */
export interface EngineOptions {
  readonly store: StateStore;
  readonly source: SourceTable;
  readonly maxRowsPerUser: number;
  readonly retentionUs: number;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly backoff?: BackoffPolicy;
  /** Upper bound on events per write. */
  readonly maxBatchEvents?: number;
  /** The catalogue table whose change events update the product catalogue (when it is published). */
  readonly catalogueTable?: SourceTable;
  /** Reads products from the source when the catalogue table is not published; entries are re-read after 10 min. */
  readonly productLookup?: ProductLookup;
}

const LOOKUP_TTL_US = 600_000_000;
const LOOKUP_MEMORY = 100_000;

interface Submission {
  readonly events: readonly ChangeEvent[];
  readonly checkpoint: number | null;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

const MAX_CONFLICT_ROUNDS = 8;

export class FeatureEngine {
  private readonly options: EngineOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly maxBatch: number;
  private queue: Submission[] = [];
  private running = false;
  private stopped = false;
  private idle: Promise<void> = Promise.resolve();
  /** Products looked up in the source (found or not) and when, so each is asked at most every LOOKUP_TTL_US. */
  private readonly lookedUp = new Map<string, number>();

  constructor(options: EngineOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.log = options.logger.child({ component: 'engine' });
    this.maxBatch = options.maxBatchEvents ?? 1000;
  }

  /**
   * Resolves once the events' effects are durable in the store; rejects only with an error retrying cannot
   * fix (retriable store errors are retried here, with backoff, for as long as it takes).
   */
  submit(events: readonly ChangeEvent[], checkpoint: number | null = null): Promise<void> {
    if (this.stopped) {
      return Promise.reject(briskError('BRISK_STORE_UNAVAILABLE', 'the feature engine is stopped'));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ events, checkpoint, resolve, reject });
      if (!this.running) this.idle = this.drain();
    });
  }

  /** Refuses new work and finishes what is queued; a batch that keeps failing is rejected instead of retried. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.idle;
  }

  /**
   * Applies queued batches. Two run at once when they cannot interfere (see independent()): while one waits for
   * Redis, the next is parsed and planned. Acknowledgement order does not depend on it: the connector confirms
   * a position only once every batch before it is durable.
   */
  private async drain(): Promise<void> {
    this.running = true;
    let inFlight: { done: Promise<void>; footprint: Footprint } | null = null;
    try {
      while (this.queue.length > 0 || inFlight !== null) {
        if (this.queue.length === 0) {
          await inFlight!.done;
          inFlight = null;
          continue;
        }
        const batch = this.takeBatch();
        const input = this.collect(batch);
        const footprint = footprintOf(input);
        if (inFlight !== null && !independent(inFlight.footprint, footprint)) {
          await inFlight.done;
          inFlight = null;
        }
        const done = this.applyWithRetry(input).then(
          () => {
            for (const item of batch) item.resolve();
          },
          (error: unknown) => {
            for (const item of batch) item.reject(error);
          },
        );
        if (inFlight !== null) await inFlight.done;
        inFlight = { done, footprint };
      }
    } finally {
      this.running = false;
    }
  }

  private takeBatch(): Submission[] {
    let count = 0;
    let taken = 0;
    while (
      taken < this.queue.length &&
      (taken === 0 || count + this.queue[taken]!.events.length <= this.maxBatch)
    ) {
      count += this.queue[taken]!.events.length;
      taken++;
    }
    return this.queue.splice(0, taken);
  }

  private async applyWithRetry(input: Collected): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.stopped && attempt > 0)
        throw briskError('BRISK_STORE_UNAVAILABLE', 'stopped while retrying a batch');
      try {
        await this.apply(input);
        return;
      } catch (error) {
        if (!isRetriable(error)) throw error;
        const delay = backoffDelay(attempt, this.options.backoff ?? DEFAULT_BACKOFF);
        this.log.warn({ err: error, retryInMs: delay, attempt }, 'store write failed; retrying the batch');
        await sleep(delay);
      }
    }
  }

  /** One batch: find each change's user, plan and commit per user (re-planning on conflicts), record. */
  private async apply(input: Collected): Promise<void> {
    const startedUs = this.clock.nowUs();
    const routed = await this.route(input.changes);
    const limits: Limits = {
      maxRows: this.options.maxRowsPerUser,
      retentionUs: this.options.retentionUs,
      truncatedBeforeLsn: Math.max(this.options.store.truncatedBeforeLsn(), input.truncatedBeforeLsn ?? 0),
    };
    const products = await this.productChanges(input);
    const outcomes = await this.commit(input, routed, limits, products);
    outcomes.ignored += input.ignored + routed.unresolved;
    this.record(input, outcomes, startedUs);
  }

  private collect(batch: readonly Submission[]) {
    const changes: ActivityChange[] = [];
    const productChanges: ProductChange[] = [];
    const catalogueTable = this.options.catalogueTable;
    const deadLetters: DeadLetter[] = [];
    let ignored = 0;
    let events = 0;
    let checkpoint: number | null = null;
    let truncatedBeforeLsn: number | null = null;
    for (const item of batch) {
      if (item.checkpoint !== null) checkpoint = Math.max(checkpoint ?? 0, item.checkpoint);
      for (const event of item.events) {
        events++;
        const parsed = parseActivityEvent(event, this.options.source);
        if (parsed.ok === 'skip') {
          if (catalogueTable !== undefined && event.op !== 'm' && isTable(event, catalogueTable)) {
            const product = parseProductEvent(event);
            if (product.ok) productChanges.push(product.change);
            else deadLetters.push(product.deadLetter);
          } else {
            ignored++;
          }
        } else if (parsed.ok) {
          changes.push(parsed.change);
          if (parsed.warning) deadLetters.push(parsed.warning);
          if (parsed.change.kind === 'truncate') {
            truncatedBeforeLsn = Math.max(truncatedBeforeLsn ?? 0, parsed.change.position.lsn);
          }
        } else {
          deadLetters.push(parsed.deadLetter);
        }
      }
    }
    return { changes, productChanges, deadLetters, ignored, events, checkpoint, truncatedBeforeLsn };
  }

  /**
   * The batch's catalogue changes: from the catalogue table's change events, or, when it is not published, from
   * looking up (read-only) the products the batch's rows name that the catalogue does not know or knew long ago.
   * A failed lookup only leaves those categories unknown for now; it never holds the batch back.
   */
  private async productChanges(input: Collected): Promise<CommitRequest['products']> {
    const folded = input.productChanges.length > 0 ? foldProductChanges(input.productChanges) : null;
    const lookup = this.options.productLookup;
    if (lookup === undefined) return folded;
    const nowUs = this.clock.nowUs();
    const wanted = new Set<string>();
    for (const change of input.changes) {
      const id = change.kind === 'upsert' ? change.row.productId : null;
      if (id === null || wanted.has(id)) continue;
      const askedAt = this.lookedUp.get(id);
      if (
        askedAt === undefined
          ? this.options.store.catalogue().get(id) === undefined
          : nowUs - askedAt > LOOKUP_TTL_US
      ) {
        wanted.add(id);
      }
    }
    if (wanted.size === 0) return folded;
    let found: Product[] = [];
    try {
      found = await lookup.products([...wanted]);
    } catch (error) {
      this.log.warn(
        { err: error, products: wanted.size },
        'product lookup failed; categories stay unknown for now',
      );
      return folded;
    }
    if (this.lookedUp.size > LOOKUP_MEMORY) this.lookedUp.clear();
    for (const id of wanted) this.lookedUp.set(id, nowUs);
    const set = new Map(folded?.set ?? []);
    for (const product of found) set.set(product.id, product);
    return { truncate: folded?.truncate ?? false, set, deleted: folded?.deleted ?? new Set() };
  }

  /**
   * Plans each user's changes against their current state and commits all users in one round trip. A user whose
   * stored version moved meanwhile (another engine, or a write that landed although its reply was lost) is
   * re-read from Redis and re-planned; the rest of the batch is already durable.
   */
  private async commit(
    input: Collected,
    routed: Awaited<ReturnType<FeatureEngine['route']>>,
    limits: Limits,
    products: CommitRequest['products'],
  ): Promise<{ applied: number; duplicates: number; ignored: number }> {
    const { store, metrics } = this.options;
    const outcomes = { applied: 0, duplicates: 0, ignored: 0 };
    let pending = routed.perUser;
    let states = await store.states([...pending.keys()]);
    for (let round = 0; ; round++) {
      const nowUs = this.clock.nowUs();
      const users: UserCommit[] = [];
      const ownerRemovals = new Map<string, string[]>();
      const popularity = new Map<string, number>();
      for (const [userId, userChanges] of pending) {
        const state = states.get(userId)!;
        const planned = plan(state, userChanges, limits, nowUs);
        if (planned === null) {
          outcomes.duplicates += userChanges.length;
          continue;
        }
        users.push({ state, plan: planned });
        // Counted from the first round's plans only, so a user re-planned after a conflict is not counted twice.
        if (round === 0) countPopularity(userChanges, planned.outcomes, popularity);
        const removals = [...planned.evictedLive, ...(routed.deletedRows.get(userId) ?? [])];
        if (removals.length > 0) ownerRemovals.set(userId, removals);
      }
      // Row owners, dead letters and the truncate marker are written with the first round only.
      const first = round === 0;
      const { conflicts } = await store.commit({
        users,
        ownerSets: first ? routed.ownerSets : new Map(),
        ownerRemovals,
        deadLetters: first ? input.deadLetters : [],
        truncatedBeforeLsn: first ? input.truncatedBeforeLsn : null,
        checkpoint: input.checkpoint,
        products: first ? products : null,
        popularity,
      });
      const conflicted = new Set(conflicts);
      for (const { state, plan: committed } of users) {
        if (conflicted.has(state.userId)) continue;
        for (const outcome of committed.outcomes) {
          if (outcome === 'applied') outcomes.applied++;
          else if (outcome === 'duplicate') outcomes.duplicates++;
          else outcomes.ignored++;
        }
      }
      if (conflicted.size === 0) return outcomes;
      metrics.engineConflicts.inc(conflicted.size);
      if (round + 1 >= MAX_CONFLICT_ROUNDS) {
        throw briskError(
          'BRISK_STORE_CONFLICT',
          `${conflicted.size} user state(s) changed under every one of ${MAX_CONFLICT_ROUNDS} writes; retrying the batch`,
        );
      }
      pending = new Map([...pending].filter(([userId]) => conflicted.has(userId)));
      states = await store.freshStates([...conflicted]);
    }
  }

  private record(
    input: Collected,
    outcomes: { applied: number; duplicates: number; ignored: number },
    startedUs: number,
  ): void {
    const { metrics } = this.options;
    const doneUs = this.clock.nowUs();
    for (const change of input.changes)
      metrics.commitToStore.observe(Math.max(0, doneUs - change.commitUs) / 1e6);
    metrics.engineBatchSeconds.observe((doneUs - startedUs) / 1e6);
    metrics.engineBatchEvents.observe(input.events);
    if (outcomes.applied) metrics.engineEvents.inc({ outcome: 'applied' }, outcomes.applied);
    if (outcomes.duplicates) metrics.engineEvents.inc({ outcome: 'duplicate' }, outcomes.duplicates);
    if (outcomes.ignored) metrics.engineEvents.inc({ outcome: 'ignored' }, outcomes.ignored);
    const rejected = input.deadLetters.filter((d) => d.disposition === 'rejected').length;
    if (rejected) metrics.engineEvents.inc({ outcome: 'dead_letter' }, rejected);
    for (const letter of input.deadLetters) {
      metrics.deadLetters.inc({ code: letter.code });
      this.log.warn({ code: letter.code, disposition: letter.disposition }, letter.message);
    }
  }

  /**
   * Assigns each change to the user(s) whose state it touches. A delete under REPLICA IDENTITY DEFAULT carries
   * only the row id, and an update carries no old row, so the owner comes from the row index; an update that
   * moves a row to another user is a delete for the old owner plus an upsert for the new one.
   */
  private async route(changes: readonly ActivityChange[]) {
    const lookups = new Set<string>();
    const born = new Set<string>();
    for (const change of changes) {
      if (change.kind === 'truncate') continue;
      const needsOwner =
        change.kind === 'delete' ? change.userId === null : !change.isNew && change.previousUserId === null;
      if (needsOwner && !born.has(change.rowId)) lookups.add(change.rowId);
      if (change.kind === 'upsert') born.add(change.rowId);
    }
    const owners =
      lookups.size > 0 ? await this.options.store.rowOwners([...lookups]) : new Map<string, string>();

    const perUser = new Map<string, UserChange[]>();
    const ownerSets = new Map<string, string>();
    const deletedRows = new Map<string, string[]>();
    let unresolved = 0;
    const add = (userId: string, change: UserChange) => {
      const list = perUser.get(userId);
      if (list) list.push(change);
      else perUser.set(userId, [change]);
    };
    for (const change of changes) {
      if (change.kind === 'truncate') continue;
      const { rowId, position, commitUs } = change;
      if (change.kind === 'upsert') {
        const previous = change.previousUserId ?? owners.get(rowId) ?? null;
        if (previous !== null && previous !== change.userId)
          add(previous, { kind: 'delete', rowId, position, commitUs });
        add(change.userId, change);
        if (change.isNew || previous !== change.userId) ownerSets.set(rowId, change.userId);
        owners.set(rowId, change.userId);
        continue;
      }
      const owner = change.userId ?? owners.get(rowId) ?? null;
      if (owner === null) {
        // No state holds this row (never seen, or long evicted): deleting it changes no feature.
        unresolved++;
        continue;
      }
      add(owner, change);
      owners.delete(rowId);
      ownerSets.delete(rowId);
      const list = deletedRows.get(owner);
      if (list) list.push(rowId);
      else deletedRows.set(owner, [rowId]);
    }
    return { perUser, ownerSets, deletedRows, unresolved };
  }
}

const POPULAR_TYPES = new Set(['VIEW_PRODUCT', 'CLICK_PRODUCT']);

/** New rows (inserts and snapshot reads) of views and clicks that the plan applied, per product. */
function countPopularity(
  changes: readonly UserChange[],
  outcomes: readonly string[],
  into: Map<string, number>,
): void {
  changes.forEach((change, i) => {
    if (outcomes[i] !== 'applied' || change.kind !== 'upsert') return;
    if (!(change as { isNew?: boolean }).isNew || !POPULAR_TYPES.has(change.row.type)) return;
    const product = change.row.productId;
    if (product !== null) into.set(product, (into.get(product) ?? 0) + 1);
  });
}

type Collected = ReturnType<FeatureEngine['collect']>;

/** What a batch touches, to decide whether it may run beside another. */
interface Footprint {
  readonly users: ReadonlySet<string>;
  readonly rows: ReadonlySet<string>;
  /** Updates, deletes, truncates and catalogue changes depend on or change shared state: never overlapped. */
  readonly exclusive: boolean;
}

function footprintOf(input: Collected): Footprint {
  const users = new Set<string>();
  const rows = new Set<string>();
  let exclusive = input.productChanges.length > 0 || input.truncatedBeforeLsn !== null;
  for (const change of input.changes) {
    if (change.kind !== 'upsert' || !change.isNew) {
      exclusive = true;
      break;
    }
    users.add(change.userId);
    rows.add(change.rowId);
  }
  return { users, rows, exclusive };
}

/** Two batches of inserts for different users and rows: neither reads what the other writes. */
function independent(a: Footprint, b: Footprint): boolean {
  if (a.exclusive || b.exclusive) return false;
  for (const user of b.users) if (a.users.has(user)) return false;
  for (const row of b.rows) if (a.rows.has(row)) return false;
  return true;
}
