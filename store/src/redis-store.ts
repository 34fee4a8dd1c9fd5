import { BriskError, briskError, type Logger, type Metrics, type RedisDurability } from '@brisk/core';
import {
  applyPlan,
  type Catalogue,
  type CommitRequest,
  type CommitResult,
  emptyState,
  MapCatalogue,
  type StateStore,
  type UserState,
} from '@brisk/features';
import { createClient, defineScript } from 'redis';
import { decodeMeta, decodeProduct, decodeRow, encodeMeta, encodeProduct, encodeRow } from './codec.ts';
import { CHANGES_CHANNEL, KEY_PATTERN, keys, ROW_FIELD_PREFIX, SHARED_CHANNEL, userFromKey } from './keys.ts';
import { L1Cache } from './l1.ts';

/**
 * Redis is the truth for feature state; L1 is a cache of it. Every write for one user is one Lua script on one
 * key: it checks the version the plan was made from (optimistic concurrency, so any number of engines can
 * write) and applies the row changes atomically. A commit resolves only after Redis acknowledged every
 * command, and with `appendfsync always` Redis acknowledges after the AOF is fsynced: what the connector then
 * confirms to PostgreSQL survives a Redis crash.
 */

/**
 * One batch in one script: for each user, check the version the plan was made from and, if it still holds, apply
 * the row changes and refresh the TTL (users whose version moved are skipped and reported); then remember the
 * owners of new rows. One command per batch instead of one per user and one per row: at a thousand users per
 * batch the per-command cost (client encoding, a promise, Redis dispatch) was a third of the apply time.
 * Everything about one user stays on one key; a Redis Cluster client would split a batch by hash slot.
 *
 * The users it changed are published on CHANGES_CHANNEL in the same atomic step, as a JSON array: Redis' clock
 * (seconds, microseconds), then key and new version per user. Serving processes drop those users from their L1
 * and wake their streams; a subscriber that sees the message and then reads Redis sees the new state.
 *
 * KEYS: the n user hashes, then the m row-owner keys.
 * ARGV: ttl, n, m; per user: expected version, new version, meta, #fields set, #fields deleted, field/value
 * pairs, deleted fields; then the m owner user ids.
 */
const COMMIT_BATCH = defineScript({
  SCRIPT: `
local ttl = ARGV[1]
local n = tonumber(ARGV[2])
local m = tonumber(ARGV[3])
local a = 4
local conflicts = {}
local changed = {}
for i = 1, n do
  local key = KEYS[i]
  local sets = tonumber(ARGV[a + 3])
  local dels = tonumber(ARGV[a + 4])
  local first = a + 5
  local current = redis.call('HGET', key, 'v') or '0'
  if current ~= ARGV[a] then
    conflicts[#conflicts + 1] = i
  else
    redis.call('HSET', key, 'v', ARGV[a + 1], 'm', ARGV[a + 2])
    local j = first
    local last = first + 2 * sets - 1
    while j <= last do
      local upto = math.min(last, j + 999)
      redis.call('HSET', key, unpack(ARGV, j, upto))
      j = upto + 1
    end
    last = last + dels
    while j <= last do
      local upto = math.min(last, j + 999)
      redis.call('HDEL', key, unpack(ARGV, j, upto))
      j = upto + 1
    end
    redis.call('EXPIRE', key, ttl)
    changed[#changed + 1] = key
    changed[#changed + 1] = ARGV[a + 1]
  end
  a = first + 2 * sets + dels
end
for j = 1, m do
  redis.call('SET', KEYS[n + j], ARGV[a + j - 1], 'EX', ttl)
end
if #changed > 0 then
  local t = redis.call('TIME')
  table.insert(changed, 1, t[2])
  table.insert(changed, 1, t[1])
  redis.call('PUBLISH', '${CHANGES_CHANNEL}', cjson.encode(changed))
end
return conflicts`,
  parseCommand(parser, keysToWrite: string[], args: string[]) {
    parser.push(String(keysToWrite.length));
    for (const key of keysToWrite) parser.pushKey(key);
    parser.push(...args);
  },
  transformReply: undefined as unknown as () => number[],
});

/** SET key value unless the stored number is already larger: positions only move forward. */
const SET_MAX = defineScript({
  NUMBER_OF_KEYS: 1,
  SCRIPT: `
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1]) end
return 1`,
  parseCommand(parser, key: string, value: string) {
    parser.pushKey(key);
    parser.push(value);
  },
  transformReply: undefined as unknown as () => number,
});

