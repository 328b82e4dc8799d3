// Repository<T>: the typed API over a Dispatcher (routing) and the shards' executors. The same
// class serves a client (agent transport), a canister (inter-canister transport + local store)
// and MemoryCluster (in-process transport); only the ShardTransport differs.
import { codecFor, type EntityCodec, type PlainRecord } from '../model/codec.js';
import { fromWireError, ValidationError } from '../model/errors.js';
import { indexValuePrefix, rowAddress, rowPrefix, shardKeyRowPrefix } from '../model/entity-keys.js';
import { compareBytes } from '../model/keys.js';
import { hydrate, toRecord } from '../model/hydrate.js';
import type { EntityClass, EntityMetadata } from '../model/metadata.js';
import { getEntityMetadata, versionValue } from '../model/metadata.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { Dispatcher } from './dispatch.js';
import { DEFAULT_SCAN_LIMIT, MAX_SCAN_LIMIT, type Op, type OpResult } from '../protocol/ops.js';

export interface RepositoryOptions {
  /** Largest encoded entity accepted (default 1.5 MiB, one IC message). */
  maxEntityBytes?: number;
}

export interface ScanOptions {
  /** Only the rows of this shard key (one shard, key order); otherwise the whole collection. */
  shardKey?: unknown;
  /** The cursor of the previous page. */
  after?: string;
  /** Page size, 1..MAX_SCAN_LIMIT (default DEFAULT_SCAN_LIMIT). */
  limit?: number;
}

export interface FindOptions {
  shardKey: unknown;
  after?: string;
  limit?: number;
}

export interface Page<T> {
  items: T[];
  /** Pass as `after` for the next page; undefined when this page is the last. */
  cursor?: string;
}

export class Repository<T extends object> {
  readonly meta: EntityMetadata<T>;
  private readonly codec: EntityCodec;

  constructor(
    ctor: EntityClass<T>,
    private readonly dispatcher: Dispatcher,
    options: RepositoryOptions = {},
  ) {
    this.meta = getEntityMetadata(ctor);
    this.codec = codecFor(this.meta as EntityMetadata, options.maxEntityBytes);
  }

  async get(key: unknown): Promise<T | undefined> {
    const [r] = await this.dispatcher.run([this.getOp(key)]);
    return this.entityOf(r);
  }

  /** Entities in the order of `keys` (undefined where absent); one request per owning shard. */
  async getMany(keys: readonly unknown[]): Promise<(T | undefined)[]> {
    const results = await this.dispatcher.run(keys.map((k) => this.getOp(k)));
    return results.map((r) => this.entityOf(r));
  }

  /** Stores a new entity; ConflictError if its key exists. Returns it as stored (version set). */
  async insert(entity: T): Promise<T> {
    return this.put(entity, 'insert');
  }

  /** Stores an entity whether or not its key exists (checks @Version when it is non-zero). */
  async upsert(entity: T): Promise<T> {
    return this.put(entity, 'upsert');
  }

  /**
   * Inserts many entities with one request per owning shard (at most MAX_BATCH_OPS ops each).
   * Each entity is written atomically on its own; if any fails, the first error is thrown after
   * every request has been answered (the others are stored).
   */
  async insertMany(entities: readonly T[]): Promise<T[]> {
    return this.putMany(entities, 'insert');
  }

  /** Upserts many entities, one request per owning shard; errors as insertMany. */
  async upsertMany(entities: readonly T[]): Promise<T[]> {
    return this.putMany(entities, 'upsert');
  }

  /** Deletes many keys, one request per owning shard; true where the key existed. */
  async deleteMany(keys: readonly unknown[]): Promise<boolean[]> {
    const results = await this.dispatcher.run(keys.map((k) => this.deleteOp(k)));
    return this.all(results).map((r) => {
      if (r.kind !== 'deleted') throw new Error(`deleteMany: unexpected ${r.kind} result`);
      return r.existed;
    });
  }

  /**
   * Applies `patch` to the stored entity atomically on its shard. With @Version, a patch that
   * carries the version must match the stored one (ConflictError otherwise); the version is
   * incremented either way. Returns the updated entity, or undefined if the key is absent.
   */
  async update(key: unknown, patch: Partial<T>): Promise<T | undefined> {
    const addr = rowAddress(this.meta as EntityMetadata, key);
    const [r] = await this.dispatcher.run([
      { kind: 'update', collection: this.meta.name, hash: addr.hash, key: addr.key, patch: this.codec.encodePatch(patch) },
    ]);
    return this.entityOf(r);
  }

  /** Deletes by key; true if it existed. */
  async delete(key: unknown): Promise<boolean> {
    const [r] = await this.dispatcher.run([this.deleteOp(key)]);
    const ok = this.ok(r);
    if (ok.kind !== 'deleted') throw new Error(`delete: unexpected ${ok.kind} result`);
    return ok.existed;
  }

  /** A page of entities in storage-key order (hash of shard key, then key fields). */
  async scan(options: ScanOptions = {}): Promise<Page<T>> {
    const limit = pageLimit(options.limit);
    const after = options.after === undefined ? undefined : decodeCursor(options.after);
    if (options.shardKey !== undefined) {
      const { hash, prefix } = shardKeyRowPrefix(this.meta as EntityMetadata, options.shardKey);
      const [r] = await this.dispatcher.run([{ kind: 'scan', collection: this.meta.name, hash, prefix, after, limit }]);
      return this.page(this.rowsOf(r), limit);
    }
    const results = await this.dispatcher.fanOut({ kind: 'scan', collection: this.meta.name, prefix: rowPrefix(this.meta as EntityMetadata), after, limit });
    // Each shard returned its first `limit` rows after the cursor: the first `limit` of the union
    // are exactly the next page.
    const rows = results.flatMap((r) => this.rowsOf(r)).sort((a, b) => compareBytes(a[0], b[0]));
    return this.page(rows.slice(0, limit), limit);
  }

