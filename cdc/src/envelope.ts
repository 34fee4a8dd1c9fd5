import type { Lsn } from '@brisk/core';
import type { Column, Relation, Tuple } from './pgoutput.ts';
import { type JsonValue, toDebeziumValue, type ValueOptions } from './values.ts';

/**
 * Debezium PostgreSQL change events (debezium/debezium documentation/.../connectors/postgresql.adoc), the
 * one format that crosses every stage boundary: embedded mode hands these objects to the engine in memory,
 * Kafka mode serialises them, and the engine also accepts those written by a real Debezium connector.
 */
export type DebeziumOp = 'c' | 'u' | 'd' | 'r' | 't' | 'm';
export type Row = Record<string, JsonValue>;

export interface DebeziumSource {
  version: string;
  connector: 'postgresql';
  /** The topic prefix (Debezium's `topic.prefix`). */
  name: string;
  /** Commit time of the transaction, milliseconds. */
  ts_ms: number;
  snapshot:
    | 'true'
    | 'first'
    | 'first_in_data_collection'
    | 'last_in_data_collection'
    | 'last'
    | 'false'
    | 'incremental';
  db: string;
  /** JSON array of two stringified LSNs: [last commit LSN before this transaction, this change's LSN]. */
  sequence: string;
  ts_us: number;
  ts_ns: number;
  schema: string;
  table: string;
  txId: number | null;
  /** LSN of this change (a WAL byte position). */
  lsn: number | null;
  xmin: number | null;
}

export interface ChangeEvent {
  before: Row | null;
  after: Row | null;
  source: DebeziumSource;
  op: DebeziumOp;
  /** When the connector processed the event (not the commit: that is source.ts_ms). */
  ts_ms: number;
  ts_us: number;
  ts_ns: number;
}

/** A change with the Kafka message key Debezium would give it: the primary key columns, or null (truncate). */
export interface SourceChange {
  readonly key: Row | null;
  readonly event: ChangeEvent;
  /** The table's columns as decoded (types, key flags): what a Kafka Connect schema for the event describes. */
  readonly columns?: readonly Column[];
}

export const CONNECTOR_VERSION = 'brisk-0.1.0';

export interface TransactionContext {
  readonly xid: number;
  readonly commitTimeUs: number;
  /** Commit LSN of the transaction decoded before this one (Debezium's lastCommitLsn). */
  readonly lastCommitLsn: Lsn | null;
}

export interface EnvelopeOptions extends ValueOptions {
  readonly topicPrefix: string;
  readonly database: string;
  readonly nowUs: () => number;
}

export function rowFromTuple(relation: Relation, tuple: Tuple, options: ValueOptions, keyOnly = false): Row {
  const row: Row = {};
  const { columns } = relation;
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i]!;
    // Under REPLICA IDENTITY DEFAULT a delete carries only the key; Debezium then reports the rest as null.
    row[column.name] =
      keyOnly && !column.isKey ? null : toDebeziumValue(tuple[i]!, column.typeOid, column.typeMod, options);
  }
  return row;
}

export function keyFromRow(relation: Relation, row: Row | null): Row | null {
  if (row === null) return null;
  const key: Row = {};
  let any = false;
  for (const column of relation.columns) {
    if (column.isKey) {
      key[column.name] = row[column.name] ?? null;
      any = true;
    }
  }
  return any ? key : null;
}

export function buildSource(
  relation: Pick<Relation, 'schema' | 'table'>,
  tx: TransactionContext,
  lsn: Lsn | null,
  options: EnvelopeOptions,
  snapshot: DebeziumSource['snapshot'] = 'false',
): DebeziumSource {
  const commitMs = Math.floor(tx.commitTimeUs / 1000);
  return {
    version: CONNECTOR_VERSION,
    connector: 'postgresql',
    name: options.topicPrefix,
    ts_ms: commitMs,
    snapshot,
    db: options.database,
    // Built by hand: this runs once per event, and both elements are digits or null.
    sequence: `[${tx.lastCommitLsn === null ? 'null' : `"${tx.lastCommitLsn}"`},${lsn === null ? 'null' : `"${lsn}"`}]`,
    ts_us: tx.commitTimeUs,
    // ts_ns exceeds 2^53: this number is approximate (±256 ns); serialisers write the exact `${ts_us}000`.
    ts_ns: tx.commitTimeUs * 1000,
    schema: relation.schema,
    table: relation.table,
    txId: tx.xid,
    lsn,
    xmin: null,
  };
}

export function buildEvent(
  op: DebeziumOp,
  before: Row | null,
  after: Row | null,
  source: DebeziumSource,
  options: EnvelopeOptions,
): ChangeEvent {
  const nowUs = options.nowUs();
  return { before, after, source, op, ts_ms: Math.floor(nowUs / 1000), ts_us: nowUs, ts_ns: nowUs * 1000 };
}
