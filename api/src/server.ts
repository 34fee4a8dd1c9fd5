import { timingSafeEqual } from 'node:crypto';
import {
  BriskError,
  briskError,
  type Clock,
  formatLsn,
  formatTimestampUs,
  type Logger,
  type Metrics,
  systemClock,
  userIdProblem,
} from '@brisk/core';
import {
  type Catalogue,
  computeFeatures,
  FEATURE_NAMES,
  FEATURES,
  type FeatureName,
  type FeatureVector,
  type ReadContext,
  recommend,
  type UserState,
} from '@brisk/features';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  LogController,
} from 'fastify';
import {
  batchBody,
  batchResponse,
  errorBody,
  featureBody,
  featureQuery,
  MAX_BATCH,
  recommendationBody,
  recommendationQuery,
  userIdParams,
} from './schemas.ts';
import { StatsSampler } from './stats.ts';
import { FeatureStreams } from './streams.ts';
import { type ChangeFeed, VersionWaiters } from './waiters.ts';

/**
 * The feature API. Reads go L1 -> Redis and the vector is computed at read time from the user's rows (so
 * windows are relative to the moment of reading); the response carries the freshness of the state it came from
 * (version, commit time and LSN of the newest change).
 */
export interface FeatureReader {
  get(userId: string): Promise<UserState>;
  truncatedBeforeLsn(): number;
  catalogue(): Catalogue;
  /** Product ids, most popular first (for users with no history). */
  popular(limit: number): Promise<string[]>;
}

export interface DeadLetterReader {
  deadLetters(count: number): Promise<unknown[]>;
}

export interface Readiness {
  ready: boolean;
  /** Per-component state, shown on /readyz. */
  checks: Record<string, string>;
}

export interface ApiOptions {
  readonly store: FeatureReader & DeadLetterReader;
  readonly readiness: () => Readiness;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** When set, every route but /healthz, /readyz and /docs needs `Authorization: Bearer <token>`. */
  readonly token: string | null;
  /** Refreshes gauges that are expensive to keep current (slot lag) just before a scrape. */
  readonly beforeScrape?: () => Promise<void>;
  /** Committed changes: wake requests waiting for a version (`?minVersion=`) and push on streams. */
  readonly changes: ChangeFeed;
  /** Called when the change feed may have missed changes (it reconnected): every open stream re-reads. */
  readonly resync?: (listener: () => void) => () => void;
  /** Server-sent streams: comment heartbeat period, how long a client may not read, how many may be open. */
  readonly streams?: { heartbeatMs?: number; slowClientMs?: number; maxStreams?: number };
  readonly clock?: Clock;
}

export interface FeatureResponse {
  userId: string;
  features: Partial<FeatureVector>;
  meta: { version: number; updatedAt: string | null; commitTs: string | null; lsn: string | null };
}

const OPEN_ROUTES = new Set(['/healthz', '/readyz']);
const OPEN_PREFIX = '/docs';

export function featureResponse(
  state: UserState,
  context: ReadContext,
  names: readonly FeatureName[] = FEATURE_NAMES,
): FeatureResponse {
  return {
    userId: state.userId,
    features: computeFeatures(state, context, names) as Partial<FeatureVector>,
    meta: {
      version: state.version,
      updatedAt: state.updatedAtUs === null ? null : formatTimestampUs(state.updatedAtUs),
      commitTs: state.newest === null ? null : formatTimestampUs(state.newest.commitUs),
      lsn: state.newest === null ? null : formatLsn(state.newest.lsn),
    },
  };
}