  /** Entities of one shard key whose indexed field equals `value`, via the index named `indexName`. */
  async find(indexName: string, value: unknown, options: FindOptions): Promise<Page<T>> {
    const index = this.meta.indexes.find((i) => i.name === indexName);
    if (index === undefined) {
      const known = this.meta.indexes.map((i) => i.name).join(', ') || 'none';
      throw new ValidationError(`${this.meta.className} has no index "${indexName}" (indexes: ${known}); add @Index to the field`);
    }
    if (options?.shardKey === undefined) {
      throw new ValidationError(`find on ${this.meta.className} needs { shardKey }: indexes are local to a shard key`);
    }
    const limit = pageLimit(options.limit);
    const after = options.after === undefined ? undefined : decodeCursor(options.after);
    const { hash, prefix } = indexValuePrefix(this.meta as EntityMetadata, index, options.shardKey, value);
    const [r] = await this.dispatcher.run([{ kind: 'scan', collection: this.meta.name, hash, prefix, after, limit }]);
    return this.page(this.rowsOf(r), limit);
  }

  /** Number of entities in the collection (sums every shard). */
  async count(): Promise<number> {
    const results = await this.dispatcher.fanOut({ kind: 'count', collection: this.meta.name });
    return results.reduce((n, r) => {
      const ok = this.ok(r);
      if (ok.kind !== 'count') throw new Error(`count: unexpected ${ok.kind} result`);
      return n + ok.count;
    }, 0);
  }

  private deleteOp(key: unknown): Op {
    const addr = rowAddress(this.meta as EntityMetadata, key);
    return { kind: 'delete', collection: this.meta.name, hash: addr.hash, key: addr.key };
  }

  private getOp(key: unknown): Op {
    const addr = rowAddress(this.meta as EntityMetadata, key);
    return { kind: 'get', collection: this.meta.name, hash: addr.hash, key: addr.key };
  }

  private putOp(entity: T, mode: 'insert' | 'upsert'): Op {
    if (typeof entity !== 'object' || entity === null) throw new ValidationError(`${mode} expects a ${this.meta.className} object`);
    const rec: PlainRecord = toRecord(this.meta as EntityMetadata, entity);
    const vf = this.meta.versionField;
    if (vf !== undefined && (rec[vf.name] === undefined || rec[vf.name] === null)) rec[vf.name] = versionValue(vf, 0n);
    const value = this.codec.encode(rec);
    const addr = rowAddress(this.meta as EntityMetadata, rec);
    return { kind: 'put', collection: this.meta.name, hash: addr.hash, key: addr.key, value, mode };
  }

  private async put(entity: T, mode: 'insert' | 'upsert'): Promise<T> {
    const [r] = await this.dispatcher.run([this.putOp(entity, mode)]);
    return this.entityOf(r) as T;
  }

  private async putMany(entities: readonly T[], mode: 'insert' | 'upsert'): Promise<T[]> {
    const ops = entities.map((e) => this.putOp(e, mode)); // every entity is validated before anything is sent
    const results = this.all(await this.dispatcher.run(ops));
    return results.map((r) => this.entityOf(r) as T);
  }

  /** The results, or the first error among them once all are in. */
  private all(results: OpResult[]): Exclude<OpResult, { kind: 'error' }>[] {
    const failed = results.find((r) => r?.kind === 'error');
    if (failed !== undefined) this.ok(failed);
    return results.map((r) => this.ok(r));
  }

  private ok(r: OpResult | undefined): Exclude<OpResult, { kind: 'error' }> {
    if (r === undefined) throw new Error('missing result from shard');
    if (r.kind === 'error') throw fromWireError(r.error);
    return r;
  }

  private entityOf(r: OpResult | undefined): T | undefined {
    const ok = this.ok(r);
    if (ok.kind !== 'value') throw new Error(`unexpected ${ok.kind} result`);
    return ok.value === undefined ? undefined : hydrate(this.meta, this.codec.decode(ok.value).record);
  }

  private rowsOf(r: OpResult | undefined): [Uint8Array, Uint8Array][] {
    const ok = this.ok(r);
    if (ok.kind !== 'rows') throw new Error(`unexpected ${ok.kind} result`);
    return ok.rows;
  }

  private page(rows: [Uint8Array, Uint8Array][], limit: number): Page<T> {
    const items = rows.map(([, v]) => hydrate(this.meta, this.codec.decode(v).record));
    return { items, cursor: rows.length === limit ? encodeCursor(rows[rows.length - 1][0]) : undefined };
  }
}

function pageLimit(limit: number | undefined): number {
  const n = limit ?? DEFAULT_SCAN_LIMIT;
  if (!Number.isInteger(n) || n < 1 || n > MAX_SCAN_LIMIT) {
    throw new ValidationError(`limit ${n} must be an integer in [1, ${MAX_SCAN_LIMIT}]: page through larger results with the cursor`);
  }
  return n;
}
