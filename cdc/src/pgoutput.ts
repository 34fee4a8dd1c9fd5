import { briskError, type Lsn, PG_EPOCH_US, readLsn } from '@brisk/core';

/**
 * Decoder for pgoutput protocol version 1 (PostgreSQL >= 10), the messages inside XLogData.
 * https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
 *
 * Written here rather than taken from pg-logical-replication because that parser runs every column through
 * node-postgres' global type parsers (timestamptz becomes a millisecond Date, dropping the microseconds
 * Debezium keeps) and turns an unchanged TOASTed column into `undefined`. Values stay raw text here; typed
 * conversion to Debezium encodings happens once, in values.ts.
 */

/** An unchanged TOASTed value: the update did not touch it and the server did not resend it. */
export const UNCHANGED_TOAST: unique symbol = Symbol('unchanged-toast');
export type RawValue = string | null | typeof UNCHANGED_TOAST;
export type Tuple = RawValue[];

export type ReplicaIdentity = 'default' | 'nothing' | 'full' | 'index';

export interface Column {
  readonly name: string;
  readonly typeOid: number;
  readonly typeMod: number;
  readonly isKey: boolean;
}

export interface Relation {
  readonly oid: number;
  readonly schema: string;
  readonly table: string;
  readonly replicaIdentity: ReplicaIdentity;
  readonly columns: readonly Column[];
}

export type PgoutputMessage =
  | { readonly tag: 'begin'; readonly finalLsn: Lsn; readonly commitTimeUs: number; readonly xid: number }
  | {
      readonly tag: 'commit';
      readonly commitLsn: Lsn;
      readonly endLsn: Lsn;
      readonly commitTimeUs: number;
    }
  | { readonly tag: 'origin'; readonly originLsn: Lsn; readonly name: string }
  | { readonly tag: 'relation'; readonly relation: Relation }
  | { readonly tag: 'type'; readonly typeOid: number; readonly schema: string; readonly name: string }
  | { readonly tag: 'insert'; readonly relation: Relation; readonly after: Tuple }
  | {
      readonly tag: 'update';
      readonly relation: Relation;
      /** Old values: the full row (REPLICA IDENTITY FULL), the key when it changed, else null. */
      readonly before: Tuple | null;
      readonly beforeIsKeyOnly: boolean;
      readonly after: Tuple;
    }
  | {
      readonly tag: 'delete';
      readonly relation: Relation;
      readonly before: Tuple;
      /** True when only the replica-identity key columns are filled in (the others are null). */
      readonly beforeIsKeyOnly: boolean;
    }
  | {
      readonly tag: 'truncate';
      readonly relations: readonly Relation[];
      readonly cascade: boolean;
      readonly restartIdentity: boolean;
    }
  | {
      readonly tag: 'message';
      readonly transactional: boolean;
      readonly prefix: string;
      readonly content: Buffer;
    };

const REPLICA_IDENTITY: Record<number, ReplicaIdentity> = {
  100: 'default',
  110: 'nothing',
  102: 'full',
  105: 'index',
};

export class PgoutputDecoder {
  /** Relations are announced once per connection before their first change; the cache lives as long. */
  private readonly relations = new Map<number, Relation>();

  decode(buffer: Buffer): PgoutputMessage {
    const reader = new Reader(buffer);
    const tag = reader.uint8();
    switch (tag) {
      case 0x42: // B
        return {
          tag: 'begin',
          finalLsn: reader.lsn(),
          commitTimeUs: reader.timestampUs(),
          xid: reader.uint32(),
        };
      case 0x43: // C
        reader.uint8(); // flags, unused in protocol 1
        return {
          tag: 'commit',
          commitLsn: reader.lsn(),
          endLsn: reader.lsn(),
          commitTimeUs: reader.timestampUs(),
        };
      case 0x4f: // O
        return { tag: 'origin', originLsn: reader.lsn(), name: reader.cstring() };
      case 0x52: // R
        return { tag: 'relation', relation: this.readRelation(reader) };
      case 0x59: // Y
        return { tag: 'type', typeOid: reader.uint32(), schema: reader.cstring(), name: reader.cstring() };
      case 0x49: {
        // I
        const relation = this.relation(reader.uint32());
        reader.expect(0x4e, 'insert');
        return { tag: 'insert', relation, after: reader.tuple(relation) };
      }
      case 0x55: {
        // U
        const relation = this.relation(reader.uint32());
        let kind = reader.uint8();
        let before: Tuple | null = null;
        let beforeIsKeyOnly = false;
        if (kind === 0x4b || kind === 0x4f) {
          before = reader.tuple(relation);
          beforeIsKeyOnly = kind === 0x4b;
          kind = reader.uint8();
        }
        if (kind !== 0x4e) throw protocolError(`update carries submessage ${kind}, expected 'N'`);
        const after = reader.tuple(relation);
        return { tag: 'update', relation, before, beforeIsKeyOnly, after };
      }
      case 0x44: {
        // D
        const relation = this.relation(reader.uint32());
        const kind = reader.uint8();
        if (kind !== 0x4b && kind !== 0x4f) throw protocolError(`delete carries submessage ${kind}`);
        return { tag: 'delete', relation, before: reader.tuple(relation), beforeIsKeyOnly: kind === 0x4b };
      }
      case 0x54: {
        // T
        const count = reader.uint32();
        const flags = reader.uint8();
        const relations: Relation[] = [];
        for (let i = 0; i < count; i++) relations.push(this.relation(reader.uint32()));
        return { tag: 'truncate', relations, cascade: (flags & 1) !== 0, restartIdentity: (flags & 2) !== 0 };
      }
      case 0x4d: {
        // M
        const flags = reader.uint8();
        reader.lsn();
        const prefix = reader.cstring();
        const content = reader.bytes(reader.uint32());
        return { tag: 'message', transactional: (flags & 1) !== 0, prefix, content };
      }
      default:
        throw protocolError(`unknown message type 0x${tag.toString(16)}`);
    }
  }

