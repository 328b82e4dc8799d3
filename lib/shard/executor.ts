// Executes one operation against a shard's local store: the code every canister runs on its
// paged stable store and MemoryCluster runs on a MemoryKv. It trusts nothing in the request: values
// are decoded and checked against the key they are written under, sizes are bounded, access rules
// are checked against the original caller, and a failing op throws before it writes anything
// (each op is atomic; a batch is not).
import { codecFor, readStoredVersion, type EntityCodec, type PlainRecord } from '../model/codec.js';
import { ConflictError, ValidationError } from '../model/errors.js';
import { indexEntryKey, rowAddress, rowPrefix } from '../model/entity-keys.js';
import { isRowAddressOf } from '../model/row-address-check.js';
import { compareBytes, hashOfStorageKey, MAX_STORAGE_KEY_BYTES, prefixEnd } from '../model/keys.js';
import { versionValue, type EntityMetadata, type FieldMeta } from '../model/metadata.js';
import type { EntityRegistry } from '../model/registry.js';
import type { Op, OpResult } from '../protocol/ops.js';
import { MAX_SCAN_LIMIT } from '../protocol/ops.js';
import { keySuccessor, type Entry, type OrderedKv } from '../repository/store.js';
import { authorizeBulkRead, authorizeRead, authorizeWrite, needsRows, type RequestCaller } from './access.js';

/** Entries read per store call while filtering scans or counting. */
export const STORE_PAGE = 512;

export interface ShardContext {
  kv: OrderedKv;
  registry: EntityRegistry;
  /** Whether this shard owns a hash under its current partition map. */
  owns(hash: bigint): boolean;
  maxEntityBytes?: number;
}

/** Everyone may do everything: in-process callers that are the cluster's own controller. */
export const CONTROLLER: RequestCaller = { principal: '2vxsx-fae', controller: true };

function codecOf(ctx: ShardContext, collection: string): EntityCodec {
  return codecFor(ctx.registry.get(collection), ctx.maxEntityBytes);
}

