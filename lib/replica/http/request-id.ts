// The representation-independent hash of a request's content (interface spec, "Request ids"):
// a map hashes to SHA-256 of its entries' H(key)·H(value) pairs, sorted; text hashes its UTF-8,
// a blob its bytes, a natural number its LEB128, an array the concatenation of its elements'
// hashes, and a nested map recursively. The same function as @dfinity/agent's `requestIdOf`, on
// Node's native SHA-256: it runs over every field of every request the replica receives.
import { lebEncode } from '@dfinity/candid';
import { createHash } from 'node:crypto';
import { badRequest } from './errors.js';

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

/** The request id of `map` (fields whose value is undefined are left out, as the agent does). */
export function hashOfMap(map: { [key: string]: unknown }): Uint8Array {
  const entries = Object.entries(map)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => Buffer.concat([sha256(Buffer.from(key, 'utf8')), hashValue(value, key)]));
  entries.sort(Buffer.compare);
  return new Uint8Array(sha256(...entries));
}

function hashValue(value: unknown, key: string): Buffer {
  if (typeof value === 'string') return sha256(Buffer.from(value, 'utf8'));
  if (value instanceof Uint8Array) return sha256(value);
  if ((typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) || (typeof value === 'bigint' && value >= 0n)) return sha256(new Uint8Array(lebEncode(value)));
  if (Array.isArray(value)) return sha256(...value.map(element => hashValue(element, key)));
  if (typeof value === 'object' && value !== null) return Buffer.from(hashOfMap(value as { [key: string]: unknown }));
  throw badRequest(`Field "${key}" holds a ${value === null ? 'null' : typeof value}, which has no representation-independent hash; use text, blobs, natural numbers, arrays and maps.`);
}
