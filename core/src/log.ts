import { type Logger, pino } from 'pino';
import type { LogLevel } from './config.ts';

export type { Logger } from 'pino';

/** JSON lines on stdout; `component` tells which stage spoke. */
export function createLogger(level: LogLevel, destination?: NodeJS.WritableStream): Logger {
  return pino({ level, base: { pid: process.pid } }, destination ?? process.stdout);
}

export const silentLogger: Logger = pino({ level: 'silent' });
