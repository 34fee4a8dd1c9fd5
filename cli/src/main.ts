import { createLogger, isBriskError, loadConfig } from '@brisk/core';
import { start } from './commands/start.ts';

const USAGE = `Usage: brisk <command> [options]

Commands:
  start      Run everything on this machine: embedded PostgreSQL (unless DATABASE_URL), redis-server
             (unless REDIS_URL), the CDC connector, the feature engine, the feature API and the storefront.
  connector  Scale-out: stream the slot's changes to Kafka as Debezium JSON (DATABASE_URL, KAFKA_BROKERS).
  engine     Scale-out: consume change events as one consumer group, write features to Redis
             (REDIS_URL, KAFKA_BROKERS). Run as many as there are partitions to share.
  serve      Serve the feature API from Redis with its own L1, following every engine's changes (REDIS_URL).
  web        Serve the storefront in front of a feature API (BRISK_API_URL, DATABASE_URL for clicks).
  simulate   Write simulated legacy traffic through the MyBatis mapper (brisk simulate --help).
  bench      Run a benchmark: brisk bench e2e|engine|kafka|web.
  help       Show this text.

Configuration is read from the environment; see the README's configuration table.`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    process.stderr.write(`${isBriskError(error) ? `${error.code}: ` : ''}${(error as Error).message}\n`);
    return 2;
  }
  const logger = createLogger(config.logLevel);
  switch (command) {
    case 'start':
      return start(config, logger);
    case 'connector':
    case 'engine':
    case 'serve':
    case 'web': {
      const commands = await import('./commands/processes.ts');
      if (command === 'connector') return commands.connectorCommand(config, logger);
      if (command === 'engine') return commands.engineCommand(config, logger);
      if (command === 'web') return commands.webCommand(config, logger);
      return commands.serveCommand(config, logger);
    }
    case 'bench': {
      const { benchCommand } = await import('./commands/processes.ts');
      return benchCommand(rest);
    }
    case 'simulate': {
      const { simulateCommand } = await import('./commands/simulate.ts');
      return simulateCommand(config, logger, rest);
    }
    default:
      process.stderr.write(`unknown command '${command}'\n\n${USAGE}\n`);
      return 2;
  }
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything is closed by now; a stray handle (a driver's timer) must not keep a stopped Brisk alive.
setTimeout(() => process.exit(code), 2_000).unref();
