export * from './backoff.ts';
export * from './config.ts';
export * from './errors.ts';
export * from './ids.ts';
export * from './log.ts';
export * from './lsn.ts';
export * from './metrics.ts';
export * from './time.ts';
