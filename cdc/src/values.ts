import type { DecimalHandling } from '@brisk/core';
import { formatTimestampUs, parseTimestampUs } from '@brisk/core';
import { type RawValue, UNCHANGED_TOAST } from './pgoutput.ts';

/**
 * PostgreSQL text output -> the JSON value a Debezium PostgreSQL connector emits for that column type
 * (defaults: time.precision.mode=adaptive, decimal.handling.mode as configured, binary.handling.mode=bytes).
 * The replication connection runs with TimeZone=UTC and DateStyle=ISO, so the texts parsed here have one shape.
 *
 * Types without a case below (arrays, ranges, geometric, interval, ...) pass through as their text form.
 */
export const UNAVAILABLE_VALUE = '__debezium_unavailable_value';

export type JsonValue = string | number | boolean | null | { scale: number; value: string };

export interface ValueOptions {
  readonly decimalHandling: DecimalHandling;
}

const OID = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int2: 21,
  int4: 23,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  numeric: 1700,
  jsonb: 3802,
} as const;

const DAY_MS = 86_400_000;

export function toDebeziumValue(
  raw: RawValue,
  typeOid: number,
  typeMod: number,
  options: ValueOptions,
): JsonValue {
  if (raw === null) return null;
  if (raw === UNCHANGED_TOAST) return UNAVAILABLE_VALUE;
  switch (typeOid) {
    case OID.bool:
      return raw === 't';
    case OID.int2:
    case OID.int4:
    case OID.oid:
      return Number(raw);
    case OID.int8: {
      // Debezium writes int64; beyond 2^53 a JavaScript number would silently round, so keep the text.
      const value = Number(raw);
      return Number.isSafeInteger(value) ? value : raw;
    }
    case OID.float4:
    case OID.float8: {
      const value = Number(raw);
      return Number.isFinite(value) ? value : raw;
    }
    case OID.numeric:
      return numericValue(raw, typeMod, options.decimalHandling);
    case OID.timestamptz:
      return zonedTimestamp(raw);
    case OID.timestamp: {
      // MicroTimestamp (precision > 3) or Timestamp (milliseconds) under adaptive precision.
      const us = parseTimestampUs(raw);
      if (us === null) return raw;
      return typeMod >= 0 && typeMod <= 3 ? Math.floor(us / 1000) : us;
    }
    case OID.date: {
      const ms = Date.parse(`${raw}T00:00:00Z`);
      return Number.isNaN(ms) ? raw : Math.floor(ms / DAY_MS);
    }
    case OID.time: {
      const m = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(raw);
      if (!m) return raw;
      const us = ((+m[1]! * 60 + +m[2]!) * 60 + +m[3]!) * 1_000_000 + Number((m[4] ?? '').padEnd(6, '0'));
      return typeMod >= 0 && typeMod <= 3 ? Math.floor(us / 1000) : us;
    }
    case OID.bytea:
      return raw.startsWith('\\x') ? Buffer.from(raw.slice(2), 'hex').toString('base64') : raw;
    default:
      // uuid, text, varchar, bpchar, json, jsonb and everything without a dedicated encoding.
      return raw;
  }
}

/**
 * `2026-11-24 13:00:00.123456+00` -> `2026-11-24T13:00:00.123456Z` (io.debezium.time.ZonedTimestamp). The
 * fast path keeps PostgreSQL's fraction digits, which are already minimal, as formatTimestampUs writes them.
 */
function zonedTimestamp(raw: string): string {
  // Fast path for the only shape a TimeZone=UTC session produces; anything else goes through the parser.
  if (raw.length >= 22 && raw.endsWith('+00') && raw[10] === ' ') {
    return `${raw.slice(0, 10)}T${raw.slice(11, -3)}Z`;
  }
  const us = parseTimestampUs(raw);
  return us === null ? raw : formatTimestampUs(us);
}

function numericValue(raw: string, typeMod: number, mode: DecimalHandling): JsonValue {
  if (mode === 'string') return raw;
  if (mode === 'double') {
    const value = Number(raw);
    return Number.isFinite(value) ? value : raw;
  }
  if (raw === 'NaN' || raw.endsWith('Infinity')) return null;
  const dot = raw.indexOf('.');
  const scale = dot < 0 ? 0 : raw.length - dot - 1;
  const unscaled = BigInt(dot < 0 ? raw : raw.slice(0, dot) + raw.slice(dot + 1));
  const value = twosComplementBase64(unscaled);
  // NUMERIC(p,s) is org.apache.kafka.connect.data.Decimal (scale lives in the schema); an unconstrained
  // NUMERIC is io.debezium.data.VariableScaleDecimal, a struct carrying its own scale.
  return typeMod >= 4 ? value : { scale, value };
}

