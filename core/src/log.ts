import { type Logger, pino } from 'pino';
import pretty from 'pino-pretty';
import type { LogLevel } from './config.ts';

export type { Logger } from 'pino';

/**
 * JSON lines (one object per line, for log shippers) unless stdout is a terminal, where a person reads them:
 * then the same records are printed as readable lines. `component` tells which stage spoke.
 */
export function createLogger(level: LogLevel, destination?: NodeJS.WritableStream): Logger {
  if (destination === undefined && process.stdout.isTTY) {
    return pino(
      { level },
      pretty({
        sync: true,
        colorize: true,
        singleLine: true,
        translateTime: 'HH:MM:ss.l',
        ignore: 'pid,hostname',
      }),
    );
  }
  return pino({ level, base: { pid: process.pid } }, destination ?? process.stdout);
}

export const silentLogger: Logger = pino({ level: 'silent' });
