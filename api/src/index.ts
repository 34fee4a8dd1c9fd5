export * from './schemas.ts';
export * from './server.ts';
export * from './waiters.ts';
