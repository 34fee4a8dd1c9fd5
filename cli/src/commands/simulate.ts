import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { briskError, type Config, type Logger } from '@brisk/core';
import {
  demoCatalogue,
  loadMapper,
  PRODUCT_MAPPER_PATH,
  type Product,
  simulate,
  USER_ACTIVITY_MAPPER_PATH,
} from '@brisk/legacy';
import pg from 'pg';
import type { RuntimeInfo } from '../harness/runtime.ts';

const HELP = `Usage: brisk simulate [--users N] [--rate EVENTS_PER_S] [--duration SECONDS | --count N]

Writes legacy traffic through UserActivityMapper.xml (insertActivity), the way the legacy application does:
users user-1..user-N (mildly skewed), Zipf-popular products from the product table, 70% views, 20% clicks,
7% add-to-cart, 3% purchases. Targets DATABASE_URL, else the embedded database of a running \`brisk start\`
(read from <BRISK_DATA_DIR>/runtime.json). Runs until Ctrl-C unless --duration or --count is given.

  --users      number of distinct users (default 1000)
  --rate       events per second (default 200)
  --duration   stop after this many seconds
  --count      stop after this many events`;

export async function simulateCommand(
  config: Config,
  logger: Logger,
  argv: readonly string[],
): Promise<number> {
  let options: { users: number; rate: number; durationMs?: number; count?: number };
  try {
    options = parse(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${HELP}\n`);
    return 2;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const databaseUrl = config.databaseUrl ?? (await runtimeDatabaseUrl(config.dataDir));
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 32 });
  pool.on('error', (error) => logger.warn({ err: error }, 'database connection failed'));
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  try {
    const mapper = await loadMapper(USER_ACTIVITY_MAPPER_PATH);
    const products = await catalogue(pool, logger);
    process.stdout.write(
      `simulating ${options.users} users over ${products.length} products at ${options.rate} events/s` +
        `${options.durationMs ? ` for ${options.durationMs / 1000} s` : options.count ? ` for ${options.count} events` : ' (Ctrl-C stops)'}\n`,
    );
    const result = await simulate({
      db: pool,
      mapper,
      products,
      users: options.users,
      ratePerSecond: options.rate,
      signal: abort.signal,
      ...(options.durationMs ? { durationMs: options.durationMs } : {}),
      ...(options.count ? { count: options.count } : {}),
      onProgress: (progress) => process.stdout.write(`  ${JSON.stringify(progress)}\n`),
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return result.failed > 0 && result.written === 0 ? 1 : 0;
  } catch (error) {
    logger.error({ err: error }, (error as Error).message);
    return 1;
  } finally {
    await pool.end();
  }
}

function parse(argv: readonly string[]) {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      users: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      count: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const positive = (name: string, raw: string | undefined, fallback?: number) => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0)
      throw new Error(`--${name} must be a positive number (got '${raw}')`);
    return value;
  };
  const duration = positive('duration', values.duration);
  const count = positive('count', values.count);
  return {
    users: Math.round(positive('users', values.users, 1000)!),
    rate: positive('rate', values.rate, 200)!,
    ...(duration ? { durationMs: duration * 1000 } : {}),
    ...(count ? { count: Math.round(count) } : {}),
  };
}

async function runtimeDatabaseUrl(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'runtime.json');
  try {
    return (JSON.parse(await readFile(file, 'utf8')) as RuntimeInfo).databaseUrl;
  } catch {
    throw briskError(
      'BRISK_CONFIG_INVALID',
      `DATABASE_URL is not set and ${file} does not exist: start Brisk first (npm start) or set DATABASE_URL`,
    );
  }
}

/** Products as the legacy application sees them (ProductMapper); the built-in catalogue if there is none. */
async function catalogue(pool: pg.Pool, logger: Logger): Promise<Pick<Product, 'id'>[]> {
  try {
    const mapper = await loadMapper(PRODUCT_MAPPER_PATH);
    const { rows } = await mapper.run<Product>(pool, 'selectAllProducts', {});
    if (rows.length > 0) return rows;
  } catch (error) {
    logger.warn({ err: error }, 'cannot read the product table; simulating the built-in demo catalogue');
  }
  return demoCatalogue();
}
