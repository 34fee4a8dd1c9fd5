export * from './postgres.ts';
export * from './process.ts';
export * from './redis.ts';
export * from './runtime.ts';
