import { randomBytes } from 'node:crypto';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { briskError, type Logger, sleep } from '@brisk/core';
import { destroyQuietly } from '@brisk/store';
import { createClient } from 'redis';
import { commandLine, freePort, isAlive, spawnServer, tail, terminate } from './process.ts';

/**
 * redis-server from PATH, with its data under the given directory. The AOF with `appendfsync always` means
 * Redis replies only after the write is on disk, which is what lets the connector confirm a position to
 * PostgreSQL as soon as the reply arrives (`redis-benchmark -t set -c 1` on the reference machine: 0.19 ms per
 * SET with `appendfsync always`, 0.06 ms with `everysec`).
 */
export interface SpawnedRedis {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly logFile: string;
  stop(): Promise<void>;
  /** SIGKILL, for crash tests. */
  kill(): Promise<void>;
}

export interface SpawnedRedisOptions {
  readonly dir: string;
  readonly port?: number;
  readonly logger?: Logger;
}

export async function findOnPath(command: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, command);
    try {
      await access(candidate, 1);
      return candidate;
    } catch {}
  }
  return null;
}

export async function startRedis(options: SpawnedRedisOptions): Promise<SpawnedRedis> {
  const binary = await findOnPath('redis-server');
  if (!binary) {
    throw briskError(
      'BRISK_REDIS_SERVER_MISSING',
      'redis-server is not on PATH. Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) ' +
        'or point REDIS_URL at a Redis with appendonly yes.',
    );
  }
  const dir = path.resolve(options.dir);
  await mkdir(dir, { recursive: true });
  const pidFile = path.join(dir, 'redis.pid');
  const logFile = path.join(dir, 'redis.log');
  const passwordFile = path.join(dir, 'redis.password');
  let password: string;
  try {
    password = (await readFile(passwordFile, 'utf8')).trim();
  } catch {
    password = randomBytes(18).toString('base64url');
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  }
  await stopOrphan(pidFile, dir, options.logger);

  const port = await freePort(options.port);
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
    '--save',
    '',
    '--pidfile',
    pidFile,
    '--requirepass',
    password,
    '--daemonize',
    'no',
  ];
  const server = spawnServer(binary, args, { logFile });
  const url = `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const client = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 1_000 } });
    client.on('error', () => {});
    try {
      await client.connect();
      // A replayed AOF answers LOADING until it is in memory; wait for a real PONG.
      await client.ping();
      destroyQuietly(client);
      break;
    } catch (error) {
      destroyQuietly(client);
      const exitCode = await Promise.race([server.exited, sleep(50).then(() => undefined)]);
      if (exitCode !== undefined || Date.now() > deadline) {
        throw briskError(
          'BRISK_REDIS_UNREACHABLE',
          `redis-server did not start (${(error as Error).message}). Last lines of ${logFile}:\n${await tail(logFile)}`,
          error,
        );
      }
    }
  }
  options.logger?.info({ port, dir }, 'redis-server is up (AOF, appendfsync always)');
  const pid = server.child.pid!;
  return {
    url,
    port,
    dir,
    logFile,
    stop: () => terminate(pid, 'SIGTERM', 10_000),
    kill: () => terminate(pid, 'SIGKILL', 0),
  };
}

async function stopOrphan(pidFile: string, dir: string, logger?: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(pidFile, 'utf8')).trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || !isAlive(pid)) return;
  const cmd = await commandLine(pid);
  if (!cmd.includes('redis-server')) return;
  logger?.warn({ pid, dir }, 'stopping a redis-server left running by an earlier Brisk process');
  await terminate(pid, 'SIGTERM', 10_000);
}
