export * from './catalogue.ts';
export * from './mapper.ts';
export * from './random.ts';
export * from './schema.ts';
export * from './simulate.ts';
