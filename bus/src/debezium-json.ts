import {
  type ChangeEvent,
  type Column,
  type ConnectSchema,
  connectSchemaFor,
  type DebeziumSource,
  type Row,
  type ValueOptions,
} from '@brisk/cdc';

/**
 * Debezium's JSON on Kafka, as Kafka Connect's JsonConverter writes it: the bare envelope
 * (`value.converter.schemas.enable=false`) or `{schema, payload}`. Built as strings by hand because ts_ns does
 * not fit a JavaScript number: it is written exactly, as ts_us followed by three zeros.
 */
export interface JsonOptions extends ValueOptions {
  readonly topicPrefix: string;
  readonly schemas: boolean;
}

export function topicFor(prefix: string, schema: string, table: string): string {
  return `${prefix}.${schema}.${table}`;
}

export function heartbeatTopic(prefix: string): string {
  return `__debezium-heartbeat.${prefix}`;
}

export function sourceJson(source: DebeziumSource): string {
  return (
    `{"version":${JSON.stringify(source.version)},"connector":"postgresql","name":${JSON.stringify(source.name)},` +
    `"ts_ms":${source.ts_ms},"snapshot":${JSON.stringify(source.snapshot)},"db":${JSON.stringify(source.db)},` +
    `"sequence":${JSON.stringify(source.sequence)},"ts_us":${source.ts_us},"ts_ns":${source.ts_us}000,` +
    `"schema":${JSON.stringify(source.schema)},"table":${JSON.stringify(source.table)},` +
    `"txId":${source.txId},"lsn":${source.lsn},"xmin":${source.xmin}}`
  );
}

export function payloadJson(event: ChangeEvent): string {
  return (
    `{"before":${JSON.stringify(event.before)},"after":${JSON.stringify(event.after)},` +
    `"source":${sourceJson(event.source)},"transaction":null,"op":"${event.op}",` +
    `"ts_ms":${event.ts_ms},"ts_us":${event.ts_us},"ts_ns":${event.ts_us}000}`
  );
}

/** The message value: the envelope, with its Connect schema when schemas are enabled. */
export function valueJson(
  event: ChangeEvent,
  columns: readonly Column[] | undefined,
  options: JsonOptions,
  schemas: SchemaCache,
): string {
  const payload = payloadJson(event);
  if (!options.schemas) return payload;
  return `{"schema":${schemas.envelope(event.source.schema, event.source.table, columns ?? [])},"payload":${payload}}`;
}

/** The message key: `{"id": ...}` (primary key columns) or the chosen routing column, with its schema when enabled. */
export function keyJson(
  key: Row,
  schema: string,
  table: string,
  columns: readonly Column[] | undefined,
  options: JsonOptions,
  schemas: SchemaCache,
): string {
  const payload = JSON.stringify(key);
  if (!options.schemas) return payload;
  return `{"schema":${schemas.key(schema, table, Object.keys(key), columns ?? [])},"payload":${payload}}`;
}

const SOURCE_SCHEMA: ConnectSchema = {
  type: 'struct',
  optional: false,
  name: 'io.debezium.connector.postgresql.Source',
  fields: [
    { type: 'string', optional: false, field: 'version' },
    { type: 'string', optional: false, field: 'connector' },
    { type: 'string', optional: false, field: 'name' },
    { type: 'int64', optional: false, field: 'ts_ms' },
    {
      type: 'string',
      optional: true,
      name: 'io.debezium.data.Enum',
      version: 1,
      parameters: {
        allowed: 'true,first,first_in_data_collection,last_in_data_collection,last,false,incremental',
      },
      field: 'snapshot',
    },
    { type: 'string', optional: false, field: 'db' },
    { type: 'string', optional: true, field: 'sequence' },
    { type: 'int64', optional: true, field: 'ts_us' },
    { type: 'int64', optional: true, field: 'ts_ns' },
    { type: 'string', optional: false, field: 'schema' },
    { type: 'string', optional: false, field: 'table' },
    { type: 'int64', optional: true, field: 'txId' },
    { type: 'int64', optional: true, field: 'lsn' },
    { type: 'int64', optional: true, field: 'xmin' },
  ],
  field: 'source',
};

const TRANSACTION_SCHEMA: ConnectSchema = {
  type: 'struct',
  optional: true,
  name: 'event.block',
  version: 1,
  fields: [
    { type: 'string', optional: false, field: 'id' },
    { type: 'int64', optional: false, field: 'total_order' },
    { type: 'int64', optional: false, field: 'data_collection_order' },
  ],
  field: 'transaction',
};

/** Schemas depend only on the table's columns; each distinct shape is serialised once. */
export class SchemaCache {
  private readonly cache = new Map<string, string>();

  constructor(private readonly options: JsonOptions) {}

  envelope(schema: string, table: string, columns: readonly Column[]): string {
    const id = `e\u0000${schema}\u0000${table}\u0000${signature(columns)}`;
    let text = this.cache.get(id);
    if (text === undefined) {
      const name = topicFor(this.options.topicPrefix, schema, table);
      const row = (field: string): ConnectSchema => ({
        type: 'struct',
        optional: true,
        name: `${name}.Value`,
        fields: columns.map((c) => ({
          ...connectSchemaFor(c.typeOid, c.typeMod, this.options, !c.isKey),
          field: c.name,
        })),
        field,
      });
      const envelope: ConnectSchema & { version: number } = {
        type: 'struct',
        optional: false,
        name: `${name}.Envelope`,
        version: 2,
        fields: [
          row('before'),
          row('after'),
          SOURCE_SCHEMA,
          TRANSACTION_SCHEMA,
          { type: 'string', optional: false, field: 'op' },
          { type: 'int64', optional: true, field: 'ts_ms' },
          { type: 'int64', optional: true, field: 'ts_us' },
          { type: 'int64', optional: true, field: 'ts_ns' },
        ],
      };
      text = JSON.stringify(envelope);
      this.cache.set(id, text);
    }
    return text;
  }

  key(schema: string, table: string, names: readonly string[], columns: readonly Column[]): string {
    const id = `k\u0000${schema}\u0000${table}\u0000${names.join(',')}\u0000${signature(columns)}`;
    let text = this.cache.get(id);
    if (text === undefined) {
      const byName = new Map(columns.map((c) => [c.name, c]));
      text = JSON.stringify({
        type: 'struct',
        optional: false,
        name: `${topicFor(this.options.topicPrefix, schema, table)}.Key`,
        fields: names.map((n) => {
          const column = byName.get(n);
          return column
            ? { ...connectSchemaFor(column.typeOid, column.typeMod, this.options, false), field: n }
            : { type: 'string', optional: false, field: n };
        }),
      } satisfies ConnectSchema);
      this.cache.set(id, text);
    }
    return text;
  }
}

function signature(columns: readonly Column[]): string {
  let text = '';
  for (const c of columns) text += `${c.name}:${c.typeOid}:${c.typeMod}:${c.isKey ? 1 : 0};`;
  return text;
}
