import { briskError, type Logger, type Lsn, parseLsn } from '@brisk/core';
import type pg from 'pg';
import { classify } from './replication.ts';

/**
 * Checks that a PostgreSQL server can feed Brisk, before any slot is touched, and says exactly what SQL or
 * configuration fixes each problem. Brisk never changes a user's schema, publication or settings itself.
 */
export interface SourceSpec {
  readonly schema: string;
  readonly table: string;
  readonly publication: string;
  readonly slot: string;
}

export interface TableName {
  readonly schema: string;
  readonly table: string;
}

/** How the catalogue reaches Brisk: through the slot, by read-only lookups, or not at all. */
export type CatalogueSource = 'published' | 'unpublished' | 'missing';

export interface PreflightReport {
  readonly serverVersion: number;
  readonly replicaIdentity: 'default' | 'nothing' | 'full' | 'index';
  readonly database: string;
  readonly catalogue: CatalogueSource;
}

/** Columns of the seed's user_activity table that the engine reads. */
export const ACTIVITY_COLUMNS = [
  'id',
  'user_id',
  'activity_type',
  'product_id',
  'activity_timestamp',
] as const;

type Queryable = Pick<pg.Pool, 'query'>;

const IDENTITY: Record<string, PreflightReport['replicaIdentity']> = {
  d: 'default',
  n: 'nothing',
  f: 'full',
  i: 'index',
};

export async function preflight(
  db: Queryable,
  spec: SourceSpec,
  log?: Logger,
  catalogueTable?: TableName,
): Promise<PreflightReport> {
  const qualified = `${spec.schema}.${spec.table}`;
  const settings = await query(
    db,
    `SELECT current_setting('wal_level') AS wal_level,
            current_setting('server_version_num')::int AS version,
            current_database() AS database,
            r.rolreplication OR r.rolsuper AS can_replicate,
            current_user AS role
       FROM pg_roles r WHERE r.rolname = current_user`,
    [],
  );
  const server = settings[0] as
    | { wal_level: string; version: number; database: string; can_replicate: boolean; role: string }
    | undefined;
  if (!server) throw briskError('BRISK_PG_PRIVILEGE', 'cannot read pg_roles for the current user');
  if (server.wal_level !== 'logical') {
    throw briskError(
      'BRISK_PG_WAL_LEVEL',
      `wal_level is '${server.wal_level}', logical decoding needs 'logical'. Run: ALTER SYSTEM SET wal_level = logical; ` +
        'then restart PostgreSQL (or set wal_level = logical in postgresql.conf).',
    );
  }
  if (server.version < 100000) {
    throw briskError(
      'BRISK_PG_WAL_LEVEL',
      `PostgreSQL ${server.version} has no pgoutput; Brisk needs 10 or newer.`,
    );
  }
  if (!server.can_replicate) {
    throw briskError(
      'BRISK_PG_PRIVILEGE',
      `role '${server.role}' may not stream changes. Run: ALTER ROLE "${server.role}" WITH REPLICATION; ` +
        '(managed services have their own grant, e.g. rds_replication).',
    );
  }

  const tables = await query(
    db,
    `SELECT c.relreplident AS identity, array_agg(a.attname::text) AS columns
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')
      GROUP BY c.relreplident`,
    [spec.schema, spec.table],
  );
  const table = tables[0] as { identity: string; columns: string[] } | undefined;
  if (!table) {
    throw briskError(
      'BRISK_PG_TABLE_MISSING',
      `table ${qualified} does not exist in database '${server.database}'. Point DATABASE_URL at the application's ` +
        'database, or set BRISK_SOURCE_TABLE=schema.table.',
    );
  }
  const missing = ACTIVITY_COLUMNS.filter((c) => !table.columns.includes(c));
  if (missing.length > 0) {
    throw briskError(
      'BRISK_PG_TABLE_MISSING',
      `table ${qualified} lacks column(s) ${missing.join(', ')}; Brisk expects the seed schema ` +
        `(${ACTIVITY_COLUMNS.join(', ')}).`,
    );
  }

  const publications = await query(
    db,
    `SELECT p.puballtables AS all_tables, p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate,
            EXISTS (SELECT 1 FROM pg_publication_tables t
                     WHERE t.pubname = p.pubname AND t.schemaname = $2 AND t.tablename = $3) AS has_table
       FROM pg_publication p WHERE p.pubname = $1`,
    [spec.publication, spec.schema, spec.table],
  );
  const publication = publications[0] as
    | { has_table: boolean; pubinsert: boolean; pubupdate: boolean; pubdelete: boolean; pubtruncate: boolean }
    | undefined;
  if (!publication) {
    throw briskError(
      'BRISK_PG_PUBLICATION_MISSING',
      `publication '${spec.publication}' does not exist. Run: CREATE PUBLICATION ${spec.publication} FOR TABLE ${qualified};`,
    );
  }
  if (!publication.has_table) {
    throw briskError(
      'BRISK_PG_TABLE_NOT_PUBLISHED',
      `publication '${spec.publication}' does not include ${qualified}. Run: ALTER PUBLICATION ${spec.publication} ADD TABLE ${qualified};`,
    );
  }
  const unpublished = (['insert', 'update', 'delete', 'truncate'] as const).filter(
    (op) => !publication[`pub${op}`],
  );
  if (unpublished.length > 0) {
    log?.warn(
      { publication: spec.publication, unpublished },
      `publication does not publish ${unpublished.join(', ')}: those changes never reach Brisk. ` +
        `Run: ALTER PUBLICATION ${spec.publication} SET (publish = 'insert, update, delete, truncate');`,
    );
  }

  const replicaIdentity = IDENTITY[table.identity] ?? 'default';
  if (replicaIdentity !== 'full') {
    log?.info(
      { table: qualified, replicaIdentity },
      'DELETEs carry only the primary key; Brisk finds the owning user through its row index. ' +
        `For full old rows (and no index lookups): ALTER TABLE ${qualified} REPLICA IDENTITY FULL;`,
    );
  }
  const catalogue =
    catalogueTable === undefined ? 'missing' : await catalogueSource(db, spec, catalogueTable);
  if (catalogueTable !== undefined && catalogue !== 'published') {
    const name = `${catalogueTable.schema}.${catalogueTable.table}`;
    log?.info(
      { table: name, catalogue },
      catalogue === 'missing'
        ? 'no catalogue table: categories, prices and embeddings are unknown (set BRISK_CATALOGUE_TABLE if it has another name)'
        : `catalogue not published: products are looked up read-only and re-read every 10 min. For live changes: ALTER PUBLICATION ${spec.publication} ADD TABLE ${name};`,
    );
  }
  return { serverVersion: server.version, replicaIdentity, database: server.database, catalogue };
}

