// HistoryRecorder: wraps any object with the Repository's methods (a client, in-canister or
// MemoryCluster repository, or a hand-written fake) and records every call as an invoke event
// (before the call starts) and a complete event (when it settles), on one logical clock shared by
// all wrapped repositories. Values are recorded in the canonical JSON form of values.ts, after
// normalising entities the way the store does (declared fields only, defaults applied, an unset
// @Version as 0), so the checker can compare them with what reads return.
import { ConflictError, PayloadTooLargeError, ShardOrmError, UnknownCollectionError, ValidationError } from '../model/errors.js';
import { keyRecord } from '../model/entity-keys.js';
import { getEntityMetadata, versionValue, type EntityClass, type EntityMetadata, type FieldMeta } from '../model/metadata.js';
import { HISTORY_FORMAT, type CollectionInfo, type History, type HistoryEvent, type HistoryOpName, type InvokeEvent, type Outcome } from './history.js';
import { canonical, toJson, type Json, type JsonObject } from './values.js';

/** Decides whether a thrown error means "did not take effect" (failed) or "may have" (unknown). */
export type ErrorClassifier = (error: unknown) => Exclude<Outcome, 'ok'>;

const FAILED_CODES: ReadonlySet<string> = new Set(['VALIDATION', 'CONFLICT', 'PAYLOAD_TOO_LARGE', 'UNKNOWN_COLLECTION']);

/**
 * The default classification. ShardORM's input errors are answered before anything is written:
 * ValidationError, ConflictError, PayloadTooLargeError, UnknownCollectionError → 'failed'.
 * Anything else (RoutingError, a trap, a reject, a timeout, a lost reply) → 'unknown'. Errors
 * that crossed a process boundary are recognised by their ShardORM `code` as well.
 */
export function classifyShardOrmError(error: unknown): Exclude<Outcome, 'ok'> {
  if (error instanceof ValidationError || error instanceof ConflictError) return 'failed';
  if (error instanceof PayloadTooLargeError || error instanceof UnknownCollectionError) return 'failed';
  if (error instanceof ShardOrmError && FAILED_CODES.has(error.code)) return 'failed';
  return 'unknown';
}

export interface HistoryRecorderOptions {
  /** Overrides classifyShardOrmError, e.g. to count an application's own typed errors as failed. */
  classifyError?: ErrorClassifier;
}

export interface WrapOptions {
  /** The entity class, when the wrapped object has no `meta` (a hand-written fake). */
  entity?: EntityClass;
}

/** Methods recorded when the wrapped object has them; everything else passes through unrecorded. */
export const RECORDED_METHODS: readonly HistoryOpName[] = [
  'get', 'getMany', 'insert', 'upsert', 'update', 'delete', 'scan', 'find', 'count', 'insertMany', 'upsertMany', 'deleteMany',
];

type Call = Pick<InvokeEvent, 'key' | 'keys' | 'value' | 'args'>;

export class HistoryRecorder {
  private clock = 0;
  private nextId = 0;
  private readonly events: HistoryEvent[] = [];
  private readonly collections: Record<string, CollectionInfo> = {};
  private readonly classify: ErrorClassifier;

  constructor(options: HistoryRecorderOptions = {}) {
    this.classify = options.classifyError ?? classifyShardOrmError;
  }

  /** The same repository, with every recorded method logged under `clientId`. */
  wrap<R extends object>(repository: R, clientId: string, options: WrapOptions = {}): R {
    const meta = metadataOf(repository, options);
    this.collections[meta.name] ??= collectionInfo(meta);
    const wrappers = new Map<PropertyKey, unknown>();
    for (const name of RECORDED_METHODS) {
      const method = (repository as Record<string, unknown>)[name];
      if (typeof method !== 'function') continue;
      wrappers.set(name, (...args: unknown[]) => this.record(meta, clientId, name, args, () => method.apply(repository, args) as Promise<unknown>));
    }
    return new Proxy(repository, { get: (target, prop) => (wrappers.has(prop) ? wrappers.get(prop) : Reflect.get(target, prop, target)) });
  }

  /** A snapshot of the history so far (JSON-serialisable; ops still running have no complete event). */
  history(): History {
    return { format: HISTORY_FORMAT, collections: { ...this.collections }, events: this.events.slice() };
  }

  private async record(meta: EntityMetadata, client: string, op: HistoryOpName, args: unknown[], run: () => Promise<unknown>): Promise<unknown> {
    const id = this.nextId++;
    this.events.push({ type: 'invoke', id, time: ++this.clock, client, collection: meta.name, op, ...describeCall(meta, op, args) });
    try {
      const result = await run();
      this.events.push({ type: 'complete', id, time: ++this.clock, outcome: 'ok', result: describeResult(meta, op, result) });
      return result;
    } catch (error) {
      const e = error as { name?: unknown; code?: unknown; message?: unknown };
      const detail = { name: String(e?.name ?? 'Error'), message: String(e?.message ?? error) };
      this.events.push({ type: 'complete', id, time: ++this.clock, outcome: this.classify(error), error: typeof e?.code === 'string' ? { ...detail, code: e.code } : detail });
      throw error;
    }
  }
}