  private readRelation(reader: Reader): Relation {
    const oid = reader.uint32();
    const schema = reader.cstring() || 'pg_catalog';
    const table = reader.cstring();
    const identityByte = reader.uint8();
    const replicaIdentity = REPLICA_IDENTITY[identityByte];
    if (!replicaIdentity) throw protocolError(`unknown replica identity ${identityByte}`);
    const count = reader.uint16();
    const columns: Column[] = [];
    for (let i = 0; i < count; i++) {
      const flags = reader.uint8();
      columns.push({
        name: reader.cstring(),
        typeOid: reader.uint32(),
        typeMod: reader.int32(),
        isKey: (flags & 1) !== 0,
      });
    }
    const relation: Relation = { oid, schema, table, replicaIdentity, columns };
    this.relations.set(oid, relation);
    return relation;
  }

  private relation(oid: number): Relation {
    const relation = this.relations.get(oid);
    if (!relation) throw protocolError(`change for relation ${oid} arrived before its Relation message`);
    return relation;
  }
}

class Reader {
  private offset = 0;
  constructor(private readonly buffer: Buffer) {}

  uint8(): number {
    this.need(1);
    return this.buffer[this.offset++]!;
  }
  uint16(): number {
    this.need(2);
    const value = this.buffer.readUInt16BE(this.offset);
    this.offset += 2;
    return value;
  }
  uint32(): number {
    this.need(4);
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
  int32(): number {
    this.need(4);
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
  lsn(): Lsn {
    this.need(8);
    const value = readLsn(this.buffer, this.offset);
    this.offset += 8;
    return value;
  }
  /** int64 microseconds since 2000-01-01 -> microseconds since the Unix epoch (exact below 2^53). */
  timestampUs(): number {
    this.need(8);
    const value =
      this.buffer.readInt32BE(this.offset) * 4_294_967_296 + this.buffer.readUInt32BE(this.offset + 4);
    this.offset += 8;
    return value + PG_EPOCH_US;
  }
  cstring(): string {
    const end = this.buffer.indexOf(0, this.offset);
    if (end < 0) throw protocolError('unterminated string');
    const value = this.buffer.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return value;
  }
  bytes(length: number): Buffer {
    this.need(length);
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }
  expect(byte: number, context: string): void {
    const got = this.uint8();
    if (got !== byte)
      throw protocolError(`${context}: expected 0x${byte.toString(16)}, got 0x${got.toString(16)}`);
  }
  tuple(relation: Relation): Tuple {
    const count = this.uint16();
    if (count !== relation.columns.length) {
      throw protocolError(
        `${relation.schema}.${relation.table}: tuple has ${count} columns, relation announced ${relation.columns.length}`,
      );
    }
    const values: Tuple = new Array(count);
    for (let i = 0; i < count; i++) {
      const kind = this.uint8();
      if (kind === 0x74) {
        const length = this.uint32();
        this.need(length);
        values[i] = this.buffer.toString('utf8', this.offset, this.offset + length);
        this.offset += length;
      } else if (kind === 0x6e) {
        values[i] = null;
      } else if (kind === 0x75) {
        values[i] = UNCHANGED_TOAST;
      } else {
        // 'b' (binary) only appears when the subscriber asks for binary mode, which Brisk never does.
        throw protocolError(`unexpected column kind 0x${kind.toString(16)}`);
      }
    }
    return values;
  }

  private need(bytes: number): void {
    if (this.offset + bytes > this.buffer.length) {
      throw protocolError(`message truncated at byte ${this.offset} (needed ${bytes} more)`);
    }
  }
}

function protocolError(detail: string) {
  return briskError(
    'BRISK_PGOUTPUT_PROTOCOL',
    `pgoutput: ${detail}. This is a bug or an unsupported server; please report it with the server version.`,
  );
}