export async function buildApi(options: ApiOptions): Promise<FastifyInstance> {
  const { metrics, store } = options;
  const clock = options.clock ?? systemClock;
  const app = Fastify({
    loggerInstance: options.logger.child({ component: 'api' }) as FastifyBaseLogger,
    // Per-request logs would dominate a read path measured in microseconds; /metrics has the request histogram.
    logController: new LogController({ disableRequestLogging: true }),
    // Ids may be 255 characters, each up to 12 bytes once percent-encoded; longer ones must reach our
    // validation (400) instead of falling out of the router as 404.
    routerOptions: { maxParamLength: 4096 },
    // Malformed percent-encoding and the like get our error shape too.
    frameworkErrors: (error, _request, reply) => {
      sendError(reply, briskError('BRISK_BAD_REQUEST', error.message));
    },
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Brisk feature API',
        version: '0.1.0',
        description:
          'Real-time per-user features computed from PostgreSQL changes. Errors: {"error": {code, message}}.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      ...(options.token === null ? {} : { security: [{ bearer: [] }] }),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const token = options.token === null ? null : Buffer.from(`Bearer ${options.token}`);
  app.addHook('onRequest', async (request, reply) => {
    if (
      token === null ||
      OPEN_ROUTES.has(request.routeOptions.url ?? '') ||
      request.url.startsWith(OPEN_PREFIX)
    ) {
      return;
    }
    const header = Buffer.from(request.headers.authorization ?? '');
    if (header.length !== token.length || !timingSafeEqual(header, token)) {
      reply.header('www-authenticate', 'Bearer realm="brisk"');
      return sendError(
        reply,
        briskError('BRISK_UNAUTHORIZED', 'send Authorization: Bearer <BRISK_API_TOKEN>'),
      );
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.apiRequests.observe(
      { route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.setErrorHandler((error: unknown, request, reply) => {
    if (error instanceof BriskError) return sendError(reply, error);
    const fastifyError = error as { validation?: unknown; statusCode?: number; message?: string };
    if (fastifyError.validation || (fastifyError.statusCode && fastifyError.statusCode < 500)) {
      return sendError(reply, briskError('BRISK_BAD_REQUEST', fastifyError.message ?? 'bad request'));
    }
    request.log.error({ err: error }, 'request failed');
    return sendError(reply, briskError('BRISK_INTERNAL', 'internal error; see the server log'));
  });
  app.setNotFoundHandler((request, reply) => {
    sendError(
      reply,
      briskError('BRISK_NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`),
    );
  });

  const context = (): ReadContext => ({
    nowUs: clock.nowUs(),
    catalogue: store.catalogue(),
    truncatedBeforeLsn: store.truncatedBeforeLsn(),
  });
  const errors = { '4xx': errorBody, '5xx': errorBody };

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const { ready, checks } = options.readiness();
    if (ready) return { status: 'ready', checks };
    return reply.code(503).send({
      error: { code: 'BRISK_NOT_READY', message: 'the pipeline is not streaming yet' },
      checks,
    });
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    await options
      .beforeScrape?.()
      .catch((error: unknown) => app.log.debug({ err: error }, 'scrape refresh failed'));
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  const waiters = new VersionWaiters(options.changes);
  const streams = new FeatureStreams({
    feed: options.changes,
    ...(options.resync ? { resync: options.resync } : {}),
    read: async (userId) => {
      const state = await store.get(userId);
      return {
        version: state.version,
        commitUs: state.newest?.commitUs ?? null,
        json: JSON.stringify(featureResponse(state, context())),
      };
    },
    metrics,
    heartbeatMs: options.streams?.heartbeatMs ?? 15_000,
    slowClientMs: options.streams?.slowClientMs ?? 10_000,
    maxStreams: options.streams?.maxStreams ?? 10_000,
    nowUs: () => clock.nowUs(),
    onError: (error, userId) =>
      app.log.warn({ err: error, userId }, 'feature stream ended: store unavailable'),
  });
  const stats = new StatsSampler(metrics);
  // Open streams are connections Fastify waits for before onClose runs: end them first, or close() never returns.
  app.addHook('preClose', async () => streams.close());
  app.addHook('onClose', async () => {
    waiters.close();
    stats.close();
  });
  let lagRefreshed = 0;

  app.get<{
    Params: { userId: string };
    Querystring: { features?: string; minVersion?: string; waitMs?: string };
  }>(
    '/api/v1/features/user/:userId',
    {
      schema: {
        summary: "A user's features",
        params: userIdParams,
        querystring: featureQuery,
        response: { 200: featureBody, ...errors },
      },
    },
    async (request, reply) => {
      const userId = validUserId(request.params.userId);
      const names = featureNames(request.query.features?.split(','));
      const minVersion = integerParam(request.query.minVersion, 'minVersion', 0, Number.MAX_SAFE_INTEGER);
      const waitMs =
        integerParam(request.query.waitMs, 'waitMs', 0, 30_000) ?? (minVersion === null ? 0 : 5_000);
      reply.header('cache-control', 'no-store');
      // Read-your-writes: the waiter is registered before the state is read, so a change committed in between
      // is either in what we read or wakes the waiter.
      let cancel: AbortController | null = null;
      let reached: Promise<boolean> | null = null;
      if (minVersion !== null && waitMs > 0) {
        cancel = new AbortController();
        const abort = cancel;
        request.raw.once('close', () => abort.abort());
        reached = waiters.wait(userId, minVersion, waitMs, abort.signal).catch(() => false);
      }
      let state = await store.get(userId);
      if (reached !== null && minVersion !== null && state.version < minVersion) {
        if (await reached) state = await store.get(userId);
      }
      cancel?.abort();
      return featureResponse(state, context(), names);
    },
  );
  app.get<{ Params: { userId: string } }>(
    '/api/v1/features/user/:userId/stream',
    {
      schema: {
        summary:
          "A user's features as server-sent events: the current vector, then one `features` event (id = version) per change",
        description:
          'Resumable: a reconnecting EventSource sends Last-Event-ID and gets the current vector only if it is newer. ' +
          'Each event is the whole vector, so changes arriving faster than the client reads are merged into the next ' +
          'event, never lost. Comment lines are heartbeats. A client that stops reading is disconnected.',
        params: userIdParams,
        headers: {
          type: 'object',
          properties: { 'last-event-id': { type: 'string', pattern: '^\\d{1,16}$' } },
        },
        response: { ...errors },
      },
    },
    async (request, reply) => {
      const userId = validUserId(request.params.userId);
      const header = request.headers['last-event-id'];
      const lastEventId = typeof header === 'string' ? Number(header) : null;
      if (!streams.canOpen()) {
        metrics.streamsDropped.inc({ reason: 'limit' });
        throw briskError(
          'BRISK_TOO_MANY_STREAMS',
          `this instance already serves ${streams.size} streams; retry later or add serving instances`,
        );
      }
      // The raw response is ours from here on; Fastify neither serialises nor ends it.
      reply.hijack();
      streams.open(userId, reply.raw, lastEventId);
    },
  );

  app.get(
    '/api/v1/stats',
    {
      schema: {
        summary: 'Recent pipeline figures for dashboards: event rate, latency percentiles, L1, streams',
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'no-store');
      let lag: number | null = null;
      if (options.beforeScrape) {
        if (Date.now() - lagRefreshed > 1_000) {
          lagRefreshed = Date.now();
          await options.beforeScrape().catch(() => {});
        }
        lag = (await metrics.slotLagBytes.get()).values[0]?.value ?? null;
      }
      return stats.read(lag);
    },
  );

  // An empty id does not match the route above; it is still a bad id, not a missing route.
  app.get('/api/v1/features/user/', { schema: { hide: true } }, async () => {
    throw briskError('BRISK_INVALID_USER_ID', 'user id is empty');
  });

  app.post<{ Body: { userIds: string[]; features?: string[] } }>(
    '/api/v1/features/users',
    {
      schema: {
        summary: `Features of up to ${MAX_BATCH} users, in the order asked`,
        body: batchBody,
        response: { 200: batchResponse, ...errors },
      },
    },
    async (request, reply) => {
      const { userIds } = request.body;
      userIds.forEach((id, index) => {
        const problem = userIdProblem(id);
        if (problem !== null)
          throw briskError('BRISK_INVALID_USER_ID', `userIds[${index}]: user id ${problem}`);
      });
      const names = featureNames(request.body.features);
      const states = await Promise.all(userIds.map((id) => store.get(id)));
      const read = context();
      reply.header('cache-control', 'no-store');
      return { users: states.map((state) => featureResponse(state, read, names)) };
    },
  );

  app.get<{ Params: { userId: string }; Querystring: { limit?: string } }>(
    '/api/v1/recommendations/user/:userId',
    {
      schema: {
        summary:
          'Products ranked for a user from their features (popular products for a user with no history)',
        params: userIdParams,
        querystring: recommendationQuery,
        response: { 200: recommendationBody, ...errors },
      },
    },
    async (request, reply) => {
      const userId = validUserId(request.params.userId);
      const limit = integerParam(request.query.limit, 'limit', 1, 100) ?? 10;
      const state = await store.get(userId);
      const read = context();
      const features = computeFeatures(state, read, [
        'embedding',
        'recentProducts',
        'topCategories5m',
        'lastClickedCategory',
      ]);
      const popular = await store.popular(limit * 2);
      reply.header('cache-control', 'no-store');
      return {
        userId,
        items: recommend(
          {
            embedding: features.embedding ?? [],
            recentProducts: features.recentProducts ?? [],
            topCategories5m: features.topCategories5m ?? [],
            lastClickedCategory: features.lastClickedCategory ?? null,
          },
          read.catalogue,
          popular,
          limit,
        ),
      };
    },
  );

  app.get<{ Querystring: { limit?: string } }>(
    '/api/v1/deadletters',
    { schema: { summary: 'Newest dead letters (events that could not be fully used)' } },
    async (request) => {
      const limit = integerParam(request.query.limit, 'limit', 1, 1000) ?? 100;
      return { deadLetters: await store.deadLetters(limit) };
    },
  );

  return app;
}

function validUserId(userId: string): string {
  const problem = userIdProblem(userId);
  if (problem !== null) throw briskError('BRISK_INVALID_USER_ID', `user id ${problem}`);
  return userId;
}

/** Requested feature names, all of them when none are named; an unknown name is a 400 listing the known ones. */
function featureNames(requested: readonly string[] | undefined): FeatureName[] {
  if (requested === undefined) return FEATURE_NAMES;
  const names = requested.map((name) => name.trim()).filter((name) => name !== '');
  const unknown = names.filter((name) => !(name in FEATURES));
  if (unknown.length > 0 || names.length === 0) {
    throw briskError(
      'BRISK_BAD_REQUEST',
      `unknown feature(s) ${unknown.join(', ') || '(none named)'}; known: ${FEATURE_NAMES.join(', ')}`,
    );
  }
  return [...new Set(names)] as FeatureName[];
}

function integerParam(raw: string | undefined, name: string, min: number, max: number): number | null {
  if (raw === undefined) return null;
  const value = /^\d{1,16}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(value >= min && value <= max)) {
    throw briskError('BRISK_BAD_REQUEST', `${name} must be an integer from ${min} to ${max} (got '${raw}')`);
  }
  return value;
}

function sendError(reply: FastifyReply, error: BriskError): FastifyReply {
  return reply.code(error.status).type('application/json').send(error.toJSON());
}

export type { FastifyInstance };