type Client = ReturnType<typeof makeClient>;

function makeClient(url: string) {
  return createClient({
    url,
    scripts: { commitBatch: COMMIT_BATCH, setMax: SET_MAX },
    // Fail fast while disconnected instead of queueing: the engine retries with backoff and the API answers
    // 503 (or serves L1) rather than hanging.
    disableOfflineQueue: true,
    socket: {
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2_000),
      connectTimeout: 5_000,
    },
  });
}

export interface RedisStoreOptions {
  readonly url: string;
  /** Names the checkpoint key: one Redis can serve pipelines reading different slots. */
  readonly slot: string;
  readonly durability: RedisDurability;
  readonly userTtlSeconds: number;
  readonly l1MaxBytes: number;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /**
   * Where onCommitted's notifications come from. `local` (a process that writes: embedded mode, `brisk engine`):
   * this process's own commits. `redis` (`brisk serve`): every writer's commits, through Redis pub/sub; each
   * message also drops the changed users from this process's L1.
   */
  readonly changeFeed?: 'local' | 'redis';
}

export interface ChangedUser {
  readonly userId: string;
  readonly version: number;
}

export interface DeadLetterRecord {
  readonly id: string;
  readonly code: string;
  readonly disposition: string;
  readonly message: string;
  readonly event: string;
}

export class RedisFeatureStore implements StateStore {
  private readonly client: Client;
  private readonly options: RedisStoreOptions;
  private readonly log: Logger;
  private readonly l1: L1Cache;
  private truncated = 0;
  private popularCache: { at: number; limit: number; ids: string[] } | null = null;
  private readonly products = new MapCatalogue();
  private lastCheckpoint: number | null = null;
  /** Set on reconnect: before the next write, check that Redis did not lose acknowledged data. */
  private needsCheck = false;
  private checking: Promise<void> | null = null;
  private fatal: BriskError | null = null;
  private readonly committedListeners = new Set<(users: readonly ChangedUser[]) => void>();
  private readonly resyncListeners = new Set<() => void>();
  private subscriber: Client | null = null;
  private readonly fatalListeners = new Set<(error: BriskError) => void>();
  private connectedOnce = false;
  private closed = false;

  private constructor(client: Client, options: RedisStoreOptions) {
    this.client = client;
    this.options = options;
    this.log = options.logger.child({ component: 'store' });
    this.l1 = new L1Cache({
      maxBytes: options.l1MaxBytes,
      load: (id) => this.loadUser(id),
      metrics: options.metrics,
    });
  }