function startsWith(key: Uint8Array, prefix: Uint8Array): boolean {
  if (key.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
  return true;
}

/** Byte equality by two native string builds (a byte loop costs ~1,000 instructions a byte in QuickJS). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  if (a.length > MAX_STORAGE_KEY_BYTES) return compareBytes(a, b) === 0;
  return String.fromCharCode.apply(null, a as unknown as number[]) === String.fromCharCode.apply(null, b as unknown as number[]);
}

function indexKeys(meta: EntityMetadata, rec: PlainRecord, hash: bigint): Uint8Array[] {
  const keys: Uint8Array[] = [];
  for (const i of meta.indexes) {
    const k = indexEntryKey(meta, i, rec, hash);
    if (k !== undefined) keys.push(k);
  }
  return keys;
}

/** Writes a row and moves its index entries from the old record's values to the new one's. */
function writeRow(kv: OrderedKv, meta: EntityMetadata, key: Uint8Array, hash: bigint, value: Uint8Array, oldRec: PlainRecord | undefined, newRec: PlainRecord): void {
  const fresh = indexKeys(meta, newRec, hash); // computed first: a bad index value throws before any write
  if (oldRec !== undefined) for (const k of indexKeys(meta, oldRec, hash)) kv.delete(k);
  kv.set(key, value);
  for (const k of fresh) kv.set(k, key);
}

function versionNumber(v: unknown): bigint {
  return typeof v === 'bigint' ? v : BigInt((v as number | undefined) ?? 0);
}

/** The next @Version value, in the JS type of the field. */
function bumpVersion(meta: EntityMetadata, current: unknown): number | bigint {
  return versionValue(meta.versionField as FieldMeta, versionNumber(current) + 1n);
}

function describeKey(meta: EntityMetadata, rec: PlainRecord): string {
  return `${meta.className} { ${meta.keyFields.map((f) => `${f.name}: ${String(rec[f.name])}`).join(', ')} }`;
}

function put(ctx: ShardContext, op: Extract<Op, { kind: 'put' }>, caller: RequestCaller): OpResult {
  const codec = codecOf(ctx, op.collection);
  const meta = codec.meta;
  codec.assertSize(op.value.length);
  const decoded = codec.decode(op.value);
  const newRec = decoded.record;
  if (isRowAddressOf(meta, newRec, op.key, op.hash) !== true) {
    const addr = rowAddress(meta, newRec); // names a bad key value, if that is what is wrong
    if (!sameBytes(addr.key, op.key) || addr.hash !== op.hash) {
      throw new ValidationError(`${meta.className}: the value's key fields do not match the key it is written under; re-encode the entity`);
    }
  }
  // The stored row is read only when something needs it: an insert's conflict check, indexes to
  // move, a @Version to check, or an access rule to show it (a store read is the dearest part of a
  // write in a canister). An upsert without those overwrites blindly.
  const needsOld = op.mode === 'insert' || meta.indexes.length > 0 || meta.versionField !== undefined || (needsRows(meta.access.write) && !caller.controller);
  const old = needsOld ? ctx.kv.get(op.key) : undefined;
  if (old !== undefined && op.mode === 'insert') {
    throw new ConflictError(`${describeKey(meta, newRec)} already exists: use upsert() to overwrite or update() to patch it`);
  }
  const oldRec = old === undefined ? undefined : codec.decode(old).record;
  authorizeWrite(meta, caller, newRec, oldRec);
  let value = op.value;
  const vf = meta.versionField;
  if (vf !== undefined) {
    const supplied = versionNumber(newRec[vf.name]);
    if (oldRec !== undefined && supplied !== 0n && supplied !== versionNumber(oldRec[vf.name])) {
      throw new ConflictError(
        `${describeKey(meta, newRec)} is at version ${String(oldRec[vf.name])}, not ${supplied}: someone wrote it first; read it again and retry`,
      );
    }
    newRec[vf.name] = bumpVersion(meta, oldRec?.[vf.name] ?? 0);
    value = codec.encode(newRec);
  } else if (decoded.storedVersion < meta.version) {
    // Written by a client still on an older version: store it upgraded, so stored bytes and index
    // entries always agree. (Newer clients' bytes are kept as they are: upgrade shards first.)
    value = codec.encode(newRec);
  }
  writeRow(ctx.kv, meta, op.key, op.hash, value, oldRec, newRec);
  return { kind: 'value', value };
}

function update(ctx: ShardContext, op: Extract<Op, { kind: 'update' }>, caller: RequestCaller): OpResult {
  const codec = codecOf(ctx, op.collection);
  const meta = codec.meta;
  const patch = codec.decodePatch(op.patch); // a malformed patch is refused whether or not the key exists
  const old = ctx.kv.get(op.key);
  if (old === undefined) {
    authorizeWrite(meta, caller, undefined, undefined);
    return { kind: 'value', value: undefined };
  }
  const oldRec = codec.decode(old).record;
  const newRec: PlainRecord = { ...oldRec, ...patch };
  authorizeWrite(meta, caller, newRec, oldRec);
  const vf = meta.versionField;
  if (vf !== undefined) {
    if (vf.name in patch && versionNumber(patch[vf.name]) !== versionNumber(oldRec[vf.name])) {
      throw new ConflictError(
        `${describeKey(meta, oldRec)} is at version ${String(oldRec[vf.name])}, not ${String(patch[vf.name])}: read it again and retry`,
      );
    }
    newRec[vf.name] = bumpVersion(meta, oldRec[vf.name]);
  }
  const value = codec.encode(newRec);
  writeRow(ctx.kv, meta, op.key, op.hash, value, oldRec, newRec);
  return { kind: 'value', value };
}

function remove(ctx: ShardContext, op: Extract<Op, { kind: 'delete' }>, caller: RequestCaller): OpResult {
  const codec = codecOf(ctx, op.collection);
  const old = ctx.kv.get(op.key);
  if (old === undefined) {
    authorizeWrite(codec.meta, caller, undefined, undefined);
    return { kind: 'deleted', existed: false };
  }
  // Decode first: a value that does not decode throws before anything is deleted.
  const needRecord = codec.meta.indexes.length > 0 || needsRows(codec.meta.access.write);
  const oldRec = needRecord ? codec.decode(old).record : undefined;
  authorizeWrite(codec.meta, caller, undefined, oldRec);
  const stale = codec.meta.indexes.length > 0 ? indexKeys(codec.meta, oldRec as PlainRecord, op.hash) : [];
  ctx.kv.delete(op.key);
  for (const k of stale) ctx.kv.delete(k);
  return { kind: 'deleted', existed: true };
}

/** Up to `limit` owned entries with `prefix`, strictly after `after`. */
export function ownedRange(ctx: ShardContext, prefix: Uint8Array, after: Uint8Array | undefined, limit: number): Entry[] {
  if (after !== undefined && !startsWith(after, prefix)) {
    throw new ValidationError('the cursor belongs to another scan (different collection, index or shard key): start without it');
  }
  const hi = prefixEnd(prefix);
  let lo = after === undefined ? prefix : keySuccessor(after);
  const out: Entry[] = [];
  while (out.length < limit) {
    const page = ctx.kv.range(lo, hi, STORE_PAGE);
    for (const e of page) {
      if (ctx.owns(hashOfStorageKey(e[0]))) out.push(e);
      if (out.length === limit) break;
    }
    if (page.length < STORE_PAGE) break;
    lo = keySuccessor(page[page.length - 1][0]);
  }
  return out;
}

function scan(ctx: ShardContext, op: Extract<Op, { kind: 'scan' }>, caller: RequestCaller): OpResult {
  const meta = ctx.registry.get(op.collection);
  authorizeBulkRead(meta, caller);
  if (!Number.isInteger(op.limit) || op.limit < 1 || op.limit > MAX_SCAN_LIMIT) {
    throw new ValidationError(`scan limit ${op.limit} must be an integer in [1, ${MAX_SCAN_LIMIT}]`);
  }
  const rows = rowPrefix(meta);
  const entries = ownedRange(ctx, op.prefix, op.after, op.limit);
  if (startsWith(op.prefix, rows)) return { kind: 'rows', rows: entries };
  // An index scan: entries point at row keys on this same shard (same shard-key hash).
  const out: [Uint8Array, Uint8Array][] = [];
  for (const [indexKey, rowKey] of entries) {
    const value = ctx.kv.get(rowKey);
    if (value === undefined) throw new Error(`index entry of ${meta.name} points at a missing row: store corrupted`);
    out.push([indexKey, value]);
  }
  return { kind: 'rows', rows: out };
}

function count(ctx: ShardContext, op: Extract<Op, { kind: 'count' }>, caller: RequestCaller): OpResult {
  const meta = ctx.registry.get(op.collection);
  authorizeBulkRead(meta, caller);
  const prefix = rowPrefix(meta);
  let n = 0;
  let after: Uint8Array | undefined;
  for (;;) {
    const page = ownedRange(ctx, prefix, after, STORE_PAGE);
    n += page.length;
    if (page.length < STORE_PAGE) return { kind: 'count', count: n };
    after = page[page.length - 1][0];
  }
}

function get(ctx: ShardContext, op: Extract<Op, { kind: 'get' }>, caller: RequestCaller): OpResult {
  const meta = ctx.registry.get(op.collection);
  const value = ctx.kv.get(op.key);
  const rule = meta.access.read;
  authorizeRead(meta, caller, value !== undefined && needsRows(rule) ? codecOf(ctx, op.collection).decode(value).record : undefined);
  return { kind: 'value', value };
}

/** Runs one op on the local store for `caller`. The caller has already checked that this shard owns it. */
export function executeOp(ctx: ShardContext, op: Op, caller: RequestCaller = CONTROLLER): OpResult {
  switch (op.kind) {
    case 'get':
      return get(ctx, op, caller);
    case 'put':
      return put(ctx, op, caller);
    case 'update':
      return update(ctx, op, caller);
    case 'delete':
      return remove(ctx, op, caller);
    case 'scan':
      return scan(ctx, op, caller);
    case 'count':
      return count(ctx, op, caller);
    case 'map':
      throw new Error('executeOp: map ops are answered by the shard node, not the store');
    default:
      throw new ValidationError(`unknown op kind ${JSON.stringify((op as { kind?: unknown }).kind)}`);
  }
}

/**
 * Rolling upgrade step: rewrites up to `limit` rows of `meta.name` written by an older version
 * (upgrade hook applied, index entries moved). Resumable: returns the cursor to continue after.
 */
export function upgradeRows(ctx: ShardContext, meta: EntityMetadata, after: Uint8Array | undefined, limit: number): { next?: Uint8Array; rewritten: number } {
  const codec = codecFor(meta, ctx.maxEntityBytes);
  const page = ctx.kv.range(after === undefined ? rowPrefix(meta) : keySuccessor(after), prefixEnd(rowPrefix(meta)), limit);
  let rewritten = 0;
  for (const [key, value] of page) {
    if (readStoredVersion(value) >= meta.version) continue;
    // Index entries were written from the record as stored (before the hook), so drop those.
    const stored = codec.decode(value, false).record;
    const upgraded = codec.decode(value).record;
    writeRow(ctx.kv, meta, key, hashOfStorageKey(key), codec.encode(upgraded), stored, upgraded);
    rewritten++;
  }
  return { next: page.length < limit ? undefined : page[page.length - 1][0], rewritten };
}
