import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@brisk/core';
import type { Product } from '@brisk/legacy';
import type { FeatureSnapshot } from '../app/services.ts';
import { formatSse, SseParser } from '../app/sse.ts';
import { featuresView, RECOMMENDATION_LIMIT, recommendationsView } from '../app/view.ts';
import type { FeatureApi } from './api.ts';
import { openEventStream } from './http.ts';

/**
 * `GET /live/features`: the session user's feature stream, proxied from the feature API so the browser never
 * names a user id. Each upstream `features` event goes out at once, with its products resolved from the cached
 * catalogue (`event: features`, same id = version); the recommendations, which the API computes on request,
 * follow as `event: recommendations` for that version. Painting the features never waits for them.
 *
 * Every response starts with `retry: 1000`. When the API cannot be reached the stream says so
 * (`event: unavailable`) and ends: EventSource reconnects after a second with Last-Event-ID, which is
 * forwarded upstream so no version is missed. A 503 would make EventSource give up for good.
 */
export interface FeatureStreamContext {
  readonly api: FeatureApi;
  readonly products: () => ReadonlyMap<string, Product>;
  readonly logger: Logger;
}

const VERSION_ID = /^\d{1,16}$/;
/**
 * A browser that stops reading would make this process buffer every event. Each event is the whole vector, so
 * such a stream is ended instead: the browser reconnects with Last-Event-ID and gets the newest vector.
 */
const MAX_BUFFERED_BYTES = 1 << 20;

/** Open streams, so close() can end them: a server waits for open responses before it closes. */
export class FeatureStreams {
  private readonly open = new Set<() => void>();

  get size(): number {
    return this.open.size;
  }

  serve(
    context: FeatureStreamContext,
    userId: string,
    request: IncomingMessage,
    response: ServerResponse,
  ): void {
    const controller = new AbortController();
    const end = () => {
      controller.abort();
      if (!response.writableEnded) response.end();
    };
    this.open.add(end);
    response.on('close', () => {
      controller.abort();
      this.open.delete(end);
    });
    openEventStream(response);
    // The page passes the version it rendered (?after=), so the first upstream event is skipped when unchanged;
    // on a reconnect EventSource's own Last-Event-ID header wins.
    const header = request.headers['last-event-id'];
    const after = new URL(request.url ?? '/', 'http://x').searchParams.get('after');
    const lastEventId = [typeof header === 'string' ? header : null, after].find(
      (value) => value != null && VERSION_ID.test(value),
    );
    void pump(context, userId, lastEventId ?? null, response, controller.signal).finally(end);
  }

  close(): void {
    for (const end of [...this.open]) end();
  }
}

async function pump(
  context: FeatureStreamContext,
  userId: string,
  lastEventId: string | null,
  response: ServerResponse,
  signal: AbortSignal,
): Promise<void> {
  let upstream: Response;
  try {
    upstream = await context.api.stream(userId, lastEventId, signal);
  } catch (error) {
    if (signal.aborted) return;
    context.logger.debug({ err: error, userId }, 'feature stream: API unavailable, client will retry');
    response.write(
      formatSse('unavailable', JSON.stringify({ message: 'The feature API is not answering; retrying.' })),
    );
    return;
  }
  const recommendations = recommendationPusher(context, userId, response, signal);
  const parser = new SseParser();
  const decoder = new TextDecoder();
  try {
    for await (const chunk of upstream.body as unknown as AsyncIterable<Uint8Array>) {
      for (const item of parser.push(decoder.decode(chunk, { stream: true }))) {
        if (item.kind === 'comment') {
          response.write(': hb\n\n');
          continue;
        }
        if (item.event !== 'features') continue;
        const snapshot = parseSnapshot(item.data);
        if (snapshot === null) {
          context.logger.warn({ userId }, 'feature stream: upstream event is not a feature vector; skipped');
          continue;
        }
        const view = featuresView(snapshot, context.products());
        response.write(formatSse('features', JSON.stringify(view), String(snapshot.meta.version)));
        recommendations(snapshot.meta.version);
        if (response.writableLength > MAX_BUFFERED_BYTES) {
          context.logger.info({ userId }, 'feature stream: client is not reading; ended');
          return;
        }
      }
    }
  } catch (error) {
    if (!signal.aborted) context.logger.debug({ err: error, userId }, 'feature stream: upstream ended');
  }
}

/**
 * Fetches recommendations after a change, one request at a time per stream: changes that arrive while one is
 * in flight are covered by a single follow-up request for the newest version.
 */
function recommendationPusher(
  context: FeatureStreamContext,
  userId: string,
  response: ServerResponse,
  signal: AbortSignal,
): (version: number) => void {
  let wanted = -1;
  let busy = false;
  const run = async () => {
    busy = true;
    while (wanted >= 0 && !signal.aborted) {
      const version = wanted;
      wanted = -1;
      const items = await context.api.recommendations(
        userId,
        RECOMMENDATION_LIMIT,
        AbortSignal.any([signal, AbortSignal.timeout(5_000)]),
      );
      if (items === null || signal.aborted || wanted > version) continue;
      response.write(
        formatSse('recommendations', JSON.stringify(recommendationsView(version, items, context.products()))),
      );
    }
    busy = false;
  };
  return (version) => {
    wanted = Math.max(wanted, version);
    if (!busy) void run();
  };
}

function parseSnapshot(data: string): FeatureSnapshot | null {
  try {
    const value = JSON.parse(data) as Partial<FeatureSnapshot>;
    if (typeof value !== 'object' || value === null) return null;
    if (
      typeof value.meta?.version !== 'number' ||
      typeof value.features !== 'object' ||
      value.features === null
    )
      return null;
    return value as FeatureSnapshot;
  } catch {
    return null;
  }
}
