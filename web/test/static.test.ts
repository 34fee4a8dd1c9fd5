import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { contentType, isImmutable, staticFilePath } from '../src/server/static.ts';

const root = path.resolve('/srv/web/client');

describe('staticFilePath', () => {
  it('maps plain paths below the root', () => {
    expect(staticFilePath(root, '/build/q-abc.js')).toBe(path.join(root, 'build', 'q-abc.js'));
    expect(staticFilePath(root, '/assets/x%20y.css')).toBe(path.join(root, 'assets', 'x y.css'));
  });

  it('refuses traversal in every spelling', () => {
    for (const bad of [
      '/../secret',
      '/build/../../etc/passwd',
      '/build/%2e%2e/%2e%2e/etc/passwd',
      '/%2e%2e%2fetc%2fpasswd',
      '/build/..%5c..%5cwin.ini',
      '/build\\..\\x',
      '/a%00.js',
      '/.env',
      '/build//q.js',
      '/%E0%A4%A',
      'build/q.js',
      '/',
    ]) {
      expect(staticFilePath(root, bad), bad).toBeNull();
    }
  });

  it('types and caches files', () => {
    expect(contentType('/a/b.js')).toBe('text/javascript; charset=utf-8');
    expect(contentType('/a/b.CSS')).toBe('text/css; charset=utf-8');
    expect(contentType('/a/b.bin')).toBe('application/octet-stream');
    expect(isImmutable('/build/q-1.js')).toBe(true);
    expect(isImmutable('/favicon.svg')).toBe(false);
  });
});
