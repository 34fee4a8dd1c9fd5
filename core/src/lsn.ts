import { briskError } from './errors.ts';

/**
 * LSNs are 64-bit WAL positions. Brisk keeps them as plain numbers: exact up to 2^53 bytes (8 PiB) of WAL,
 * which no server reaches, and an order of magnitude cheaper than bigint on the per-event path. Anything
 * beyond that range is rejected rather than silently rounded.
 */
export type Lsn = number;

const HIGH = 4_294_967_296;
const MAX_HIGH = 2 ** 21;
const TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

export function parseLsn(text: string): Lsn {
  const match = TEXT.exec(text);
  if (!match) throw briskError('BRISK_LSN_INVALID', `'${text}' is not an LSN (expected e.g. 0/16B3748)`);
  return fromHalves(Number.parseInt(match[1]!, 16), Number.parseInt(match[2]!, 16));
}

export function formatLsn(lsn: Lsn): string {
  checkRange(lsn);
  const high = Math.floor(lsn / HIGH);
  const low = lsn - high * HIGH;
  return `${high.toString(16).toUpperCase()}/${low.toString(16).toUpperCase()}`;
}

export function readLsn(buffer: Buffer, offset: number): Lsn {
  return fromHalves(buffer.readUInt32BE(offset), buffer.readUInt32BE(offset + 4));
}

export function writeLsn(buffer: Buffer, lsn: Lsn, offset: number): void {
  checkRange(lsn);
  const high = Math.floor(lsn / HIGH);
  buffer.writeUInt32BE(high, offset);
  buffer.writeUInt32BE(lsn - high * HIGH, offset + 4);
}

function checkRange(lsn: Lsn): void {
  if (!Number.isSafeInteger(lsn) || lsn < 0) {
    throw briskError('BRISK_LSN_INVALID', `${lsn} is not an LSN (a whole number of bytes from 0 to 2^53)`);
  }
}

function fromHalves(high: number, low: number): Lsn {
  if (high >= MAX_HIGH) {
    throw briskError('BRISK_LSN_INVALID', `LSN ${high.toString(16)}/${low.toString(16)} is beyond 2^53`);
  }
  return high * HIGH + low;
}
