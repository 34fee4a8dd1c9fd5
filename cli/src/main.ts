import { createLogger, isBriskError, loadConfig } from '@brisk/core';
import { start } from './commands/start.ts';

const USAGE = `Usage: brisk <command> [options]

Commands:
  start      Run everything on this machine: embedded PostgreSQL (unless DATABASE_URL), redis-server
             (unless REDIS_URL), the CDC connector, the feature engine and the feature API.
  simulate   Write simulated legacy traffic through the MyBatis mapper (brisk simulate --help).
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
