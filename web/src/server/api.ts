import type { Logger } from '@brisk/core';
import type { FeatureSnapshot, PipelineStats, Recommendation } from '../app/services.ts';

/**
 * The web server's client of the feature API. Every call is bounded by the caller's signal and answers null
 * when the API is down, slow or says no: the storefront renders fallback content rather than an error page.
 * A change between "reachable" and "unreachable" is logged once, not on every request.
 */
export interface FeatureApi {
  readonly baseUrl: string;
  features(userId: string, signal?: AbortSignal): Promise<FeatureSnapshot | null>;
  recommendations(userId: string, limit: number, signal?: AbortSignal): Promise<Recommendation[] | null>;
  stats(signal?: AbortSignal): Promise<PipelineStats | null>;
  /** Opens a user's feature stream; throws when the API cannot be reached or answers other than 200. */
  stream(userId: string, lastEventId: string | null, signal: AbortSignal): Promise<Response>;
}

export function featureApi(baseUrl: string, token: string | null, logger: Logger): FeatureApi {
  const base = baseUrl.replace(/\/+$/, '');
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
  let reachable = true;

  const note = (ok: boolean, what: string, error?: unknown) => {
    if (ok === reachable) return;
    reachable = ok;
    if (ok) logger.info({ api: base }, 'feature API reachable again');
    else logger.warn({ api: base, err: error, what }, 'feature API unavailable: rendering fallback content');
  };

  async function getJson<T>(path: string, signal: AbortSignal | undefined): Promise<T | null> {
    try {
      const response = await fetch(`${base}${path}`, { headers, signal: signal ?? null });
      if (!response.ok) {
        // A 4xx is this request's fault (logged at debug); a 5xx means the API cannot serve right now.
        const body = await response.text().catch(() => '');
        if (response.status >= 500) note(false, path, new Error(`${response.status} ${body.slice(0, 200)}`));
        else logger.debug({ path, status: response.status, body: body.slice(0, 200) }, 'feature API refused');
        return null;
      }
      const value = (await response.json()) as T;
      note(true, path);
      return value;
    } catch (error) {
      // An abort is the render budget running out, not the API going away.
      if (signal?.aborted) logger.debug({ path }, 'feature API call exceeded its budget');
      else note(false, path, error);
      return null;
    }
  }

  const user = (userId: string) => encodeURIComponent(userId);

  return {
    baseUrl: base,
    features: (userId, signal) => getJson<FeatureSnapshot>(`/api/v1/features/user/${user(userId)}`, signal),
    recommendations: async (userId, limit, signal) => {
      const body = await getJson<{ items: Recommendation[] }>(
        `/api/v1/recommendations/user/${user(userId)}?limit=${limit}`,
        signal,
      );
      return body?.items ?? null;
    },
    stats: (signal) => getJson<PipelineStats>('/api/v1/stats', signal),
    stream: async (userId, lastEventId, signal) => {
      const response = await fetch(`${base}/api/v1/features/user/${user(userId)}/stream`, {
        headers: {
          ...headers,
          accept: 'text/event-stream',
          ...(lastEventId === null ? {} : { 'last-event-id': lastEventId }),
        },
        signal,
      });
      if (response.status !== 200 || response.body === null) {
        await response.body?.cancel();
        throw new Error(`feature stream answered ${response.status}`);
      }
      return response;
    },
  };
}
