/*
 * Storage keys: an order-preserving byte encoding, so a shard's hash range is one contiguous key
 * range per keyspace and a range scan returns entities in key order.
 *
 *   row key   = name 0x00 0x01               hash64 shardKey pk...
 *   index key = name 0x00 0x02 index 0x00    hash64 shardKey indexValue pk...
 *
 * - `name` / `index`: collection and index names, ASCII restricted to [A-Za-z0-9_.-] (checked at
 *   declaration), so the 0x00 terminator cannot occur inside them and "a" < "ab" still holds.
 * - `hash64`: hashShardKey(enc(shardKey)) (XXH64, seed 0; lib/partition/hash.ts), 8 bytes big
 *   endian, so byte order = numeric order and a shard's range [start, end) of the hash space is
 *   [prefix‖be64(start), prefix‖be64(end)) in every keyspace.
 * - `shardKey`: the shard key value itself after the hash, so two shard keys whose hashes collide
 *   never share a row, and scan({ shardKey }) is a prefix scan.
 * - `pk...`: the primary-key fields in declaration order, skipping the shard-key field when it is
 *   also a primary-key field. Every component is self-delimiting, so the tuple sorts field by field.
 *
 * Component encodings (enc), each order-preserving within its type:
 * - text: UTF-8 (byte order = code point order), 0x00 escaped as 0x00 0xFF, ended by 0x00 0x01.
 * - blob (vec nat8), principal: raw bytes with the same escape and terminator.
 * - bool: one byte 0x00 / 0x01.
 * - nat8..nat64: fixed width, big endian. int8..int64: fixed width, big endian, sign bit flipped.
 * - nat: one length byte n (0..MAX_BIG_KEY_BYTES), then n big-endian magnitude bytes.
 * - int: >= 0 as 0x80+n then magnitude; < 0 as 0x80-n then the inverted magnitude bytes.
 * Other Candid types (float, opt, vec, record, variant...) cannot be key or index fields.
 */
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { hashToBytes, hashFromBytes } from '../partition/index.js';
import { assertWellFormed, utf8Encoder } from './text.js';
import { ByteSink as ByteWriter } from './candid-writer.js';
import { DeclarationError, ValidationError } from './errors.js';

/** Upper bound on one big nat/int key component (512 bits); larger values are not keys. */
export const MAX_BIG_KEY_BYTES = 64;
/** Upper bound on a whole encoded storage key (StableBTreeMap keys are bounded too; checked in entity-keys.ts). */
export const MAX_STORAGE_KEY_BYTES = 4096;

export const KIND_ROW = 0x01;
export const KIND_INDEX = 0x02;

function wellFormed(s: string): string {
  assertWellFormed(s, 'a text key');
  return s;
}

/** The growable byte buffer keys are written into (candid-writer.ts; no Node Buffer in QuickJS). */
export { ByteWriter };

type KeyEncoder = (w: ByteWriter, value: unknown) => void;

function escaped(w: ByteWriter, bs: Uint8Array): void {
  if (bs.indexOf(0x00) < 0) {
    w.bytes(bs); // nothing to escape: one native copy instead of a loop over bytes
    w.byte(0x00);
    w.byte(0x01);
    return;
  }
  for (let i = 0; i < bs.length; i++) {
    w.byte(bs[i]);
    if (bs[i] === 0x00) w.byte(0xff);
  }
  w.byte(0x00);
  w.byte(0x01);
}

function bigEndian(w: ByteWriter, v: bigint, width: number): void {
  for (let i = width - 1; i >= 0; i--) w.byte(Number((v >> BigInt(8 * i)) & 0xffn));
}

function magnitude(v: bigint): number[] {
  const out: number[] = [];
  for (let m = v; m > 0n; m >>= 8n) out.unshift(Number(m & 0xffn));
  if (out.length > MAX_BIG_KEY_BYTES) {
    throw new ValidationError(`key component ${v} needs ${out.length} bytes, above MAX_BIG_KEY_BYTES (${MAX_BIG_KEY_BYTES}): use a smaller number or a text key`);
  }
  return out;
}

const encoders = new WeakMap<IDL.Type, KeyEncoder | null>();

/** The key encoder for a Candid type (made once per type object), or undefined when that type cannot be a key. */
function encoderFor(type: IDL.Type): KeyEncoder | undefined {
  let e = encoders.get(type);
  if (e === undefined) encoders.set(type, (e = makeEncoder(type) ?? null));
  return e ?? undefined;
}

