/**
 * The dashboard's connection to `GET /live/stats` as explicit states. EventSource retries by itself after a
 * dropped connection (readyState CONNECTING), but gives up for good when a reconnect is answered with an error
 * status or another content type (readyState CLOSED), e.g. while the web server restarts; then the dashboard
 * opens a new one after a backoff.
 */
export type LinkState =
  /** The server render's figures; the browser has not opened the stream (yet, or has no JavaScript). */
  | 'snapshot'
  /** Opening the stream; nothing received on this connection yet. */
  | 'connecting'
  /** Receiving `stats` events. */
  | 'live'
  /** The web server is reachable but says the feature API is not (`unavailable` events). */
  | 'api-down'
  /** The stream to the web server dropped; waiting to reconnect. */
  | 'reconnecting';

export type LinkEvent = 'open' | 'stats' | 'unavailable' | 'error';

// Every state names every event, so adding either is a compile error until the table says what happens.
const TRANSITIONS: { readonly [S in LinkState]: { readonly [E in LinkEvent]: LinkState } } = {
  snapshot: { open: 'connecting', stats: 'live', unavailable: 'api-down', error: 'reconnecting' },
  connecting: { open: 'connecting', stats: 'live', unavailable: 'api-down', error: 'reconnecting' },
  live: { open: 'live', stats: 'live', unavailable: 'api-down', error: 'reconnecting' },
  'api-down': { open: 'api-down', stats: 'live', unavailable: 'api-down', error: 'reconnecting' },
  reconnecting: { open: 'connecting', stats: 'live', unavailable: 'api-down', error: 'reconnecting' },
};

export function nextLink(state: LinkState, event: LinkEvent): LinkState {
  return TRANSITIONS[state][event];
}

export const RETRY_BASE_MS = 1_000;
export const RETRY_MAX_MS = 30_000;

/**
 * Delay before reopening a closed stream: exponential from 1 s, capped at 30 s, jittered between half and all of that so
 * every open dashboard does not hit a restarted server in the same second. `random` is injectable for tests.
 */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
