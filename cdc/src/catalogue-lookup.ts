import type pg from 'pg';
import { escapeIdentifier } from 'pg';
import type { TableName } from './preflight.ts';
import { classify } from './replication.ts';

/**
 * Read-only product lookups, for a catalogue table that is not in the publication (so no change events reach
 * Brisk). Parameterised by id; the table name comes from validated configuration and is quoted as an identifier.
 */
export interface ProductRow {
  readonly id: string;
  readonly name: string;
  readonly category: string;
  readonly price: number | null;
}

export async function lookupProducts(
  db: Pick<pg.Pool, 'query'>,
  table: TableName,
  ids: readonly string[],
): Promise<ProductRow[]> {
  const qualified = `${escapeIdentifier(table.schema)}.${escapeIdentifier(table.table)}`;
  try {
    const { rows } = await db.query(
      `SELECT id::text AS id, name::text AS name, category::text AS category, price::float8 AS price
         FROM ${qualified} WHERE id::text = ANY($1::text[])`,
      [ids],
    );
    return rows as ProductRow[];
  } catch (error) {
    throw classify(error);
  }
}
