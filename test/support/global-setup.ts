import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger } from '@brisk/core';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../cli/src/harness/postgres.ts';
import { ensureWebBuild } from '../../web/src/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the embedded PostgreSQL shared by the integration run (database `postgres`). */
    pgAdminUrl: string;
  }
}

/**
 * The storefront's production build, and one embedded PostgreSQL (wal_level=logical) for the whole integration run; each test file creates its own
 * database and slot in it. Tests that restart PostgreSQL start a private server instead.
 */
export default async function setup(project: TestProject) {
  // Every `brisk start` in the run serves the storefront's production build: build it once, up front, rather
  // than inside whichever test happens to start first (its timeout would pay for the build).
  await ensureWebBuild(silentLogger);
  const root = await mkdtemp(path.join(tmpdir(), 'brisk-it-'));
  // mkdtemp makes the directory 0700; when the tests run as root the server runs as `postgres` and must enter it.
  await chmod(root, 0o755);
  const postgres = await startEmbeddedPostgres({
    dataDir: path.join(root, 'pg'),
    database: 'postgres',
    settings: { max_replication_slots: '40', max_wal_senders: '40', fsync: 'off' },
  });
  project.provide('pgAdminUrl', postgres.url);
  return async () => {
    await postgres.stop();
    await rm(root, { recursive: true, force: true });
  };
}
