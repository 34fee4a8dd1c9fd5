import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { access, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@brisk/core';

/**
 * The storefront always runs from a production build (the dev server's unbundled modules would measure
 * nothing real). A build lives in `web/build/<id>/`, where the id hashes everything that shapes it: every file
 * under src/, vite.config.ts, tsconfig.json and the versions of qwik, qwik-city and vite. A matching build is
 * reused at once; otherwise Vite runs in a child process (its plugins load the TypeScript toolchain and hold
 * memory this server should not keep) into a temporary directory that is renamed into place when complete:
 * a rename is atomic, so a concurrent process sees either no build or a whole one.
 */
export const WEB_ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const BUILD_ROOT = path.join(WEB_ROOT, 'build');
const INPUTS = ['vite.config.ts', 'tsconfig.json'];
const VERSIONED = ['@builder.io/qwik', '@builder.io/qwik-city', 'vite'];
/** Older builds kept beside the current one (another process may still be serving from them). */
const KEEP_BUILDS = 3;
const STALE_TEMP_MS = 60 * 60 * 1000;

export interface WebBuild {
  readonly dir: string;
  readonly id: string;
  readonly built: boolean;
}

export async function webBuildId(root = WEB_ROOT): Promise<string> {
  const hash = createHash('sha256');
  const files = [...(await listFiles(path.join(root, 'src'))), ...INPUTS.map((f) => path.join(root, f))];
  for (const file of files.sort()) {
    const content = await readFile(file).catch(() => null);
    if (content === null) continue;
    hash.update(`${path.relative(root, file)}\0${content.length}\0`).update(content);
  }
  for (const name of VERSIONED) hash.update(`${name}@${await installedVersion(root, name)}\0`);
  return hash.digest('hex').slice(0, 16);
}

export async function ensureWebBuild(logger: Logger): Promise<WebBuild> {
  const id = await webBuildId();
  const dir = path.join(BUILD_ROOT, id);
  if (await isComplete(dir)) return { dir, id, built: false };

  await mkdir(BUILD_ROOT, { recursive: true });
  const temp = path.join(BUILD_ROOT, `.tmp-${id}-${process.pid}-${randomBytes(4).toString('hex')}`);
  const started = performance.now();
  logger.info({ id }, 'building the storefront (production build; reused until web sources change)');
  try {
    await vite(['build', '--config', 'vite.config.ts', '--logLevel', 'warn'], temp, logger);
    await vite(
      ['build', '--ssr', 'src/entry.handler.tsx', '--config', 'vite.config.ts', '--logLevel', 'warn'],
      temp,
      logger,
    );
    try {
      await rename(temp, dir);
    } catch (error) {
      // Another process finished the same build first: its copy is identical, use it.
      if (!(await isComplete(dir))) throw error;
      await rm(temp, { recursive: true, force: true });
      return { dir, id, built: false };
    }
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  logger.info({ id, ms: Math.round(performance.now() - started) }, 'storefront built');
  await prune(id).catch((error: unknown) => logger.debug({ err: error }, 'could not prune old web builds'));
  return { dir, id, built: true };
}

/** Where the built pieces are inside a build directory. */
export function buildLayout(dir: string) {
  return {
    client: path.join(dir, 'client'),
    handler: path.join(dir, 'server', 'entry.handler.js'),
  };
}

/**
 * A package's folder, found the way Node looks up node_modules: these packages do not export package.json or
 * vite's bin, so require.resolve cannot name them.
 */
async function packageDir(root: string, name: string): Promise<string | null> {
  for (let dir = root; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (
      await access(path.join(candidate, 'package.json')).then(
        () => true,
        () => false,
      )
    )
      return candidate;
    if (path.dirname(dir) === dir) return null;
  }
}

async function installedVersion(root: string, name: string): Promise<string> {
  const dir = await packageDir(root, name);
  if (dir === null) return 'missing';
  return (JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

async function isComplete(dir: string): Promise<boolean> {
  try {
    await access(buildLayout(dir).handler);
    return true;
  } catch {
    return false;
  }
}

async function vite(args: string[], outDir: string, logger: Logger): Promise<void> {
  const dir = await packageDir(WEB_ROOT, 'vite');
  if (dir === null) throw new Error('vite is not installed: run npm install');
  const bin = path.join(dir, 'bin', 'vite.js');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: WEB_ROOT,
      // The output directory reaches vite.config.ts through the environment: Qwik's plugin owns outDir.
      env: { ...process.env, NODE_ENV: 'production', BRISK_WEB_OUT_DIR: outDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) {
        if (output.trim() !== '') logger.debug({ output }, 'vite');
        resolve();
      } else reject(new Error(`vite ${args.join(' ')} failed (exit ${code}):\n${output}`));
    });
  });
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const nested = await Promise.all(
    entries.map((entry) => {
      const full = path.join(dir, entry.name);
      return entry.isDirectory() ? listFiles(full) : Promise.resolve(entry.isFile() ? [full] : []);
    }),
  );
  return nested.flat();
}

async function prune(current: string): Promise<void> {
  const entries = await readdir(BUILD_ROOT, { withFileTypes: true });
  const builds = await Promise.all(
    entries
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== current)
      .map(async (entry) => {
        const full = path.join(BUILD_ROOT, entry.name);
        return { full, mtimeMs: (await stat(full)).mtimeMs };
      }),
  );
  builds.sort((a, b) => b.mtimeMs - a.mtimeMs);
  // A temporary directory left by a build that crashed (a running build is minutes old at most).
  for (const entry of entries) {
    if (!entry.name.startsWith('.tmp-')) continue;
    const full = path.join(BUILD_ROOT, entry.name);
    const age = Date.now() - (await stat(full)).mtimeMs;
    if (age > STALE_TEMP_MS) await rm(full, { recursive: true, force: true });
  }
  for (const old of builds.slice(KEEP_BUILDS)) await rm(old.full, { recursive: true, force: true });
}
