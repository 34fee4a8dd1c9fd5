import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  readCookie,
  sessionCookieHeader,
  sessionKey,
  signSession,
  verifySession,
} from '../src/server/session.ts';

const key = sessionKey('k'.repeat(32));

describe('session cookie', () => {
  it('round-trips a user id, including non-ASCII', () => {
    expect(verifySession(key, signSession(key, 'user-1'))).toBe('user-1');
    expect(verifySession(key, signSession(key, 'usér 🛒.x'))).toBe('usér 🛒.x');
  });

  it('rejects a value signed with another key', () => {
    expect(verifySession(sessionKey('o'.repeat(32)), signSession(key, 'user-1'))).toBeNull();
    const random = sessionKey(null);
    expect(verifySession(sessionKey(null), signSession(random, 'user-1'))).toBeNull();
    expect(verifySession(random, signSession(random, 'user-1'))).toBe('user-1');
  });

  it('rejects tampering with the user or the MAC', () => {
    const value = signSession(key, 'user-1');
    const [version, , mac] = value.split('.');
    const other = Buffer.from('user-2').toString('base64url');
    expect(verifySession(key, `${version}.${other}.${mac}`)).toBeNull();
    expect(verifySession(key, `${value.slice(0, -2)}AA`)).toBeNull();
    expect(verifySession(key, `v2${value.slice(2)}`)).toBeNull();
    expect(verifySession(key, `${value}.extra`)).toBeNull();
  });

  it('rejects garbage without throwing', () => {
    for (const bad of [undefined, '', '.', 'v1..', 'v1.%%%.abc', 'x'.repeat(5000), 'v1.dXNlci0x']) {
      expect(verifySession(key, bad)).toBeNull();
    }
  });

  it('refuses to sign an invalid user id', () => {
    expect(() => signSession(key, '')).toThrow(/empty/);
    expect(() => signSession(key, 'a\u0000b')).toThrow(/control/);
    expect(() => signSession(key, 'a'.repeat(256))).toThrow(/255/);
  });

  it('does not accept a correctly signed id that is invalid', () => {
    // A key shared with a (hypothetical) buggy signer must still not let a control character through.
    const body = `v1.${Buffer.from('a\nb').toString('base64url')}`;
    const mac = createHmac('sha256', key.key).update(body).digest('base64url');
    expect(verifySession(key, `${body}.${mac}`)).toBeNull();
  });

  it('sets HttpOnly, SameSite=Lax cookies and reads them back', () => {
    const header = sessionCookieHeader('abc', false);
    expect(header).toMatch(/^brisk_session=abc; /);
    expect(header).toContain('HttpOnly');
    expect(header).toContain('SameSite=Lax');
    expect(header).not.toContain('Secure');
    expect(readCookie('a=1; brisk_session=xyz; b=2', 'brisk_session')).toBe('xyz');
    expect(readCookie('a=1', 'brisk_session')).toBeUndefined();
    expect(readCookie(undefined, 'brisk_session')).toBeUndefined();
  });
});
