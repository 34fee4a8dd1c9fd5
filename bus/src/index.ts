export * from './debezium-json.ts';
export * from './in-process.ts';
export * from './kafka-sink.ts';
export * from './kafka-source.ts';
