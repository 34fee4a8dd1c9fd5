import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { sleep } from '@brisk/core';

const exec = promisify(execFile);

/** A free TCP port on the loopback interface. */
export async function freePort(preferred?: number): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number | null>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(null));
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : null));
      });
    });
  if (preferred) {
    const port = await tryPort(preferred);
    if (port !== null) return port;
  }
  const port = await tryPort(0);
  if (port === null) throw new Error('no free port on 127.0.0.1');
  return port;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command line of a live process, to tell our own orphan from an unrelated process that reused its pid. */
export async function commandLine(pid: number): Promise<string> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** Signals a process and waits for it to exit, escalating to SIGKILL after the grace period. */
export async function terminate(pid: number, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(20);
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
    while (isAlive(pid)) await sleep(20);
  }
}

export interface SpawnedServer {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
}

/**
 * Starts a server process in its own process group (detached), so a Ctrl-C in the terminal reaches Brisk
 * alone and Brisk stops the servers in order, after the pipeline has confirmed what it applied.
 */
export function spawnServer(
  command: string,
  args: readonly string[],
  options: { logFile: string; uid?: number; gid?: number; env?: NodeJS.ProcessEnv },
): SpawnedServer {
  const log = openSync(options.logFile, 'a');
  const child = spawn(command, args, {
    detached: true,
    stdio: ['ignore', log, log],
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid }),
    env: options.env ?? process.env,
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(-1));
  });
  return { child, exited };
}

export async function run(
  command: string,
  args: readonly string[],
  options: { uid?: number; gid?: number } = {},
) {
  return exec(command, args, { ...options, maxBuffer: 10 * 1024 * 1024 });
}

export async function tail(file: string, lines = 15): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
