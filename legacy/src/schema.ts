/**
 * !!! DEMO AND EMBEDDED DATABASES ONLY !!!
 *
 * Brisk NEVER alters a user's existing database: pointed at a real application's PostgreSQL it only reads
 * (preflight checks, a replication slot) and reports what is missing. This module creates tables, an index,
 * a publication and catalogue rows, so it exists for the embedded PostgreSQL that `brisk start` launches and
 * for demo or test databases. Nothing in here runs on its own; the caller decides when to call it.
 */
import { type Logger, silentLogger } from '@brisk/core';
import pg, { escapeIdentifier } from 'pg';
import { demoCatalogue } from './catalogue.ts';
import { loadMapper, type Mapper, PRODUCT_MAPPER_PATH } from './mapper.ts';

export interface DemoSchemaTarget {
  /** Lower-case identifiers as validated by loadConfig (config.source). */
  readonly schema: string;
  readonly table: string;
  readonly publication: string;
}

/** What this call changed; all false and 0 when the schema was already in place. */
export interface DemoSchemaReport {
  readonly createdTable: boolean;
  readonly createdPublication: boolean;
  readonly productsLoaded: number;
}

/**
 * Every brisk process that may set up the demo schema takes this lock first, so two processes starting at
 * once do not both run CREATE TABLE (IF NOT EXISTS still races on the catalog) or both load the catalogue.
 * The value is arbitrary, only shared: 'BRISK' in ASCII.
 */
const DEMO_SCHEMA_LOCK = 0x42_52_49_53_4b;

/**
 * Creates, where absent, the seed's activity table `<schema>.<table>` with an index for per-user reads, the
 * `<schema>.product` catalogue table, and the publication; loads the demo catalogue into an empty product
 * table through ProductMapper. One transaction, so a failure leaves nothing half made; safe to call again.
 *
 * `db` may be a Pool (a connection is checked out for the transaction) or a single Client / PoolClient.
 * The seed's mappers name `user_activity` and `product` without a schema, as the legacy application does, so
 * whoever runs them (the simulator) needs a connection whose search_path starts at `schema`, and `table`
 * must be `user_activity` for the seed's insert to land in it.
 */
export async function ensureDemoSchema(
  db: pg.Pool | pg.ClientBase,
  target: DemoSchemaTarget,
  log: Logger = silentLogger,
): Promise<DemoSchemaReport> {
  if (!(db instanceof pg.Pool)) return inTransaction(db, target, log);
  const client = await db.connect();
  let failure: Error | undefined;
  try {
    return await inTransaction(client, target, log);
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    // A connection that failed mid-transaction may be in any state; the pool discards it instead of reusing it.
    client.release(failure);
  }
}

async function inTransaction(
  client: pg.ClientBase,
  target: DemoSchemaTarget,
  log: Logger,
): Promise<DemoSchemaReport> {
  const productMapper = await loadMapper(PRODUCT_MAPPER_PATH);
  await client.query('BEGIN');
  try {
    const report = await createMissing(client, target, productMapper, log);
    await client.query('COMMIT');
    return report;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

async function createMissing(
  client: pg.ClientBase,
  { schema, table, publication }: DemoSchemaTarget,
  productMapper: Mapper,
  log: Logger,
): Promise<DemoSchemaReport> {
  const qSchema = escapeIdentifier(schema);
  const qTable = `${qSchema}.${escapeIdentifier(table)}`;
  const qProduct = `${qSchema}.${escapeIdentifier('product')}`;

  await client.query('SELECT pg_advisory_xact_lock($1)', [DEMO_SCHEMA_LOCK]);
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${qSchema}`);

  const existing = await client.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [
    qTable,
  ]);
  const createdTable = existing.rows[0]?.present !== true;
  await client.query(`CREATE TABLE IF NOT EXISTS ${qTable} (
    id UUID PRIMARY KEY,
    user_id VARCHAR(255) NOT NULL,
    activity_type VARCHAR(50) NOT NULL,
    product_id VARCHAR(255),
    activity_timestamp TIMESTAMPTZ NOT NULL
  )`);
  if (createdTable) log.info({ schema, table }, 'created demo activity table');
  // Serves "this user's latest activity" reads when ground truth is recomputed by SQL; an index leaves the
  // table's columns, and so its change events, exactly as the seed defines them.
  await client.query(
    `CREATE INDEX IF NOT EXISTS ${escapeIdentifier(`${table}_user_time_idx`)} ON ${qTable} (user_id, activity_timestamp DESC)`,
  );
  await client.query(`CREATE TABLE IF NOT EXISTS ${qProduct} (
    id VARCHAR(255) PRIMARY KEY,
    name TEXT NOT NULL,
    category VARCHAR(100) NOT NULL,
    price NUMERIC(10,2) NOT NULL DEFAULT 0
  )`);

  const published = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication]);
  const createdPublication = published.rows.length === 0;
  if (createdPublication) {
    await client.query(
      `CREATE PUBLICATION ${escapeIdentifier(publication)} FOR TABLE ${qTable}, ${qProduct}`,
    );
    log.info({ publication, schema, table }, 'created demo publication');
  } else {
    // A demo database made before the catalogue was captured: publish it too (demo databases only).
    const productPublished = await client.query(
      'SELECT 1 FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3',
      [publication, schema, 'product'],
    );
    if (productPublished.rows.length === 0) {
      await client.query(`ALTER PUBLICATION ${escapeIdentifier(publication)} ADD TABLE ${qProduct}`);
      log.info({ publication }, 'added the demo catalogue to the demo publication');
    }
  }

  let productsLoaded = 0;
  const stocked = await client.query<{ stocked: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM ${qProduct}) AS stocked`,
  );
  if (stocked.rows[0]?.stocked !== true) {
    // The mapper says `product`, unqualified, like the legacy app; for this transaction only, that means ours.
    await client.query(`SELECT set_config('search_path', $1, true)`, [qSchema]);
    for (const product of demoCatalogue()) {
      await productMapper.run(client, 'insertProduct', product);
      productsLoaded++;
    }
    log.info({ schema, products: productsLoaded }, 'loaded demo catalogue');
  }
  return { createdTable, createdPublication, productsLoaded };
}
