import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import type { Logger } from '@brisk/core';
import { loadMapper, PRODUCT_MAPPER_PATH, USER_ACTIVITY_MAPPER_PATH } from '@brisk/legacy';
import pg from 'pg';
import { registerServices, type Services } from './app/services.ts';
import { featureApi } from './server/api.ts';
import { buildLayout, ensureWebBuild } from './server/build.ts';
import { catalogueCache } from './server/catalogue.ts';
import { createServices } from './server/context.ts';
import { handleWithQwik, type QwikHandler, sendErrorPage } from './server/http.ts';
import { FeatureStreams } from './server/live-features.ts';
import { StatsHub } from './server/live-stats.ts';
import { readCookie, SESSION_COOKIE, sessionKey, verifySession } from './server/session.ts';
import { serveStatic } from './server/static.ts';

export { ensureWebBuild } from './server/build.ts';

export interface WebOptions {
  readonly host: string;
  readonly port: number;
  /** The feature API (a `brisk serve` instance or a load balancer). */
  readonly apiUrl: string;
  /** Sent as `Authorization: Bearer` when set (BRISK_API_TOKEN). */
  readonly apiToken: string | null;
  /** The shop database: the product catalogue is read and views are written through the legacy mappers. */
  readonly databaseUrl: string;
  /** null: randomBytes(32) per process (sessions end when it restarts). */
  readonly sessionSecret: string | null;
  /** How long server rendering waits for the feature API before rendering fallback content. */
  readonly budgetMs: number;
  readonly logger: Logger;
}

export interface Web {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The storefront's HTTP server: the production build's static files, the two live streams, then Qwik City for
 * every page (/, /login, /logout, /live). Builds first when no build matches the sources.
 */
export async function startWeb(options: WebOptions): Promise<Web> {
  const logger = options.logger.child({ component: 'web' });
  const build = await ensureWebBuild(logger);
  const layout = buildLayout(build.dir);

  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 4, connectionTimeoutMillis: 5_000 });
  pool.on('error', (error) => logger.warn({ err: error }, 'idle shop database connection failed'));
  const [productMapper, activityMapper] = await Promise.all([
    loadMapper(PRODUCT_MAPPER_PATH),
    loadMapper(USER_ACTIVITY_MAPPER_PATH),
  ]);
  const catalogue = catalogueCache({ db: pool, mapper: productMapper, logger });
  const api = featureApi(options.apiUrl, options.apiToken, logger);
  const session = sessionKey(options.sessionSecret);
  const services: Services = createServices({
    api,
    catalogue,
    db: pool,
    activityMapper,
    session,
    budgetMs: options.budgetMs,
    logger,
  });
  // The SSR bundle is a separate module graph (built by Vite, imported below): it cannot import this
  // module's pool, API client or session key. It finds them in a process-wide registry, which must be filled
  // before the bundle's route code can run.
  registerServices(services);
  const qwik = (await import(pathToFileURL(layout.handler).href)) as QwikHandler;

  const streams = new FeatureStreams();
  const stats = new StatsHub({ fetchStats: (signal) => api.stats(signal) });
  const streamContext = { api, products: () => catalogue.now().byId, logger };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const pathname = (request.url ?? '/').split('?')[0];
    if (pathname === '/live/features' && request.method === 'GET') {
      const userId = verifySession(session, readCookie(request.headers.cookie, SESSION_COOKIE));
      if (userId === null) {
        // EventSource stops on a non-200, which is right here: there is nobody to stream for.
        sendErrorPage(response, 401, 'Not signed in', 'Sign in at /login to receive live updates.');
        return;
      }
      streams.serve(streamContext, userId, request, response);
      return;
    }
    if (pathname === '/live/stats' && request.method === 'GET') {
      stats.add(response);
      return;
    }
    if (await serveStatic(layout.client, request, response)) return;
    await handleWithQwik(qwik, request, response, logger);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      logger.error({ err: error, url: request.url }, 'storefront request failed');
      sendErrorPage(response, 500, 'Something went wrong', 'The request could not be handled.');
    });
  });
  server.on('clientError', (error, socket) => {
    logger.debug({ err: error }, 'malformed HTTP request');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    catalogue.close();
    registerServices(null);
    await pool.end();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info({ url, build: build.id }, 'storefront listening');

  let closing: Promise<void> | null = null;
  return {
    url,
    close: () => {
      // Streams first: an open response keeps server.close() waiting forever.
      closing ??= (async () => {
        streams.close();
        stats.close();
        catalogue.close();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        registerServices(null);
        await pool.end();
      })();
      return closing;
    },
  };
}