/** Minimal big-endian two's-complement bytes of an integer, base64 — Kafka Connect's Decimal encoding. */
export function twosComplementBase64(value: bigint): string {
  let hex = (value < 0n ? -value : value).toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if (value < 0n) {
    // Negate: invert and add one, then make sure the sign bit is set.
    const inverted = Buffer.from(bytes.map((b) => ~b & 0xff));
    let carry = 1;
    for (let i = inverted.length - 1; i >= 0 && carry; i--) {
      const sum = inverted[i]! + carry;
      inverted[i] = sum & 0xff;
      carry = sum >> 8;
    }
    bytes = inverted[0]! & 0x80 ? inverted : Buffer.concat([Buffer.from([0xff]), inverted]);
  } else if (bytes.length === 0 || bytes[0]! & 0x80) {
    bytes = Buffer.concat([Buffer.from([0]), bytes]);
  }
  return bytes.toString('base64');
}

/** A Kafka Connect schema (JsonConverter's `schema` part) for one field. */
export interface ConnectSchema {
  type: 'boolean' | 'int16' | 'int32' | 'int64' | 'float' | 'double' | 'string' | 'bytes' | 'struct';
  optional: boolean;
  name?: string;
  version?: number;
  parameters?: Record<string, string>;
  fields?: ConnectSchema[];
  field?: string;
}

/**
 * The Connect schema Debezium's PostgreSQL connector gives a column of this type, matching what
 * toDebeziumValue writes (same time and decimal modes). Types without a dedicated mapping are strings.
 */
export function connectSchemaFor(
  typeOid: number,
  typeMod: number,
  options: ValueOptions,
  optional: boolean,
): ConnectSchema {
  const named = (type: ConnectSchema['type'], name: string, extra: Partial<ConnectSchema> = {}) => ({
    type,
    optional,
    name,
    version: 1,
    ...extra,
  });
  switch (typeOid) {
    case OID.bool:
      return { type: 'boolean', optional };
    case OID.int2:
      return { type: 'int16', optional };
    case OID.int4:
      return { type: 'int32', optional };
    case OID.oid:
    case OID.int8:
      return { type: 'int64', optional };
    case OID.float4:
      return { type: 'float', optional };
    case OID.float8:
      return { type: 'double', optional };
    case OID.numeric: {
      if (options.decimalHandling === 'string') return { type: 'string', optional };
      if (options.decimalHandling === 'double') return { type: 'double', optional };
      if (typeMod < 4) {
        return named('struct', 'io.debezium.data.VariableScaleDecimal', {
          fields: [
            { type: 'int32', optional: false, field: 'scale' },
            { type: 'bytes', optional: false, field: 'value' },
          ],
        });
      }
      const precision = ((typeMod - 4) >> 16) & 0xffff;
      const scale = (typeMod - 4) & 0xffff;
      return named('bytes', 'org.apache.kafka.connect.data.Decimal', {
        parameters: { scale: String(scale), 'connect.decimal.precision': String(precision) },
      });
    }
    case OID.timestamptz:
      return named('string', 'io.debezium.time.ZonedTimestamp');
    case OID.timestamp:
      return typeMod >= 0 && typeMod <= 3
        ? named('int64', 'io.debezium.time.Timestamp')
        : named('int64', 'io.debezium.time.MicroTimestamp');
    case OID.date:
      return named('int32', 'io.debezium.time.Date');
    case OID.time:
      return typeMod >= 0 && typeMod <= 3
        ? named('int32', 'io.debezium.time.Time')
        : named('int64', 'io.debezium.time.MicroTime');
    case OID.bytea:
      return { type: 'bytes', optional };
    case OID.json:
    case OID.jsonb:
      return named('string', 'io.debezium.data.Json');
    case UUID_OID:
      return named('string', 'io.debezium.data.Uuid');
    default:
      return { type: 'string', optional };
  }
}

const UUID_OID = 2950;
