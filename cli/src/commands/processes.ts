import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Config, Logger } from '@brisk/core';
import { type Running, requireSettings, startKafkaConnector, startKafkaEngine } from '../scale-out.ts';
import { startServing } from '../serve.ts';

/** Runs one long-lived process until SIGINT/SIGTERM (clean stop) or an error retrying cannot fix (exit 1). */
async function runUntilStopped(what: string, logger: Logger, start: () => Promise<Running>): Promise<number> {
  const stopped = new Promise<string>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
      process.once(signal, () => resolve(signal));
  });
  let running: Running;
  try {
    running = await start();
  } catch (error) {
    logger.fatal({ err: error }, (error as Error).message);
    return 1;
  }
  logger.info(`${what} running`);
  try {
    const signal = await Promise.race([stopped, running.failed]);
    logger.info({ signal }, `stopping ${what}`);
    return 0;
  } catch (error) {
    logger.fatal({ err: error }, (error as Error).message);
    return 1;
  } finally {
    await running.stop().catch((error: unknown) => logger.error({ err: error }, 'stop failed'));
  }
}

export function connectorCommand(config: Config, logger: Logger): Promise<number> {
  return runUntilStopped('connector', logger, () => startKafkaConnector({ config, logger }));
}

export function engineCommand(config: Config, logger: Logger): Promise<number> {
  return runUntilStopped('engine', logger, () => startKafkaEngine({ config, logger }));
}

export function serveCommand(config: Config, logger: Logger): Promise<number> {
  return runUntilStopped('serve', logger, async () => {
    requireSettings('serve', { REDIS_URL: config.redisUrl });
    const serving = await startServing({ config, redisUrl: config.redisUrl!, logger });
    // Printed as one JSON line, like `brisk start`, so scripts and tests can find the bound port.
    process.stdout.write(`${JSON.stringify({ apiUrl: serving.apiUrl })}\n`);
    return { failed: new Promise<never>(() => {}), stop: serving.stop };
  });
}

/**
 * `brisk web`: the storefront alone, in front of a feature API (BRISK_API_URL: a `brisk serve` instance or a
 * load balancer) and the legacy database its clicks are written to (DATABASE_URL).
 */
export function webCommand(config: Config, logger: Logger): Promise<number> {
  return runUntilStopped('web', logger, async () => {
    requireSettings('web', { DATABASE_URL: config.databaseUrl });
    const { startWeb } = await import('@brisk/web');
    const web = await startWeb({
      host: config.web.host,
      port: config.web.port,
      apiUrl: config.web.apiUrl,
      apiToken: config.api.token,
      databaseUrl: config.databaseUrl!,
      sessionSecret: config.web.sessionSecret,
      budgetMs: config.web.budgetMs,
      logger,
    });
    process.stdout.write(`${JSON.stringify({ webUrl: web.url })}\n`);
    return { failed: new Promise<never>(() => {}), stop: web.close };
  });
}

const BENCHMARKS = ['e2e', 'engine', 'kafka', 'web'] as const;

/** `brisk bench <name>`: the repository's benchmark scripts, which print a table and write bench/results/. */
export function benchCommand(args: readonly string[]): Promise<number> {
  const name = args[0] ?? 'e2e';
  if (!(BENCHMARKS as readonly string[]).includes(name)) {
    process.stderr.write(`unknown benchmark '${name}'; one of: ${BENCHMARKS.join(', ')}\n`);
    return Promise.resolve(2);
  }
  const script = path.resolve(import.meta.dirname, '../../../bench', `${name}.ts`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args.slice(1)], {
      stdio: 'inherit',
    });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}