  static async open(options: RedisStoreOptions): Promise<RedisFeatureStore> {
    const client = makeClient(options.url);
    const store = new RedisFeatureStore(client, options);
    client.on('error', (error: Error) => {
      if (!store.closed) store.log.warn({ err: error }, 'Redis connection problem');
    });
    // While Redis is unreachable another process may still write to it (a partition), so cached states are
    // dropped as soon as the connection is lost; reads then answer 503 until Redis is back.
    client.on('reconnecting', () => store.l1.clear());
    client.on('ready', () => {
      if (store.connectedOnce) {
        store.l1.clear();
        store.needsCheck = true;
      }
      store.connectedOnce = true;
    });
    try {
      // connect() keeps retrying (reconnectStrategy) while Redis is down; at start, give up with a clear error.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)),
          CONNECT_TIMEOUT_MS,
        );
      });
      await Promise.race([client.connect(), timeout]).finally(() => clearTimeout(timer));
    } catch (error) {
      destroyQuietly(client);
      throw briskError(
        'BRISK_REDIS_UNREACHABLE',
        `cannot connect to Redis at ${redact(options.url)}: ${messageOf(error)}`,
        error,
      );
    }
    try {
      await store.checkDurability();
      await store.refreshTruncate();
      await store.refreshCatalogue();
      if (options.changeFeed === 'redis') await store.subscribe();
    } catch (error) {
      destroyQuietly(client);
      if (store.subscriber) destroyQuietly(store.subscriber);
      throw error;
    }
    return store;
  }

  /**
   * Follows every writer's commits. Pub/sub delivers nothing sent while the subscriber is disconnected, so on
   * each reconnect L1 is cleared and resync listeners re-read what they follow.
   */
  private async subscribe(): Promise<void> {
    const subscriber = this.client.duplicate();
    this.subscriber = subscriber;
    let subscribedOnce = false;
    subscriber.on('error', (error: Error) => {
      if (!this.closed) this.log.warn({ err: error }, 'Redis change-feed connection problem');
    });
    subscriber.on('reconnecting', () => this.l1.clear());
    subscriber.on('ready', () => {
      if (!subscribedOnce) return;
      this.l1.clear();
      Promise.all([this.refreshCatalogue(), this.refreshTruncate()]).catch(() => {});
      this.log.info('change feed reconnected; L1 cleared');
      for (const listener of this.resyncListeners) listener();
    });
    await subscriber.connect();
    await subscriber.subscribe(CHANGES_CHANNEL, (message) => this.onRemoteChange(message));
    await subscriber.subscribe(SHARED_CHANNEL, () => {
      Promise.all([this.refreshCatalogue(), this.refreshTruncate()]).catch((error: unknown) =>
        this.log.warn({ err: error }, 'reloading the catalogue after a change failed'),
      );
    });
    subscribedOnce = true;
  }

  private onRemoteChange(message: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      parsed = null;
    }
    if (!Array.isArray(parsed) || parsed.length < 2 || parsed.length % 2 !== 0) {
      this.log.warn({ message: message.slice(0, 200) }, `ignoring a malformed message on ${CHANGES_CHANNEL}`);
      return;
    }
    const committedUs = Number(parsed[0]) * 1e6 + Number(parsed[1]);
    const changed: ChangedUser[] = [];
    for (let i = 2; i < parsed.length; i += 2) {
      const userId = userFromKey(String(parsed[i]));
      const version = Number(parsed[i + 1]);
      if (userId === null || !Number.isSafeInteger(version)) continue;
      // Dropped unless L1 already holds this version: a load still in flight is aborted by the delete too.
      const cached = this.l1.peek(userId);
      if (cached === undefined || cached.version < version) this.l1.invalidate(userId);
      changed.push({ userId, version });
    }
    this.options.metrics.changeFeedDelay.observe(Math.max(0, Date.now() * 1000 - committedUs) / 1e6);
    if (changed.length > 0) for (const listener of this.committedListeners) listener(changed);
  }

  /** Called after the change feed reconnected: notifications may have been missed meanwhile. */
  onResync(listener: () => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  /** The API's read: L1, else one HGETALL. */
  get(userId: string): Promise<UserState> {
    return this.l1.get(userId);
  }

  /**
   * The engine's batch read. Misses are loaded with one pipelined HGETALL each and put into L1 directly:
   * going through lru-cache's fetch would build an AbortController and a promise chain per user, which is most
   * of the cost when a backlog touches thousands of users no cache has seen.
   */
  async states(userIds: readonly string[]): Promise<Map<string, UserState>> {
    const found = new Map<string, UserState>();
    const missing: string[] = [];
    for (const userId of userIds) {
      const cached = this.l1.peek(userId);
      if (cached === undefined) missing.push(userId);
      else found.set(userId, cached);
    }
    if (missing.length > 0) {
      const loaded = await Promise.all(missing.map((id) => this.loadUser(id)));
      for (const state of loaded) {
        // A state put meanwhile (an API load finishing first) is at least as new; keep the cached one.
        const current = this.l1.peek(state.userId);
        if (current !== undefined && current.version >= state.version) {
          found.set(state.userId, current);
        } else {
          this.l1.put(state);
          found.set(state.userId, state);
        }
      }
    }
    return found;
  }

  async freshStates(userIds: readonly string[]): Promise<Map<string, UserState>> {
    const states = await Promise.all(userIds.map((id) => this.loadUser(id)));
    return new Map(states.map((state) => [state.userId, state]));
  }

  async rowOwners(rowIds: readonly string[]): Promise<Map<string, string>> {
    const owners = await this.redis(() =>
      Promise.all(rowIds.map((id) => this.client.get(keys.rowOwner(id)))),
    );
    const found = new Map<string, string>();
    rowIds.forEach((id, i) => {
      const owner = owners[i];
      if (typeof owner === 'string') found.set(id, owner);
    });
    return found;
  }

  truncatedBeforeLsn(): number {
    return this.truncated;
  }

  catalogue(): Catalogue {
    return this.products;
  }

  /** Products by new views and clicks over the current and the previous hour; cached for a few seconds. */
  async popular(limit: number): Promise<string[]> {
    const now = Date.now();
    if (
      this.popularCache === null ||
      now - this.popularCache.at > POPULAR_CACHE_MS ||
      this.popularCache.limit < limit
    ) {
      const hour = Math.floor(now / HOUR_MS);
      const ranked = await this.redis(() =>
        this.client.zUnionWithScores([keys.popular(hour), keys.popular(hour - 1)]),
      );
      ranked.sort((a, b) => b.score - a.score || a.value.localeCompare(b.value));
      this.popularCache = { at: now, limit, ids: ranked.slice(0, Math.max(limit, 100)).map((r) => r.value) };
    }
    return this.popularCache.ids.slice(0, limit);
  }

  async commit(request: CommitRequest): Promise<CommitResult> {
    await this.verified();
    const ttl = String(this.options.userTtlSeconds);
    const c = this.client;
    // All commands go out on one connection in this order, so the checkpoint is applied after everything else.
    const scriptKeys: string[] = [];
    const args: string[] = [ttl, String(request.users.length), String(request.ownerSets.size)];
    for (const { state, plan } of request.users) {
      scriptKeys.push(keys.user(state.userId));
      args.push(
        String(state.version),
        String(plan.version),
        encodeMeta(plan.newest, plan.updatedAtUs),
        String(plan.set.size),
        String(plan.removed.size),
      );
      for (const [rowId, row] of plan.set) args.push(ROW_FIELD_PREFIX + rowId, encodeRow(row));
      for (const rowId of plan.removed) args.push(ROW_FIELD_PREFIX + rowId);
    }
    for (const [rowId, userId] of request.ownerSets) {
      scriptKeys.push(keys.rowOwner(rowId));
      args.push(userId);
    }
    const written =
      scriptKeys.length === 0 ? Promise.resolve([] as number[]) : c.commitBatch(scriptKeys, args);
    const others: Promise<unknown>[] = [];
    for (const letter of request.deadLetters) {
      others.push(
        c.xAdd(
          keys.deadLetters,
          '*',
          {
            code: letter.code,
            disposition: letter.disposition,
            message: letter.message,
            event: safeJson(letter.event),
          },
          { TRIM: { strategy: 'MAXLEN', strategyModifier: '~', threshold: 100_000 } },
        ),
      );
    }
    const { products } = request;
    if (products !== null) {
      if (products.truncate) others.push(c.del(keys.catalogue));
      if (products.set.size > 0) {
        const fields: Record<string, string> = {};
        for (const [id, product] of products.set) fields[id] = encodeProduct(product);
        others.push(c.hSet(keys.catalogue, fields));
      }
      if (products.deleted.size > 0) others.push(c.hDel(keys.catalogue, [...products.deleted]));
    }
    if (request.popularity.size > 0) {
      const key = keys.popular(Math.floor(Date.now() / HOUR_MS));
      for (const [product, count] of request.popularity) others.push(c.zIncrBy(key, count, product));
      others.push(c.expire(key, POPULAR_TTL_S));
    }
    if (request.truncatedBeforeLsn !== null) {
      others.push(c.setMax(keys.truncate, String(request.truncatedBeforeLsn)));
    }
    if (request.checkpoint !== null)
      others.push(c.setMax(keys.checkpoint(this.options.slot), String(request.checkpoint)));
    // Sent after the writes above on the same connection, so a reader that reloads on it sees them.
    if (products !== null || request.truncatedBeforeLsn !== null)
      others.push(c.publish(SHARED_CHANNEL, 'reload'));
    const [conflicted] = await this.redis(() => Promise.all([written, Promise.all(others)]));
    const conflictIndexes = new Set(conflicted);

    const conflicts: string[] = [];
    const changed: ChangedUser[] = [];
    request.users.forEach(({ state, plan }, i) => {
      if (conflictIndexes.has(i + 1)) {
        conflicts.push(state.userId);
        this.l1.invalidate(state.userId);
        return;
      }
      applyPlan(state, plan);
      this.l1.put(state);
      changed.push({ userId: state.userId, version: plan.version });
    });
    if (request.truncatedBeforeLsn !== null && request.truncatedBeforeLsn > this.truncated) {
      this.truncated = request.truncatedBeforeLsn;
    }
    if (products !== null) {
      if (products.truncate) this.products.clear();
      for (const product of products.set.values()) this.products.set(product);
      for (const id of products.deleted) this.products.delete(id);
    }
    if (request.checkpoint !== null)
      this.lastCheckpoint = Math.max(this.lastCheckpoint ?? 0, request.checkpoint);
    this.afterCommit(request, changed, new Set(conflicts));
    return { conflicts };
  }

  /** Called with the users whose new state is durable: this process's commits, or every writer's (changeFeed). */
  onCommitted(listener: (users: readonly ChangedUser[]) => void): () => void {
    this.committedListeners.add(listener);
    return () => this.committedListeners.delete(listener);
  }

  /** Called when Redis turns out to have lost acknowledged writes: the pipeline must stop. */
  onFatal(listener: (error: BriskError) => void): () => void {
    this.fatalListeners.add(listener);
    return () => this.fatalListeners.delete(listener);
  }

  async checkpoint(): Promise<number | null> {
    const value = await this.redis(() => this.client.get(keys.checkpoint(this.options.slot)));
    return value === null ? null : Number(value);
  }

  async setCheckpoint(lsn: number): Promise<void> {
    await this.redis(() => this.client.setMax(keys.checkpoint(this.options.slot), String(lsn)));
    this.lastCheckpoint = Math.max(this.lastCheckpoint ?? 0, lsn);
  }

  /**
   * Deletes every key Brisk holds, for a new slot: state from an earlier slot (one dropped to rebuild, say) has
   * row versions the new slot's snapshot would not override. Returns how many keys were removed.
   */
  async resetKeyspace(): Promise<number> {
    let removed = 0;
    let cursor = '0';
    do {
      const page = await this.redis(() => this.client.scan(cursor, { MATCH: KEY_PATTERN, COUNT: 1000 }));
      cursor = String(page.cursor);
      if (page.keys.length > 0) removed += await this.redis(() => this.client.unlink(page.keys));
    } while (cursor !== '0');
    this.l1.clear();
    this.products.clear();
    this.truncated = 0;
    this.lastCheckpoint = null;
    this.popularCache = null;
    return removed;
  }

  async snapshotState(): Promise<'pending' | 'done' | null> {
    const value = await this.redis(() => this.client.get(keys.snapshot(this.options.slot)));
    return value === 'pending' || value === 'done' ? value : null;
  }

  async setSnapshotState(state: 'pending' | 'done'): Promise<void> {
    await this.redis(() => this.client.set(keys.snapshot(this.options.slot), state));
  }

  async deadLetters(count = 100): Promise<DeadLetterRecord[]> {
    const entries = await this.redis(() =>
      this.client.xRevRange(keys.deadLetters, '+', '-', { COUNT: count }),
    );
    return entries.map(({ id, message }) => ({
      id,
      code: String(message.code ?? ''),
      disposition: String(message.disposition ?? ''),
      message: String(message.message ?? ''),
      event: String(message.event ?? ''),
    }));
  }

  isConnected(): boolean {
    return this.client.isReady;
  }

  async close(): Promise<void> {
    this.closed = true;
    destroyQuietly(this.client);
    if (this.subscriber) destroyQuietly(this.subscriber);
  }

  private afterCommit(
    request: CommitRequest,
    changed: readonly ChangedUser[],
    conflicts: ReadonlySet<string>,
  ): void {
    if (changed.length === 0) return;
    if (this.options.changeFeed !== 'redis')
      for (const listener of this.committedListeners) listener(changed);
    // Best effort, not awaited: a row -> user entry left behind only makes a later delete create a harmless
    // tombstone.
    const removals: string[] = [];
    for (const [userId, rowIds] of request.ownerRemovals) {
      if (!conflicts.has(userId)) for (const rowId of rowIds) removals.push(keys.rowOwner(rowId));
    }
    if (removals.length === 0) return;
    this.client
      .unlink(removals)
      .catch((error: unknown) => this.log.debug({ err: error }, 'row-owner cleanup failed'));
  }

  private async loadUser(userId: string): Promise<UserState> {
    return this.decodeUser(userId, await this.redis(() => this.client.hGetAll(keys.user(userId))));
  }

  private decodeUser(userId: string, hash: Record<string, string>): UserState {
    const state = emptyState(userId);
    const version = hash.v;
    if (version === undefined) return state;
    state.version = Number(version);
    const meta = decodeMeta(hash.m);
    state.newest = meta.newest;
    state.updatedAtUs = meta.updatedAtUs;
    for (const field in hash) {
      if (!field.startsWith(ROW_FIELD_PREFIX)) continue;
      const row = decodeRow(hash[field]!);
      if (row === null) {
        this.log.error(
          { userId, field },
          'unreadable row in Redis; ignoring it (was the key written by another tool?)',
        );
        continue;
      }
      state.rows.set(field.slice(ROW_FIELD_PREFIX.length), row);
    }
    return state;
  }

  private async checkDurability(): Promise<void> {
    if (this.options.durability === 'none') return;
    let appendonly: string | undefined;
    let appendfsync: string | undefined;
    try {
      const config = await this.client.configGet(['appendonly', 'appendfsync']);
      appendonly = config.appendonly;
      appendfsync = config.appendfsync;
    } catch (error) {
      throw briskError(
        'BRISK_REDIS_NOT_DURABLE',
        `cannot read Redis persistence settings (${messageOf(error)}); if your provider blocks CONFIG, ` +
          'confirm AOF with fsync always yourself and set BRISK_REDIS_DURABILITY=none.',
        error,
      );
    }
    const strict = this.options.durability === 'strict';
    if (appendonly !== 'yes' || (strict && appendfsync !== 'always')) {
      throw briskError(
        'BRISK_REDIS_NOT_DURABLE',
        `Redis runs appendonly=${appendonly}, appendfsync=${appendfsync}; BRISK_REDIS_DURABILITY=${this.options.durability} ` +
          `needs appendonly yes${strict ? ' and appendfsync always' : ''}, or changes PostgreSQL was told are stored ` +
          `can vanish with Redis. Run: redis-cli CONFIG SET appendonly yes${strict ? ' && redis-cli CONFIG SET appendfsync always' : ''} ` +
          '(and put it in redis.conf), or choose a weaker BRISK_REDIS_DURABILITY knowingly.',
      );
    }
  }

  private async refreshCatalogue(): Promise<void> {
    const hash = await this.redis(() => this.client.hGetAll(keys.catalogue));
    this.products.clear();
    for (const [id, text] of Object.entries(hash)) {
      const product = decodeProduct(id, text);
      if (product) this.products.set(product);
    }
  }

  private async refreshTruncate(): Promise<void> {
    const value = await this.redis(() => this.client.get(keys.truncate));
    this.truncated = value === null ? 0 : Number(value);
  }

  /**
   * After a reconnect, Redis may be a restarted server. If it holds an older checkpoint than this process
   * wrote, acknowledged effects are gone and PostgreSQL will not resend them: stop rather than serve a hole.
   */
  private async verified(): Promise<void> {
    if (this.fatal) throw this.fatal;
    if (!this.needsCheck) return;
    this.checking ??= this.verifyCheckpoint().finally(() => {
      this.checking = null;
    });
    await this.checking;
  }

  private async verifyCheckpoint(): Promise<void> {
    await this.refreshTruncate();
    await this.refreshCatalogue();
    const remote = await this.checkpoint();
    if (this.lastCheckpoint !== null && (remote === null || remote < this.lastCheckpoint)) {
      this.fatal = briskError(
        'BRISK_STORE_LOST_DATA',
        `Redis came back with checkpoint ${remote ?? 'none'} but ${this.lastCheckpoint} was stored before: it lost ` +
          'acknowledged writes (persistence off, or a different server). Restore Redis, or rebuild: stop Brisk, ' +
          `drop the slot (SELECT pg_drop_replication_slot('${this.options.slot}');) and start again.`,
      );
      for (const listener of this.fatalListeners) listener(this.fatal);
      throw this.fatal;
    }
    this.needsCheck = false;
    this.log.info('Redis reconnected; L1 cleared and checkpoint verified');
  }

  private async redis<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof BriskError) throw error;
      throw briskError('BRISK_STORE_UNAVAILABLE', `Redis: ${messageOf(error)}`, error);
    }
  }
}

const CONNECT_TIMEOUT_MS = 10_000;

const HOUR_MS = 3_600_000;
const POPULAR_TTL_S = 2 * 3_600 + 60;
const POPULAR_CACHE_MS = 5_000;

/** destroy() throws on a client that never opened or is already closed; either way there is nothing to do. */
export function destroyQuietly(client: { isOpen: boolean; destroy(): void }): void {
  if (client.isOpen) client.destroy();
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return String(value);
  }
}

export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}
