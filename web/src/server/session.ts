import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { userIdProblem } from '@brisk/core';
import { SESSION_COOKIE } from '../app/services.ts';

/**
 * The storefront session: a cookie that names the user, signed with HMAC-SHA256 so the browser cannot pick
 * another user's features. Value: `v1.<base64url(userId)>.<base64url(mac)>`, the MAC covering everything
 * before its dot. There is no server-side session table: any web instance holding the key can verify it.
 */
export { SESSION_COOKIE };

const VERSION = 'v1';
/** A year: this is a demo login, not an account; signing out clears it. */
export const SESSION_MAX_AGE_S = 365 * 24 * 3600;

export interface SessionKey {
  readonly key: Buffer;
}

/** `secret` null: a random key for this process only (every session ends when the process restarts). */
export function sessionKey(secret: string | null): SessionKey {
  return { key: secret === null ? randomBytes(32) : Buffer.from(secret, 'utf8') };
}

export function signSession(key: SessionKey, userId: string): string {
  const problem = userIdProblem(userId);
  if (problem !== null) throw new TypeError(`cannot sign a session for a user id that ${problem}`);
  const body = `${VERSION}.${Buffer.from(userId, 'utf8').toString('base64url')}`;
  return `${body}.${mac(key, body).toString('base64url')}`;
}

/** The user a cookie value names, or null when it is absent, malformed, signed with another key or invalid. */
export function verifySession(key: SessionKey, value: string | undefined): string | null {
  if (value === undefined || value.length > 2048) return null;
  const parts = value.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION) return null;
  const [, encodedUser = '', encodedMac = ''] = parts;
  if (!/^[A-Za-z0-9_-]+$/.test(encodedUser) || !/^[A-Za-z0-9_-]+$/.test(encodedMac)) return null;
  const expected = mac(key, `${VERSION}.${encodedUser}`);
  const given = Buffer.from(encodedMac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  const userId = Buffer.from(encodedUser, 'base64url').toString('utf8');
  return userIdProblem(userId) === null ? userId : null;
}

/** The Set-Cookie header value for a session (HttpOnly, SameSite=Lax, Path=/). */
export function sessionCookieHeader(value: string, secure: boolean): string {
  const flags = `Path=/; HttpOnly; SameSite=Lax; Max-Age=${SESSION_MAX_AGE_S}${secure ? '; Secure' : ''}`;
  return `${SESSION_COOKIE}=${value}; ${flags}`;
}

/** A cookie's value from a Cookie request header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function mac(key: SessionKey, body: string): Buffer {
  return createHmac('sha256', key.key).update(body).digest();
}
