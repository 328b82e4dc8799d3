// Scan cursors: opaque strings carrying the last storage key a page returned. The next page asks
// for keys strictly after it, so a cursor stays valid across splits and merges (keys don't change
// when data moves between shards). Hex keeps it URL-safe without Buffer/btoa (absent in QuickJS).
import { ValidationError } from '../model/errors.js';

const PREFIX = 'c1.';
/** Longest cursor accepted (a storage key is bounded too). */
export const MAX_CURSOR_CHARS = 2 * 4096 + PREFIX.length;

export function encodeCursor(key: Uint8Array): string {
  let hex = '';
  for (let i = 0; i < key.length; i++) hex += key[i].toString(16).padStart(2, '0');
  return PREFIX + hex;
}

export function decodeCursor(cursor: string): Uint8Array {
  if (typeof cursor !== 'string' || !cursor.startsWith(PREFIX) || cursor.length > MAX_CURSOR_CHARS || cursor.length % 2 === 0) {
    throw new ValidationError('malformed cursor: pass the `cursor` string a previous scan/find returned, unchanged');
  }
  const hex = cursor.slice(PREFIX.length);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const byte = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    if (Number.isNaN(byte)) throw new ValidationError('malformed cursor: not hex; pass the cursor a previous scan returned');
    out[i] = byte;
  }
  return out;
}
