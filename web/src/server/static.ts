import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';

/**
 * Serves the client build (`build/<id>/client`). Qwik names its bundles by content hash under `/build/` and
 * `/assets/`, so those are cached for a year as immutable; anything else (favicon, manifest) briefly.
 */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/**
 * The file a request path names inside `root`, or null when it is not a plain path below it: encoded
 * separators or dots, `..` segments, NUL, backslashes and hidden files are refused, never normalised away.
 */
export function staticFilePath(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (!decoded.startsWith('/') || decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/').slice(1);
  if (segments.some((segment) => segment === '' || segment.startsWith('.'))) return null;
  const resolved = path.resolve(root, ...segments);
  const base = path.resolve(root);
  return resolved.startsWith(base + path.sep) ? resolved : null;
}

export function contentType(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

export function isImmutable(urlPath: string): boolean {
  return urlPath.startsWith('/build/') || urlPath.startsWith('/assets/');
}

/** Serves the file if the request names one; false when it does not (the router handles the request). */
export async function serveStatic(
  root: string,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<boolean> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const urlPath = (request.url ?? '/').split('?')[0] ?? '/';
  if (urlPath === '/' || urlPath.endsWith('/')) return false;
  const file = staticFilePath(root, urlPath);
  if (file === null) return false;
  const info = await stat(file).catch(() => null);
  if (info === null || !info.isFile()) return false;
  response.writeHead(200, {
    'content-type': contentType(file),
    'content-length': info.size,
    'cache-control': isImmutable(urlPath) ? 'public, max-age=31536000, immutable' : 'public, max-age=300',
    'x-content-type-options': 'nosniff',
  });
  if (request.method === 'HEAD') {
    response.end();
    return true;
  }
  await new Promise<void>((resolve) => {
    const stream = createReadStream(file);
    stream.on('error', () => {
      response.destroy();
      resolve();
    });
    stream.on('end', resolve);
    stream.pipe(response);
  });
  return true;
}
