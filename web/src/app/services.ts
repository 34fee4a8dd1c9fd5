import type { Product } from '@brisk/legacy';
import type { ShopView } from './view.ts';

/**
 * What route code (routeLoader$, routeAction$, server$) may ask of the web server process.
 *
 * The SSR bundle is a separate module graph built by Vite: it does not share module instances with the Node
 * side that started the server (src/index.ts), so it cannot import the pg pool, the API client or the session
 * key from there. startWeb() puts one Services object in a process-wide registry (a global under a
 * Symbol.for key, visible to every module graph in the process) before it imports the SSR bundle, and route
 * code reads it back with services(). This file only declares types and reads the registry, so it is cheap to
 * bundle into the SSR build.
 */

/** `GET /api/v1/stats` of the feature API (copied shape: web does not import @brisk/api). */
export interface LatencySummary {
  p50: number | null;
  p99: number | null;
}

export interface PipelineStats {
  at: string;
  windowSeconds: number;
  events: { applied: number; total: number };
  eventsPerSecond: number;
  slotLagBytes: number | null;
  latencyMs: { commitToStore: LatencySummary; commitToServe: LatencySummary };
  l1: { hits: number; misses: number; hitRatio: number | null };
  streams: number;
}

/** The features the storefront renders; other features the API returns are passed through untyped. */
export interface Features {
  lastViewedProduct: string | null;
  lastClickedCategory: string | null;
  viewCount30s: number;
  clickCount30s: number;
  viewCount5m: number;
  clickCount5m: number;
  recentProducts: string[];
  topCategories5m: { category: string; count: number }[];
  [name: string]: unknown;
}

export interface FeatureMeta {
  version: number;
  updatedAt: string | null;
  /** ISO-8601 with microseconds, e.g. 2025-01-01T10:00:00.123456Z; null for a user with no events. */
  commitTs: string | null;
  lsn: string | null;
}

/** `GET /api/v1/features/user/{id}` and the data of each `features` stream event. */
export interface FeatureSnapshot {
  userId: string;
  features: Features;
  meta: FeatureMeta;
}

export interface Recommendation {
  productId: string;
  score: number;
  reason: string;
}

export type { Product };

export type RecordViewResult =
  | { readonly ok: true; readonly activityId: string }
  | {
      readonly ok: false;
      readonly code: 'BRISK_BAD_REQUEST' | 'BRISK_PG_UNREACHABLE';
      readonly message: string;
    };

/** Name of the signed session cookie. */
export const SESSION_COOKIE = 'brisk_session';

export interface Services {
  /** Server-render budget for feature API calls (BRISK_WEB_BUDGET_MS). */
  readonly budgetMs: number;
  /** Why a user id cannot be used (core userIdProblem), or null when it can. */
  userIdProblem(userId: string): string | null;
  /** The signed session cookie's user, or null (absent, tampered, other key, invalid id). */
  sessionUser(cookieValue: string | undefined): string | null;
  /** The cookie value that names `userId` (signed with this process' key); the id must be valid. */
  signSession(userId: string): string;
  /**
   * Everything the storefront renders for a user: features and recommendations fetched in parallel within
   * `signal` (the render budget), products resolved from the catalogue. Never throws for an unavailable API.
   */
  view(userId: string, signal?: AbortSignal): Promise<ShopView>;
  /** Pipeline figures; null when the feature API is unavailable. */
  stats(signal?: AbortSignal): Promise<PipelineStats | null>;
  /** A user's features; null when the API is unavailable, slow past `signal`, or answers with an error. */
  features(userId: string, signal?: AbortSignal): Promise<FeatureSnapshot | null>;
  /** Recommendations, best first; null when the API is unavailable. */
  recommendations(userId: string, limit: number, signal?: AbortSignal): Promise<Recommendation[] | null>;
  /** The product catalogue (cached in this process, reloaded every 30 s); empty if never loaded. */
  catalogue(): Promise<readonly Product[]>;
  /** Records a VIEW_PRODUCT through the legacy MyBatis mapper, after checking the product exists. */
  recordView(userId: string, productId: string): Promise<RecordViewResult>;
}

const REGISTRY = Symbol.for('brisk.web');

type Registry = { [REGISTRY]?: Services };

export function registerServices(value: Services | null): void {
  const registry = globalThis as Registry;
  if (value === null) delete registry[REGISTRY];
  else registry[REGISTRY] = value;
}

export function services(): Services {
  const value = (globalThis as Registry)[REGISTRY];
  if (value === undefined)
    throw new Error('brisk web services are not registered: start the site with startWeb()');
  return value;
}