function makeEncoder(type: IDL.Type): KeyEncoder | undefined {
  if (type instanceof IDL.TextClass) return (w, v) => escaped(w, utf8Encoder().encode(wellFormed(v as string)));
  if (type instanceof IDL.BoolClass) return (w, v) => w.byte(v ? 1 : 0);
  if (type instanceof IDL.PrincipalClass) return (w, v) => escaped(w, (v as Principal).toUint8Array());
  if (type instanceof IDL.VecClass && type._type instanceof IDL.FixedNatClass && type._type._bits === 8) {
    return (w, v) => escaped(w, v instanceof Uint8Array ? v : Uint8Array.from(v as number[]));
  }
  if (type instanceof IDL.FixedNatClass) {
    const width = type._bits / 8;
    return (w, v) => bigEndian(w, BigInt(v as number | bigint), width);
  }
  if (type instanceof IDL.FixedIntClass) {
    const width = type._bits / 8;
    const offset = 1n << BigInt(type._bits - 1);
    return (w, v) => bigEndian(w, BigInt(v as number | bigint) + offset, width);
  }
  if (type instanceof IDL.NatClass) {
    return (w, v) => {
      const m = magnitude(BigInt(v as bigint));
      w.byte(m.length);
      for (const b of m) w.byte(b);
    };
  }
  if (type instanceof IDL.IntClass) {
    return (w, v) => {
      const n = BigInt(v as bigint);
      const m = magnitude(n < 0n ? -n : n);
      w.byte(n < 0n ? 0x80 - m.length : 0x80 + m.length);
      for (const b of m) w.byte(n < 0n ? 0xff - b : b);
    };
  }
  return undefined;
}

/** Throws a DeclarationError unless `type` can be encoded as a key component. */
export function assertKeyType(type: IDL.Type, className: string, field: string, role: string): void {
  if (encoderFor(type) === undefined) {
    throw new DeclarationError(
      `${className}.${field}: a ${role} field cannot have Candid type ${type.display()}; ` +
        'use text, blob, principal, bool, nat, int or a fixed-width nat/int',
    );
  }
}

/** Appends enc(value) for a key/index component, validating the value against its type. */
export function writeKeyComponent(w: ByteWriter, type: IDL.Type, value: unknown, where: string): void {
  if (value === undefined || value === null) {
    throw new ValidationError(`${where}: key field is missing; pass a ${type.display()} value`);
  }
  if (!conforms(type, value)) {
    throw new ValidationError(`${where}: key field expects ${type.display()}, got ${describeValue(value)}`);
  }
  const encode = encoderFor(type);
  if (encode === undefined) throw new ValidationError(`${where}: ${type.display()} is not a key type`);
  encode(w, value);
}

/** enc(value) alone: the bytes hashed for placement. */
export function encodeKeyComponent(type: IDL.Type, value: unknown, where: string): Uint8Array {
  const w = new ByteWriter();
  writeKeyComponent(w, type, value, where);
  return w.finish();
}

/** The keyspace prefix: rows of a collection, or one index of it. */
export function keyspacePrefix(collection: string, index?: string): Uint8Array {
  const w = new ByteWriter();
  w.bytes(utf8Encoder().encode(collection));
  w.byte(0x00);
  if (index === undefined) {
    w.byte(KIND_ROW);
  } else {
    w.byte(KIND_INDEX);
    w.bytes(utf8Encoder().encode(index));
    w.byte(0x00);
  }
  return w.finish();
}

/** prefix ‖ be64(hash): the start of one hash bucket in a keyspace. */
export function hashedPrefix(prefix: Uint8Array, hash: bigint): Uint8Array {
  const out = new Uint8Array(prefix.length + 8);
  out.set(prefix);
  out.set(hashToBytes(hash), prefix.length);
  return out;
}

/** The smallest byte string greater than every string that starts with `prefix`. */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const out = prefix.slice();
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== 0xff) {
      out[i]++;
      return out.slice(0, i + 1);
    }
  }
  throw new ValidationError('prefixEnd of an all-0xff prefix has no upper bound');
}

/** Reads the 64-bit shard-key hash out of any storage key (row or index). */
export function hashOfStorageKey(key: Uint8Array): bigint {
  const p = hashOffsetOfStorageKey(key);
  return hashFromBytes(key.subarray(p, p + 8));
}

/** Where the 8-byte hash starts in a storage key: the bytes before it name the keyspace. */
export function hashOffsetOfStorageKey(key: Uint8Array): number {
  let p = key.indexOf(0x00);
  if (p < 0 || p + 1 >= key.length) throw new ValidationError('malformed storage key: no collection terminator');
  const kind = key[p + 1];
  p += 2;
  if (kind === KIND_INDEX) {
    const end = key.indexOf(0x00, p);
    if (end < 0) throw new ValidationError('malformed storage key: no index terminator');
    p = end + 1;
  } else if (kind !== KIND_ROW) {
    throw new ValidationError(`malformed storage key: unknown keyspace kind ${kind}`);
  }
  if (p + 8 > key.length) throw new ValidationError('malformed storage key: truncated hash');
  return p;
}

/** Byte-wise lexicographic order (the order of every store). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

/** type.covariant(v) as a boolean (@dfinity/candid 3 throws on a mismatch instead of returning false). */
export function conforms(type: IDL.Type, v: unknown): boolean {
  try {
    return type.covariant(v);
  } catch {
    return false;
  }
}

export function describeValue(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n (bigint)`;
  if (typeof v === 'string') return `${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)} (string)`;
  if (v instanceof Uint8Array) return `Uint8Array(${v.length})`;
  if (Array.isArray(v)) return `array(${v.length})`;
  if (v === null) return 'null';
  if (typeof v === 'object') return `object ${(v as object).constructor?.name ?? ''}`.trim();
  return `${String(v)} (${typeof v})`;
}