async function catalogueSource(db: Queryable, spec: SourceSpec, table: TableName): Promise<CatalogueSource> {
  const rows = await query(
    db,
    `SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = $2 AND c.relname = $3 AND c.relkind IN ('r', 'p')) AS present,
            EXISTS (SELECT 1 FROM pg_publication_tables
                     WHERE pubname = $1 AND schemaname = $2 AND tablename = $3) AS published`,
    [spec.publication, table.schema, table.table],
  );
  const row = rows[0] as { present: boolean; published: boolean } | undefined;
  if (!row?.present) return 'missing';
  return row.published ? 'published' : 'unpublished';
}

export interface SlotInfo {
  readonly created: boolean;
  readonly confirmedFlushLsn: Lsn | null;
}

/** The slot if it exists, checked to be a pgoutput slot of this database; null when there is none. */
export async function inspectSlot(db: Queryable, slot: string): Promise<SlotInfo | null> {
  const existing = await query(
    db,
    `SELECT plugin, slot_type, database, confirmed_flush_lsn::text AS confirmed, current_database() AS current
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const row = existing[0] as
    | {
        plugin: string | null;
        slot_type: string;
        database: string | null;
        confirmed: string | null;
        current: string;
      }
    | undefined;
  if (!row) return null;
  if (row.slot_type !== 'logical' || row.plugin !== 'pgoutput' || row.database !== row.current) {
    throw briskError(
      'BRISK_SLOT_MISMATCH',
      `slot '${slot}' exists as a ${row.slot_type} slot (plugin ${row.plugin ?? 'none'}, database ${row.database ?? 'none'}); ` +
        `Brisk needs a pgoutput slot in '${row.current}'. Set BRISK_SLOT to another name, or drop it: ` +
        `SELECT pg_drop_replication_slot('${slot}');`,
    );
  }
  return { created: false, confirmedFlushLsn: row.confirmed === null ? null : parseLsn(row.confirmed) };
}

/**
 * Creates the slot if it is missing, like Debezium with slot.drop.on.stop=false: the slot outlives every Brisk
 * process so changes committed while none runs are kept for the next one.
 */
export async function ensureSlot(db: Queryable, slot: string): Promise<SlotInfo> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const existing = await inspectSlot(db, slot);
    if (existing) return existing;
    try {
      const created = await db.query(
        `SELECT lsn::text AS lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')`,
        [slot],
      );
      const lsn = (created.rows[0] as { lsn: string } | undefined)?.lsn;
      return { created: true, confirmedFlushLsn: lsn ? parseLsn(lsn) : null };
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === '42710') continue; // created concurrently by another process: read it back
      if (code === '53400') {
        throw briskError(
          'BRISK_PG_SLOTS_EXHAUSTED',
          `no free replication slot for '${slot}': raise max_replication_slots in postgresql.conf and restart, ` +
            'or drop an unused slot (SELECT slot_name, active FROM pg_replication_slots;).',
          error,
        );
      }
      throw classify(error);
    }
  }
  throw briskError('BRISK_SLOT_MISMATCH', `slot '${slot}' could not be created or read`);
}

/** Drops a slot Brisk created and never streamed from (an interrupted initial snapshot). */
export async function dropSlot(db: Queryable, slot: string): Promise<void> {
  await query(db, 'SELECT pg_drop_replication_slot($1)', [slot]);
}

/** WAL the slot holds back, in bytes; null when the server cannot say (e.g. a standby). */
export async function slotLagBytes(db: Queryable, slot: string): Promise<number | null> {
  const rows = await query(
    db,
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::float8 AS lag
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const lag = (rows[0] as { lag: number | null } | undefined)?.lag;
  return lag ?? null;
}

async function query(db: Queryable, text: string, values: unknown[]): Promise<unknown[]> {
  try {
    return (await db.query(text, values)).rows;
  } catch (error) {
    throw classify(error);
  }
}
