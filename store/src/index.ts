export * from './codec.ts';
export * from './keys.ts';
export * from './l1.ts';
export * from './redis-store.ts';
