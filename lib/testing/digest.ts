// SHA-256 of a JSON value's canonical text, in hex: the replay fingerprint of a history or of a
// target's state. @noble/hashes is pure JS (no node:crypto), so this runs anywhere.
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';
import { canonical, toJson } from './values.js';

export function digestOf(value: unknown): string {
  return bytesToHex(sha256(utf8ToBytes(canonical(toJson(value)))));
}
