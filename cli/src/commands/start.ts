import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { briskError, type Config, formatLsn, type Logger } from '@brisk/core';
import { ensureDemoSchema } from '@brisk/legacy';
import { startWeb } from '@brisk/web';
import pg from 'pg';
import { startEmbeddedPostgres } from '../harness/postgres.ts';
import { startRedis } from '../harness/redis.ts';
import { lockDataDir, type RuntimeInfo, writeRuntime } from '../harness/runtime.ts';
import { startPipeline } from '../pipeline.ts';

/**
 * `brisk start`: the whole system on one machine. Servers that DATABASE_URL / REDIS_URL do not name are
 * started here (embedded PostgreSQL with the demo schema, redis-server with AOF); Ctrl-C stops the pipeline
 * first (so it confirms what it applied), then the servers.
 */
export async function start(config: Config, logger: Logger): Promise<number> {
  const cleanups: (() => Promise<void>)[] = [];
  const stopped = new Promise<string>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.once(signal, () => {
        logger.warn('second signal: exiting without a clean stop');
        process.exit(130);
      });
      resolve(signal);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    // The terminal closing (SSH dropped, tab closed) is a stop request too, not a reason to orphan the servers.
    process.once('SIGHUP', onSignal);
  });

  try {
    if (config.kafkaBrokers.length > 0) {
      throw briskError(
        'BRISK_CONFIG_INVALID',
        'KAFKA_BROKERS is set, but brisk start is the embedded pipeline (connector and engine in one process, no ' +
          'broker). Unset KAFKA_BROKERS, or run the scale-out processes: brisk connector, brisk engine, brisk serve.',
      );
    }
    cleanups.push(await lockDataDir(config.dataDir));
    const previous = await readPrevious(config.dataDir);

    let databaseUrl = config.databaseUrl;
    if (databaseUrl === null) {
      const postgres = await startEmbeddedPostgres({
        dataDir: path.join(config.dataDir, 'pg'),
        ...(previous?.pgPort ? { port: previous.pgPort } : {}),
        logger,
      });
      cleanups.push(postgres.stop);
      databaseUrl = postgres.url;
      // Only the embedded database is ours to shape; an existing DATABASE_URL is never altered.
      const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
      try {
        await ensureDemoSchema(pool, config.source, logger);
      } finally {
        await pool.end();
      }
    }
    let redisUrl = config.redisUrl;
    if (redisUrl === null) {
      const redis = await startRedis({
        dir: path.join(config.dataDir, 'redis'),
        ...(previous?.redisPort ? { port: previous.redisPort } : {}),
        logger,
      });
      cleanups.push(redis.stop);
      redisUrl = redis.url;
    }

    const pipeline = await startPipeline({ config, databaseUrl, redisUrl, logger });
    cleanups.push(pipeline.stop);
    // The storefront reaches the API this process just bound (API_PORT may be 0), not BRISK_API_URL. It is
    // stopped before the pipeline (cleanups run in reverse), so its open streams end before the API closes.
    const web = await startWeb({
      host: config.web.host,
      port: config.web.port,
      apiUrl: pipeline.apiUrl,
      apiToken: config.api.token,
      databaseUrl,
      sessionSecret: config.web.sessionSecret,
      budgetMs: config.web.budgetMs,
      logger,
    });
    cleanups.push(web.close);
    const runtime: RuntimeInfo = { databaseUrl, redisUrl, apiUrl: pipeline.apiUrl, webUrl: web.url };
    const file = await writeRuntime(config.dataDir, runtime);
    process.stdout.write(
      `\nBrisk is streaming (slot ${config.source.slot} at ${formatLsn(pipeline.connector.confirmedLsn ?? 0)}).\n` +
        `  storefront    ${runtime.webUrl}/login?user=user-1   (dashboard: ${runtime.webUrl}/live)\n` +
        `  feature API   ${runtime.apiUrl}/api/v1/features/user/user-1\n` +
        `  PostgreSQL    psql '${runtime.databaseUrl}'\n` +
        `  Redis         redis-cli -u '${runtime.redisUrl}'\n` +
        `  written to    ${file}\n${JSON.stringify(runtime)}\n\n`,
    );

    const outcome = await Promise.race([stopped, pipeline.failed]);
    logger.info({ signal: outcome }, 'stopping: pipeline first, then the servers');
    return 0;
  } catch (error) {
    logger.fatal({ err: error }, (error as Error).message);
    return 1;
  } finally {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: unknown) => logger.error({ err: error }, 'cleanup step failed'));
    }
    logger.info('stopped');
  }
}

async function readPrevious(dataDir: string): Promise<{ pgPort?: number; redisPort?: number } | null> {
  try {
    const info = JSON.parse(
      await readFile(path.join(dataDir, 'runtime.json'), 'utf8'),
    ) as Partial<RuntimeInfo>;
    const port = (url: string | undefined) => (url ? Number(new URL(url).port) || undefined : undefined);
    return {
      ...(port(info.databaseUrl) ? { pgPort: port(info.databaseUrl)! } : {}),
      ...(port(info.redisUrl) ? { redisPort: port(info.redisUrl)! } : {}),
    };
  } catch {
    return null;
  }
}
