import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { briskError } from '@brisk/core';
import { commandLine, isAlive } from './process.ts';

/** What a user needs to reach the running system; written to <dataDir>/runtime.json and printed at start. */
export interface RuntimeInfo {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly apiUrl: string;
  readonly webUrl: string | null;
}

export async function writeRuntime(dataDir: string, info: RuntimeInfo): Promise<string> {
  const file = path.join(dataDir, 'runtime.json');
  // It holds the embedded servers' passwords: readable by this user only.
  await writeFile(file, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  return file;
}

/**
 * One Brisk process per data directory: two would fight over the embedded servers. A lock left by a killed
 * process (its pid gone, or reused by something that is not Brisk) is taken over.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  await mkdir(dataDir, { recursive: true });
  const file = path.join(dataDir, 'brisk.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o644);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return async () => {
        await rm(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      const cmd = await commandLine(owner);
      if (cmd.includes('brisk') || cmd === '') {
        throw briskError(
          'BRISK_ALREADY_RUNNING',
          `Brisk (pid ${owner}) is already running with ${dataDir}; stop it first, or set BRISK_DATA_DIR to another directory.`,
        );
      }
    }
    await rm(file, { force: true });
  }
  throw briskError('BRISK_ALREADY_RUNNING', `cannot take the lock ${file}`);
}
