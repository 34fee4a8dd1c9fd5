import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@brisk/core';

/** Qwik City's Node middleware, as exported by the SSR bundle (src/entry.handler.tsx). */
export interface QwikHandler {
  router(req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): Promise<void>;
  notFound(req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): Promise<void>;
}

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/**
 * Starts a server-sent event stream: no caching, no proxy buffering, and `retry: 1000` so a browser that loses
 * the stream reconnects after a second.
 */
export function openEventStream(response: ServerResponse): void {
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  response.write('retry: 1000\n\n');
}

/** A plain error page for failures outside Qwik's rendering (which has its own). */
export function sendErrorPage(
  response: ServerResponse,
  status: number,
  title: string,
  message: string,
): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body =
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · Brisk Shop</title>` +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<style>body{font:16px/1.5 system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;' +
    'background:#f6f5f2;color:#1f2430}main{max-width:32rem;padding:2rem}a{color:#2f5bd3}</style></head>' +
    `<body><main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>` +
    '<p><a href="/">Back to the shop</a></p></main></body></html>';
  response.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

/** Passes a request to Qwik City; anything it does not answer gets its 404, and a failure a logged 500. */
export async function handleWithQwik(
  qwik: QwikHandler,
  request: IncomingMessage,
  response: ServerResponse,
  logger: Logger,
): Promise<void> {
  const failed = (error: unknown) => {
    logger.error({ err: error, url: request.url }, 'storefront request failed');
    sendErrorPage(
      response,
      500,
      'Something went wrong',
      'The page could not be rendered. Try again shortly.',
    );
  };
  await new Promise<void>((resolve) => {
    void qwik
      .router(request, response, (error) => {
        if (error !== undefined) {
          failed(error);
          resolve();
          return;
        }
        void qwik
          .notFound(request, response, (notFoundError) => {
            if (notFoundError !== undefined) failed(notFoundError);
            else sendErrorPage(response, 404, 'Not found', 'There is no page at this address.');
            resolve();
          })
          .then(resolve, (error: unknown) => {
            failed(error);
            resolve();
          });
      })
      .then(resolve, (error: unknown) => {
        failed(error);
        resolve();
      });
  });
}
