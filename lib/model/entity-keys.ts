// From an entity key (object of key fields, or a scalar when the key is one field) to the
// storage keys of its row and index entries (layout: keys.ts).
import { concatBytes } from '@noble/hashes/utils'; // already in every bundle: @dfinity/principal uses it
import { hashShardKey } from '../partition/index.js';
import { ValidationError } from './errors.js';
import { ByteWriter, hashedPrefix, keyspacePrefix, writeKeyComponent, encodeKeyComponent, MAX_STORAGE_KEY_BYTES } from './keys.js';
import type { EntityMetadata, IndexMeta } from './metadata.js';
import type { PlainRecord } from './codec.js';

export interface RowAddress {
  /** 64-bit placement hash of the shard key. */
  hash: bigint;
  /** Full row storage key. */
  key: Uint8Array;
  /** prefix ‖ hash ‖ enc(shardKey): start of every row and index entry of this shard key. */
  shardKeyBytes: Uint8Array;
}

const prefixes = new WeakMap<EntityMetadata, { rows: Uint8Array; indexes: Map<string, Uint8Array> }>();

function prefixesOf(meta: EntityMetadata): { rows: Uint8Array; indexes: Map<string, Uint8Array> } {
  let p = prefixes.get(meta);
  if (p === undefined) {
    p = { rows: keyspacePrefix(meta.name), indexes: new Map(meta.indexes.map((i) => [i.name, keyspacePrefix(meta.name, i.name)])) };
    prefixes.set(meta, p);
  }
  return p;
}

export function rowPrefix(meta: EntityMetadata): Uint8Array {
  return prefixesOf(meta).rows;
}

export function indexPrefix(meta: EntityMetadata, index: IndexMeta): Uint8Array {
  return prefixesOf(meta).indexes.get(index.name) as Uint8Array;
}

function isPlainObject(v: unknown): v is PlainRecord {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Normalizes a user key into { keyField: value } (scalar allowed for single-field keys). */
export function keyRecord(meta: EntityMetadata, key: unknown): PlainRecord {
  const fields = meta.keyFields;
  const isRecord = isPlainObject(key) || key instanceof (meta.ctor as unknown as new () => object);
  if (fields.length === 1 && !(isRecord && fields[0].name in (key as object))) return { [fields[0].name]: key };
  if (typeof key !== 'object' || key === null) {
    throw new ValidationError(
      `${meta.className}: a key is { ${fields.map((f) => f.name).join(', ')} }, got ${String(key)}; pass every key field`,
    );
  }
  return key as PlainRecord;
}

export function shardKeyHash(meta: EntityMetadata, shardKeyValue: unknown): { hash: bigint; skBytes: Uint8Array } {
  const skBytes = encodeKeyComponent(meta.shardKey.type, shardKeyValue, `${meta.className}.${meta.shardKey.name}`);
  return { hash: hashShardKey(skBytes), skBytes };
}

/** Start of every row of one shard key value (for scan({ shardKey })). */
export function shardKeyRowPrefix(meta: EntityMetadata, shardKeyValue: unknown): { hash: bigint; prefix: Uint8Array } {
  const { hash, skBytes } = shardKeyHash(meta, shardKeyValue);
  return { hash, prefix: concatBytes(hashedPrefix(rowPrefix(meta), hash), skBytes) };
}

/** What rowAddress would otherwise build on every call: field descriptions, the fields after the shard key. */
const keyPlans = new WeakMap<EntityMetadata, { shardKeyWhere: string; rest: { f: EntityMetadata['keyFields'][number]; where: string }[] }>();

function keyPlanOf(meta: EntityMetadata) {
  let plan = keyPlans.get(meta);
  if (plan === undefined) {
    plan = {
      shardKeyWhere: `${meta.className}.${meta.shardKey.name}`,
      rest: meta.keyFields.slice(1).map((f) => ({ f, where: `${meta.className}.${f.name}` })),
    };
    keyPlans.set(meta, plan);
  }
  return plan;
}

/**
 * Row address of a key (or of an entity: it carries its key fields). Built in one buffer: the
 * prefix, room for the hash, enc(shard key) (hashed where it lies), then the other key fields.
 */
export function rowAddress(meta: EntityMetadata, key: unknown): RowAddress {
  const rec = keyRecord(meta, key);
  const plan = keyPlanOf(meta);
  const prefix = rowPrefix(meta);
  const w = new ByteWriter();
  w.bytes(prefix);
  w.bytes(NO_HASH);
  const skStart = w.length;
  writeKeyComponent(w, meta.shardKey.type, rec[meta.shardKey.name], plan.shardKeyWhere);
  const hash = hashShardKey(w.written(skStart));
  w.view.setBigUint64(prefix.length, hash, false);
  const shardKeyEnd = w.length;
  for (const { f, where } of plan.rest) writeKeyComponent(w, f.type, rec[f.name], where);
  const full = finishKey(w, meta, 'key');
  return { hash, key: full, shardKeyBytes: full.subarray(0, shardKeyEnd) };
}

/** Where the hash goes until it is known. */
const NO_HASH = new Uint8Array(8);

/**
 * Index entry key: indexPrefix ‖ hash ‖ enc(shardKey) ‖ enc(value) ‖ enc(pk rest); undefined when
 * an `opt` indexed field is absent (such rows are not in the index).
 */
export function indexEntryKey(meta: EntityMetadata, index: IndexMeta, record: PlainRecord, hash: bigint): Uint8Array | undefined {
  const value = record[index.field.name];
  if (index.field.optional && (value === undefined || value === null)) return undefined;
  const w = new ByteWriter();
  w.bytes(hashedPrefix(indexPrefix(meta, index), hash));
  writeKeyComponent(w, meta.shardKey.type, record[meta.shardKey.name], `${meta.className}.${meta.shardKey.name}`);
  writeKeyComponent(w, index.valueType, value, `${meta.className}.${index.field.name} (index "${index.name}")`);
  writePkRest(w, meta, record);
  return finishKey(w, meta, `key or "${index.field.name}" value`);
}

/** Prefix of the index entries with one (shardKey, value) pair. */
export function indexValuePrefix(meta: EntityMetadata, index: IndexMeta, shardKeyValue: unknown, value: unknown): { hash: bigint; prefix: Uint8Array } {
  const { hash, skBytes } = shardKeyHash(meta, shardKeyValue);
  const w = new ByteWriter();
  w.bytes(hashedPrefix(indexPrefix(meta, index), hash));
  w.bytes(skBytes);
  writeKeyComponent(w, index.valueType, value, `${meta.className}.${index.field.name} (index "${index.name}")`);
  return { hash, prefix: w.finish() };
}

/** enc(pk...) of the key fields after the shard key (keyFields puts the shard key first). */
function writePkRest(w: ByteWriter, meta: EntityMetadata, rec: PlainRecord): void {
  for (const f of meta.keyFields.slice(1)) writeKeyComponent(w, f.type, rec[f.name], `${meta.className}.${f.name}`);
}

/** The storage key written so far, within MAX_STORAGE_KEY_BYTES (stores and cursors rely on it). */
function finishKey(w: ByteWriter, meta: EntityMetadata, what: string): Uint8Array {
  const key = w.finish();
  if (key.length > MAX_STORAGE_KEY_BYTES) {
    throw new ValidationError(
      `${meta.className}: a storage key of ${key.length} bytes is above MAX_STORAGE_KEY_BYTES (${MAX_STORAGE_KEY_BYTES}): use a shorter ${what} (an id, not a document)`,
    );
  }
  return key;
}
