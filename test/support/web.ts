import net from 'node:net';
import { silentLogger } from '@brisk/core';
import { ensureWebBuild, startWeb } from '@brisk/web';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import type { Pipeline } from '../../cli/src/pipeline.ts';
import { onCleanup, startTestPipeline, type TestDatabase } from './harness.ts';

/**
 * Browser-test helpers: Debian's Chromium driven by playwright-core, the storefront in front of a test
 * pipeline, and a TCP relay between the two so a test can take the feature API away and give it back.
 */
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
];

export async function launchBrowser(): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  onCleanup(() => browser.close());
  return browser;
}

/**
 * A TCP relay in front of the feature API. The storefront is given the relay's URL, so cutting the relay is
 * the API going away as the storefront sees it (connections reset, then refused), without touching the
 * pipeline, which keeps applying changes that the page must catch up on later.
 */
export interface Relay {
  readonly url: string;
  /** Sockets currently relayed (both directions of a connection count once). */
  readonly connections: number;
  /** Resets every open connection and stops accepting: new connections are refused. */
  cut(): Promise<void>;
  /** Resets every open connection; new ones are accepted but never answered (an API that hangs). */
  stall(): void;
  /** Accepts and relays again, on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startRelay(target: string): Promise<Relay> {
  const upstream = new URL(target);
  const held = new Set<net.Socket>();
  let mode: 'open' | 'stall' | 'cut' = 'open';
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    held.add(socket);
    socket.once('close', () => held.delete(socket));
    if (mode !== 'open') return;
    const api = net.connect(Number(upstream.port), upstream.hostname);
    api.on('error', () => socket.destroy());
    socket.on('error', () => api.destroy());
    socket.once('close', () => api.destroy());
    api.once('close', () => socket.destroy());
    socket.pipe(api).pipe(socket);
  });
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  const resetAll = () => {
    for (const socket of held) socket.resetAndDestroy();
    held.clear();
  };
  const port = await listen(0);
  let closed = false;
  return {
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return held.size;
    },
    async cut() {
      mode = 'cut';
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      resetAll();
      await stopped;
    },
    stall() {
      mode = 'stall';
      resetAll();
    },
    async restore() {
      if (!server.listening) await listen(port);
      mode = 'open';
    },
    async close() {
      if (closed) return;
      closed = true;
      resetAll();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface TestStorefront {
  readonly pipeline: Pipeline;
  readonly relay: Relay;
  /** The storefront's base URL (no trailing slash). */
  readonly url: string;
  readonly budgetMs: number;
}

/**
 * The embedded pipeline on the test's database and Redis, and the storefront (production build) talking to
 * its API through a relay. Everything is stopped by runCleanups, the storefront first.
 */
export async function startTestStorefront(
  db: TestDatabase,
  redisUrl: string,
  { budgetMs = 200, env = {} as Record<string, string> } = {},
): Promise<TestStorefront> {
  await ensureWebBuild(silentLogger);
  const pipeline = await startTestPipeline(db, redisUrl, env);
  onCleanup(() => pipeline.stop());
  const relay = await startRelay(pipeline.apiUrl);
  onCleanup(() => relay.close());
  const web = await startWeb({
    host: '127.0.0.1',
    port: 0,
    apiUrl: relay.url,
    apiToken: null,
    databaseUrl: db.url,
    sessionSecret: null,
    budgetMs,
    logger: silentLogger,
  });
  onCleanup(() => web.close());
  return { pipeline, relay, url: web.url.replace(/\/$/, ''), budgetMs };
}

/** Logs a browser context in as `user` through the storefront's own login route. */
export async function login(context: BrowserContext, baseUrl: string, user: string): Promise<void> {
  const response = await context.request.get(`${baseUrl}/login?user=${encodeURIComponent(user)}`, {
    maxRedirects: 0,
  });
  if (response.status() < 300 || response.status() >= 400) {
    throw new Error(`login as ${user} answered ${response.status()}: ${await response.text()}`);
  }
}

/** The `name=value` session cookie the storefront sets for `user`, for plain HTTP requests. */
export async function sessionCookie(baseUrl: string, user: string): Promise<string> {
  const response = await fetch(`${baseUrl}/login?user=${encodeURIComponent(user)}`, { redirect: 'manual' });
  const cookies = response.headers.getSetCookie();
  if (response.status < 300 || response.status >= 400 || cookies.length === 0) {
    throw new Error(
      `login as ${user} answered ${response.status} without a cookie: ${await response.text()}`,
    );
  }
  return cookies.map((cookie) => cookie.split(';')[0]!).join('; ');
}
