import { timingSafeEqual } from 'node:crypto';
import {
  BriskError,
  briskError,
  formatLsn,
  formatTimestampUs,
  type Logger,
  type Metrics,
  userIdProblem,
} from '@brisk/core';
import { computeFeatures, FEATURES, type FeatureVector, type UserState } from '@brisk/features';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  LogController,
} from 'fastify';
import { type ChangeFeed, VersionWaiters } from './waiters.ts';

/**
 * The feature API. Reads go L1 -> Redis and the vector is computed at read time from the user's rows; the
 * response carries the freshness of the state it came from (version, commit time and LSN of the newest change).
 */
export interface FeatureReader {
  get(userId: string): Promise<UserState>;
  truncatedBeforeLsn(): number;
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
  /** When set, every route but /healthz and /readyz needs `Authorization: Bearer <token>`. */
  readonly token: string | null;
  /** Refreshes gauges that are expensive to keep current (slot lag) just before a scrape. */
  readonly beforeScrape?: () => Promise<void>;
  /** Committed changes, for requests that wait for a version (`?minVersion=`). */
  readonly changes: ChangeFeed;
}

export interface FeatureResponse {
  userId: string;
  features: FeatureVector;
  meta: { version: number; updatedAt: string | null; commitTs: string | null; lsn: string | null };
}

const OPEN_ROUTES = new Set(['/healthz', '/readyz']);

export function featureResponse(state: UserState, truncatedBeforeLsn: number): FeatureResponse {
  return {
    userId: state.userId,
    features: computeFeatures(state, truncatedBeforeLsn),
    meta: {
      version: state.version,
      updatedAt: state.updatedAtUs === null ? null : formatTimestampUs(state.updatedAtUs),
      commitTs: state.newest === null ? null : formatTimestampUs(state.newest.commitUs),
      lsn: state.newest === null ? null : formatLsn(state.newest.lsn),
    },
  };
}

const errorBody = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
} as const;

const featureBody = {
  type: 'object',
  properties: {
    userId: { type: 'string' },
    features: {
      type: 'object',
      properties: Object.fromEntries(
        Object.entries(FEATURES).map(([name, definition]) => [
          name,
          { type: ['string', 'null'], description: definition.description },
        ]),
      ),
    },
    meta: {
      type: 'object',
      properties: {
        version: { type: 'integer' },
        updatedAt: { type: ['string', 'null'] },
        commitTs: { type: ['string', 'null'] },
        lsn: { type: ['string', 'null'] },
      },
    },
  },
} as const;

export async function buildApi(options: ApiOptions): Promise<FastifyInstance> {
  const { metrics, store } = options;
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

  const token = options.token === null ? null : Buffer.from(`Bearer ${options.token}`);
  app.addHook('onRequest', async (request, reply) => {
    if (token === null || OPEN_ROUTES.has(request.routeOptions.url ?? '')) return;
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

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const { ready, checks } = options.readiness();
    if (ready) return { status: 'ready', checks };
    return reply.code(503).send({
      error: { code: 'BRISK_NOT_READY', message: 'the pipeline is not streaming yet' },
      checks,
    });
  });

  app.get('/metrics', async (_request, reply) => {
    await options
      .beforeScrape?.()
      .catch((error: unknown) => app.log.debug({ err: error }, 'scrape refresh failed'));
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  const waiters = new VersionWaiters(options.changes);
  app.addHook('onClose', async () => waiters.close());

  app.get<{ Params: { userId: string }; Querystring: { minVersion?: string; waitMs?: string } }>(
    '/api/v1/features/user/:userId',
    { schema: { response: { 200: featureBody, '4xx': errorBody, '5xx': errorBody } } },
    async (request, reply) => {
      const { userId } = request.params;
      const problem = userIdProblem(userId);
      if (problem !== null) throw briskError('BRISK_INVALID_USER_ID', `user id ${problem}`);
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
      return featureResponse(state, store.truncatedBeforeLsn());
    },
  );
  // An empty id does not match the route above; it is still a bad id, not a missing route.
  app.get('/api/v1/features/user/', async () => {
    throw briskError('BRISK_INVALID_USER_ID', 'user id is empty');
  });

  app.get<{ Querystring: { limit?: string } }>('/api/v1/deadletters', async (request) => {
    const limit = Number(request.query.limit ?? 100);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw briskError('BRISK_BAD_REQUEST', 'limit must be an integer from 1 to 1000');
    }
    return { deadLetters: await store.deadLetters(limit) };
  });

  return app;
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
