// A shard checks that every written value belongs under the key it is written to: the key
// fields of the decoded record must give exactly the op's storage key and hash. Building the key
// again (rowAddress) UTF-8-encodes every key text and copies bytes in JS, which in QuickJS costs
// ~250,000 instructions of a ~400,000 check. Here the expected key is built as a binary string
// (one code unit per byte) from native calls — unescape(encodeURIComponent(text)) is a text's
// UTF-8, String.fromCharCode a key's bytes — compared with the op's key as a string, and only the
// shard key's bytes (a view of the op's key, not a copy) are hashed — once per distinct shard key
// while it is remembered (XXH64 is ~130,000 instructions of the check; a page's rows share their
// shard key). What an entity's key needs (prefix, field names and kinds) is worked out once. Key types other than text,
// principal and blob answer `undefined`: the caller then builds the key with rowAddress, which
// also names a bad key value.
import { hashShardKey } from '../partition/index.js';
import { rowPrefix } from './entity-keys.js';
import { MAX_STORAGE_KEY_BYTES } from './keys.js';
import type { PlainRecord } from './codec.js';
import type { EntityMetadata, FieldMeta } from './metadata.js';
import { IDL } from '@dfinity/candid';
import { binaryString as binary } from './text.js';

/** Key field types this check covers; anything else is OTHER (the caller uses rowAddress). */
const TEXT = 0;
const PRINCIPAL = 1;
const BLOB = 2;
const OTHER = 3;

function kindOf(f: FieldMeta): number {
  if (f.type instanceof IDL.TextClass) return TEXT;
  if (f.type instanceof IDL.PrincipalClass) return PRINCIPAL;
  if (f.type instanceof IDL.VecClass) return BLOB;
  return OTHER;
}

/** What the check needs of an entity's key, worked out once per entity. */
interface KeyPlan {
  /** rowPrefix as a binary string. */
  prefix: string;
  shardKey: string;
  shardKind: number;
  /** The other key fields, in key order. */
  names: string[];
  kinds: number[];
}

const plans = new WeakMap<EntityMetadata, KeyPlan>();

/** Shard keys (encoded, as binary strings) whose XXH64 this check has computed, and the hash: rows of one page share it. */
const verifiedHashes = new Map<string, bigint>();
/** Entries of verifiedHashes before it is emptied (bounds the heap with SHARD_KEY_MEMO_MAX_BYTES). */
export const MAX_REMEMBERED_SHARD_KEYS = 4096;
/** Longer encoded shard keys are hashed every time, not remembered. */
export const SHARD_KEY_MEMO_MAX_BYTES = 256;

/** XXH64 of the encoded shard key at key[start, start + text.length), where `text` is its binary string. */
function shardKeyHash(key: Uint8Array, start: number, text: string): bigint {
  let hash = verifiedHashes.get(text);
  if (hash !== undefined) return hash;
  hash = hashShardKey(key.subarray(start, start + text.length));
  if (text.length <= SHARD_KEY_MEMO_MAX_BYTES) {
    if (verifiedHashes.size >= MAX_REMEMBERED_SHARD_KEYS) verifiedHashes.clear();
    verifiedHashes.set(text, hash);
  }
  return hash;
}

function planOf(meta: EntityMetadata): KeyPlan {
  let plan = plans.get(meta);
  if (plan === undefined) {
    const rest = meta.keyFields.filter((f) => f !== meta.shardKey);
    plan = { prefix: binary(rowPrefix(meta)), shardKey: meta.shardKey.name, shardKind: kindOf(meta.shardKey), names: rest.map((f) => f.name), kinds: rest.map(kindOf) };
    plans.set(meta, plan);
  }
  return plan;
}

/** enc(value) as a binary string (keys.ts: escaped bytes ‖ 0x00 0x01), or undefined when not covered here. */
function componentText(kind: number, value: unknown): string | undefined {
  let raw: string;
  if (kind === TEXT) {
    if (typeof value !== 'string') return undefined;
    try {
      raw = unescape(encodeURIComponent(value)); // throws URIError exactly on a lone surrogate
    } catch {
      return undefined;
    }
  } else if (kind === PRINCIPAL) {
    if (!(value as { _isPrincipal?: boolean } | null)?._isPrincipal) return undefined;
    raw = binary((value as { toUint8Array(): Uint8Array }).toUint8Array());
  } else if (kind === BLOB && value instanceof Uint8Array) {
    raw = binary(value);
  } else {
    return undefined;
  }
  return (raw.indexOf('\x00') < 0 ? raw : raw.replace(/\x00/g, '\x00\xff')) + '\x00\x01';
}

/**
 * Whether `key` and `hash` are what rowAddress(meta, record) gives; undefined when this check
 * does not cover the record's key types or values (use rowAddress).
 */
export function isRowAddressOf(meta: EntityMetadata, record: PlainRecord, key: Uint8Array, hash: bigint): boolean | undefined {
  const plan = planOf(meta);
  const shardKey = componentText(plan.shardKind, record[plan.shardKey]);
  if (shardKey === undefined || key.length > MAX_STORAGE_KEY_BYTES) return undefined;
  let rest = '';
  for (let i = 0; i < plan.names.length; i++) {
    const part = componentText(plan.kinds[i], record[plan.names[i]]);
    if (part === undefined) return undefined;
    rest += part;
  }
  const prefix = plan.prefix;
  const start = prefix.length + 8;
  if (key.length !== start + shardKey.length + rest.length) return false;
  const text = binary(key);
  if (!text.startsWith(prefix) || text.substring(start) !== shardKey + rest) return false;
  const embedded = new DataView(key.buffer, key.byteOffset, key.byteLength).getBigUint64(prefix.length, false);
  return embedded === hash && shardKeyHash(key, start, shardKey) === hash;
}