function metadataOf(repository: object, options: WrapOptions): EntityMetadata {
  if (options.entity !== undefined) return getEntityMetadata(options.entity) as EntityMetadata;
  const meta = (repository as { meta?: EntityMetadata }).meta;
  if (meta !== undefined && Array.isArray(meta.keyFields)) return meta;
  throw new ValidationError('HistoryRecorder.wrap: the object has no `meta` (entity metadata); pass { entity: YourEntityClass } as the third argument');
}

function collectionInfo(meta: EntityMetadata): CollectionInfo {
  const vf = meta.versionField;
  const info: CollectionInfo = { keyFields: meta.keyFields.map((f) => f.name) };
  if (vf !== undefined) info.versionField = { name: vf.name, bigint: typeof versionValue(vf, 0n) === 'bigint' };
  return info;
}

const absent = (v: unknown): boolean => v === undefined || v === null;

/** An entity as the store keeps it: declared fields, defaults filled in, an unset @Version as 0. */
function storedForm(meta: EntityMetadata, entity: unknown, fillDefaults: boolean): JsonObject {
  const src = (entity ?? {}) as Record<string, unknown>;
  const rec: Record<string, unknown> = {};
  for (const f of meta.fields) {
    let v = src[f.name];
    if (absent(v) && fillDefaults && f.hasDefault) v = f.defaultValue();
    if (absent(v) && fillDefaults && f === meta.versionField) v = versionValue(f, 0n);
    if (!absent(v)) rec[f.name] = v;
  }
  return toJson(rec) as JsonObject;
}

function keyText(meta: EntityMetadata, key: unknown): string | undefined {
  try {
    const rec = keyRecord(meta, key);
    if (meta.keyFields.some((f) => absent(rec[f.name]))) return undefined;
    return canonical(toJson(Object.fromEntries(meta.keyFields.map((f: FieldMeta) => [f.name, rec[f.name]]))));
  } catch {
    return undefined; // the repository rejects the key too (ValidationError): recorded, not checked
  }
}

function patchForm(meta: EntityMetadata, patch: unknown): Json {
  const set: Record<string, unknown> = {};
  const unset: string[] = [];
  for (const [name, v] of Object.entries((patch ?? {}) as Record<string, unknown>)) {
    const f = meta.fieldByName.get(name);
    if (!absent(v)) set[name] = v;
    else if (f !== undefined && f.hasDefault && !f.optional) set[name] = f.defaultValue();
    else unset.push(name);
  }
  return { set: toJson(set), unset: unset.sort() };
}

function describeCall(meta: EntityMetadata, op: HistoryOpName, args: unknown[]): Call {
  const [a, b, c] = args;
  switch (op) {
    case 'get':
    case 'delete':
      return { key: keyText(meta, a) };
    case 'insert':
    case 'upsert':
      return { key: keyText(meta, a), value: storedForm(meta, a, true) };
    case 'update':
      return { key: keyText(meta, a), value: patchForm(meta, b) };
    case 'getMany':
    case 'deleteMany':
      return { keys: asArray(a).map((k) => keyText(meta, k) ?? '?') };
    case 'insertMany':
    case 'upsertMany':
      return { keys: asArray(a).map((e) => keyText(meta, e) ?? '?'), value: asArray(a).map((e) => storedForm(meta, e, true)) };
    case 'scan':
    case 'count':
      return a === undefined ? {} : { args: toJson(a) };
    case 'find':
      return { args: toJson({ index: a, value: b, options: c }) };
  }
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function entityResult(meta: EntityMetadata, v: unknown): Json {
  return absent(v) ? null : storedForm(meta, v, false);
}

function describeResult(meta: EntityMetadata, op: HistoryOpName, result: unknown): Json {
  switch (op) {
    case 'get':
    case 'insert':
    case 'upsert':
    case 'update':
      return entityResult(meta, result);
    case 'getMany':
    case 'insertMany':
    case 'upsertMany':
      return Array.isArray(result) ? result.map((r) => entityResult(meta, r)) : toJson(result);
    case 'scan':
    case 'find': {
      const page = result as { items?: unknown[]; cursor?: unknown };
      return { items: asArray(page?.items).map((r) => entityResult(meta, r)), cursor: toJson(page?.cursor) };
    }
    default:
      return toJson(result);
  }
}
