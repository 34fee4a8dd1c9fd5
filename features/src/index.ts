export * from './activity.ts';
export * from './compute.ts';
export * from './definitions.ts';
export * from './engine.ts';
export * from './ports.ts';
export * from './state.ts';
