export * from './catalogue-lookup.ts';
export * from './connector.ts';
export * from './envelope.ts';
export * from './pgoutput.ts';
export * from './preflight.ts';
export * from './replication.ts';
export * from './snapshot.ts';
export * from './values.ts';
