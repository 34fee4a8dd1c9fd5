export * from './server.ts';
export * from './waiters.ts';
