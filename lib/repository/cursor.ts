// Scan cursors: opaque strings carrying the last storage key a page returned. The next page asks
// for keys strictly after it, so a cursor stays valid across splits and merges (keys don't change
// when data moves between shards). Hex keeps it URL-safe without Buffer/btoa (absent in QuickJS).
import { bytesToHex, hexToBytes } from '@noble/hashes/utils'; // already in every bundle: @dfinity/principal uses it
import { ValidationError } from '../model/errors.js';
import { MAX_STORAGE_KEY_BYTES } from '../model/keys.js';

const PREFIX = 'c1.';
/** Longest cursor accepted (a storage key is bounded too). */
export const MAX_CURSOR_CHARS = 2 * MAX_STORAGE_KEY_BYTES + PREFIX.length;

export function encodeCursor(key: Uint8Array): string {
  return PREFIX + bytesToHex(key);
}

export function decodeCursor(cursor: string): Uint8Array {
  if (typeof cursor !== 'string' || !cursor.startsWith(PREFIX) || cursor.length > MAX_CURSOR_CHARS || cursor.length % 2 === 0) {
    throw new ValidationError('malformed cursor: pass the `cursor` string a previous scan/find returned, unchanged');
  }
  try {
    return hexToBytes(cursor.slice(PREFIX.length));
  } catch {
    throw new ValidationError('malformed cursor: not hex; pass the cursor a previous scan returned');
  }
}
