import { briskError, type Logger, type Lsn, parseLsn } from '@brisk/core';
import pg, { escapeIdentifier } from 'pg';
import { buildEvent, buildSource, type ChangeEvent, type EnvelopeOptions, type Row } from './envelope.ts';
import type { TableName } from './preflight.ts';
import { classify } from './replication.ts';
import { toDebeziumValue } from './values.ts';

/**
 * The initial snapshot (Debezium's snapshot.mode=initial): the slot is created over the replication protocol
 * with an exported snapshot, and the rows that existed at its consistent point are read in a transaction that
 * imports that snapshot. Streaming then starts exactly where the snapshot ends: a transaction is either in the
 * snapshot (committed before the consistent point) or in the stream (committed after), never both, never
 * neither. Rows are handed over as `op: "r"` events in chunks, each awaited, so memory stays bounded.
 */
export interface SnapshotSlot {
  readonly consistentPoint: Lsn;
  readonly snapshotName: string;
  /** Ends the exporting connection; the snapshot must have been imported before. */
  close(): Promise<void>;
}

const SLOT_NAME = /^[a-z0-9_]{1,63}$/;
const SNAPSHOT_NAME = /^[0-9A-F]+-[0-9A-F]+(-[0-9A-F]+)?$/i;

export async function createSlotWithSnapshot(connectionString: string, slot: string): Promise<SnapshotSlot> {
  if (!SLOT_NAME.test(slot)) throw new TypeError(`invalid slot name '${slot}'`);
  const client = new pg.Client({
    connectionString,
    replication: 'database',
    application_name: 'brisk-snapshot',
  } as pg.ClientConfig);
  client.on('error', () => {});
  try {
    await client.connect();
    // The pre-15 spelling, which every server from 10 on accepts.
    const result = await client.query(`CREATE_REPLICATION_SLOT "${slot}" LOGICAL pgoutput EXPORT_SNAPSHOT`);
    const row = result.rows[0] as { consistent_point: string; snapshot_name: string };
    return {
      consistentPoint: parseLsn(row.consistent_point),
      snapshotName: row.snapshot_name,
      close: () => client.end().catch(() => {}),
    };
  } catch (error) {
    await client.end().catch(() => {});
    throw classify(error);
  }
}

export interface SnapshotReadOptions {
  readonly connectionString: string;
  readonly slot: SnapshotSlot;
  readonly activity: TableName;
  /** Only activity rows newer than this (microseconds): older ones would be dropped by retention at once. */
  readonly activitySinceUs: number;
  /** The catalogue, when it is published (its changes then stream; its current rows come from here). */
  readonly catalogue: TableName | null;
  readonly envelope: EnvelopeOptions;
  readonly chunkRows?: number;
  /** Receives each chunk; the next is read only once it resolves (the chunk is durable). */
  readonly onChunk: (events: ChangeEvent[]) => Promise<void>;
  readonly log: Logger;
}

export async function readSnapshot(
  options: SnapshotReadOptions,
): Promise<{ activityRows: number; products: number }> {
  if (!SNAPSHOT_NAME.test(options.slot.snapshotName)) {
    throw briskError('BRISK_PGOUTPUT_PROTOCOL', `unexpected snapshot name '${options.slot.snapshotName}'`);
  }
  const client = new pg.Client({
    connectionString: options.connectionString,
    application_name: 'brisk-snapshot',
    options: '-c TimeZone=UTC -c DateStyle=ISO -c extra_float_digits=3',
  });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    // SET TRANSACTION SNAPSHOT takes no parameters; the name was checked against its only shape above.
    await client.query(`SET TRANSACTION SNAPSHOT '${options.slot.snapshotName}'`);
    await options.slot.close();
    const products =
      options.catalogue === null
        ? 0
        : await readTable(client, options, options.catalogue, '', [], 'the catalogue');
    const activityRows = await readTable(
      client,
      options,
      options.activity,
      'WHERE activity_timestamp > $1',
      [new Date(Math.floor(options.activitySinceUs / 1000)).toISOString()],
      'activity rows',
    );
    await client.query('COMMIT');
    return { activityRows, products };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw classify(error);
  } finally {
    await client.end().catch(() => {});
  }
}

async function readTable(
  client: pg.Client,
  options: SnapshotReadOptions,
  table: TableName,
  where: string,
  values: unknown[],
  what: string,
): Promise<number> {
  const qualified = `${escapeIdentifier(table.schema)}.${escapeIdentifier(table.table)}`;
  const estimate = await client.query<{ rows: number }>(
    `SELECT greatest(reltuples, 0)::float8 AS rows FROM pg_class WHERE oid = $1::regclass`,
    [qualified],
  );
  const expected = estimate.rows[0]?.rows ?? 0;
  const chunk = options.chunkRows ?? 2000;
  const cursor = `brisk_snapshot_${table.table}`;
  await client.query(
    `DECLARE ${escapeIdentifier(cursor)} NO SCROLL CURSOR FOR SELECT * FROM ${qualified} ${where}`,
    values,
  );
  const started = Date.now();
  let lastReport = started;
  let total = 0;
  for (;;) {
    // Raw text for every column: the same values the stream carries, converted by the same code.
    const result = await client.query({
      text: `FETCH ${chunk} FROM ${escapeIdentifier(cursor)}`,
      types: { getTypeParser: () => (text: string) => text },
    });
    if (result.rows.length === 0) break;
    const events = result.rows.map((raw: Record<string, string | null>) =>
      snapshotEvent(raw, result.fields, table, options),
    );
    await options.onChunk(events);
    total += events.length;
    if (Date.now() - lastReport > 2_000) {
      lastReport = Date.now();
      const percent = expected > 0 ? Math.min(99, Math.round((total / expected) * 100)) : null;
      options.log.info(
        { table: `${table.schema}.${table.table}`, rows: total, ...(percent === null ? {} : { percent }) },
        `initial snapshot: reading ${what}`,
      );
    }
  }
  await client.query(`CLOSE ${escapeIdentifier(cursor)}`);
  options.log.info(
    { table: `${table.schema}.${table.table}`, rows: total, ms: Date.now() - started },
    `initial snapshot: ${what} read`,
  );
  return total;
}

function snapshotEvent(
  raw: Record<string, string | null>,
  fields: readonly pg.FieldDef[],
  table: TableName,
  options: SnapshotReadOptions,
): ChangeEvent {
  const row: Row = {};
  for (const field of fields) {
    row[field.name] = toDebeziumValue(
      raw[field.name] ?? null,
      field.dataTypeID,
      field.dataTypeModifier,
      options.envelope,
    );
  }
  const nowUs = options.envelope.nowUs();
  const source = buildSource(
    table,
    { xid: 0, commitTimeUs: nowUs, lastCommitLsn: null },
    options.slot.consistentPoint,
    options.envelope,
    'true',
  );
  return buildEvent('r', null, row, source, options.envelope);
}
