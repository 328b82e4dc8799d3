// The shard's ordered store inside an Azle canister: PagedKv (lib/shard/paged-store.ts) over four
// Azle StableBTreeMaps, so rows and indexes live in stable memory and survive upgrades. The maps
// hold plain bytes (a raw-bytes Serializable, no JSON), so any tool reading the canister's stable
// memory through ic-stable-structures sees exactly the keys and values ShardORM wrote.
//
// The leaves, directory and meta maps are rewritten by nearly every write (a leaf per key, the
// counters always), and in the local replica and on the IC each StableBTreeMap operation is a few
// hundred stable-memory reads and writes. They go through a WriteBackMap: within one message the
// latest value of every key it touched is kept in the heap and written once, by a microtask the
// first change schedules (Azle drains microtasks before an execution ends, and a trap rolls back
// heap and stable memory together), so a batch of 256 writes stores the counters once and each
// touched leaf once.
//
// Memory ids: ShardORM reserves 200–219 (SHARDORM_MEMORY_IDS). The shard store takes 200–203 by
// default (SHARD_STORE_MEMORY_IDS); the rest of the range is kept for ShardORM's other stable
// structures. Ids 0–199 and 220–253 are the application's; 254 and 255 belong to Azle and
// ic-stable-structures.
import { StableBTreeMap } from 'azle';
import { ValidationError } from '../model/errors.js';
import { PagedKv, type ByteMap, type LeafLimits, type PagedKvMaps } from '../shard/paged-store.js';

/** Memory ids ShardORM may use for its own stable structures (inclusive). */
export const SHARDORM_MEMORY_IDS = { first: 200, last: 219 } as const;
/** Highest memory id a StableBTreeMap may have (Azle keeps 254, ic-stable-structures 255). */
export const MAX_MEMORY_ID = 253;

export interface StoreMemoryIds {
  values: number;
  leaves: number;
  directory: number;
  meta: number;
}

/** Where a shard keeps its rows and indexes unless told otherwise. */
export const SHARD_STORE_MEMORY_IDS: StoreMemoryIds = { values: 200, leaves: 201, directory: 202, meta: 203 };

export interface StableKvOptions {
  /** Four distinct memory ids in 0..MAX_MEMORY_ID; changing them after data was written loses it. */
  memoryIds: StoreMemoryIds;
  /** Leaf shape (tests and benchmarks only; the defaults suit shards). */
  limits?: Partial<LeafLimits>;
}

/** Keys and values are stored as given: StableBTreeMap orders them byte-wise, as PagedKv needs. */
const rawBytes = {
  toBytes: (bytes: Uint8Array): Uint8Array => bytes,
  fromBytes: (bytes: Uint8Array): Uint8Array => bytes
};

/**
 * The native functions Azle 0.33's StableBTreeMap class calls (`globalThis._azleIc`, stable mode).
 * Calling them directly skips the class's per-call checks and Serializable round trips, which in
 * QuickJS cost about a third of a small get (bench/store.bench.ts); the semantics are the class's.
 */
interface AzleNativeMaps {
  stableBTreeMapGet(memoryId: number, key: Uint8Array): Uint8Array | undefined;
  stableBTreeMapInsert(memoryId: number, key: Uint8Array, value: Uint8Array): Uint8Array | undefined;
  stableBTreeMapRemove(memoryId: number, key: Uint8Array): Uint8Array | undefined;
  stableBTreeMapLen(memoryId: number): number;
  stableBTreeMapItems(memoryId: number, startIndex: number, length: number): [Uint8Array, Uint8Array][];
}

function azleNative(): AzleNativeMaps | undefined {
  const g = globalThis as { _azleIc?: Partial<AzleNativeMaps>; _azleIcExperimental?: unknown };
  const ic = g._azleIc;
  if (g._azleIcExperimental !== undefined || ic === undefined || typeof ic.stableBTreeMapGet !== 'function') return undefined;
  return ic as AzleNativeMaps;
}

/**
 * One StableBTreeMap<Uint8Array, Uint8Array> with raw bytes, as a ByteMap. The class is always
 * constructed (that registers the map with Azle's runtime); calls go to Azle's native functions
 * when this Azle exposes them, else through the class.
 */
export function stableByteMap(memoryId: number): ByteMap {
  const map = new StableBTreeMap<Uint8Array, Uint8Array>(memoryId, rawBytes, rawBytes);
  const native = azleNative();
  if (native === undefined) {
    return {
      get: (key) => map.get(key),
      insert: (key, value) => map.insert(key, value),
      remove: (key) => map.remove(key),
      len: () => map.len(),
      items: (startIndex, length) => map.items(startIndex, length)
    };
  }
  return {
    get: (key) => native.stableBTreeMapGet(memoryId, key),
    insert: (key, value) => native.stableBTreeMapInsert(memoryId, key, value),
    remove: (key) => native.stableBTreeMapRemove(memoryId, key),
    len: () => native.stableBTreeMapLen(memoryId),
    items: (startIndex, length) => native.stableBTreeMapItems(memoryId, startIndex, length)
  };
}

/** Bytes of changed values a WriteBackMap holds before it writes them out at once (bounds the heap). */
export const MAX_DEFERRED_WRITE_BYTES = 16 * 1024 * 1024;

/** A key as a map key of the heap (String.fromCharCode: one native call). */
function keyText(key: Uint8Array): string {
  return String.fromCharCode.apply(null, key as unknown as number[]);
}

interface Touched {
  key: Uint8Array;
  /** The value now (undefined: absent, or removed in this message). */
  value: Uint8Array | undefined;
  changed: boolean;
}

/**
 * A ByteMap over another that keeps the keys it touched in this message (values read, and the
 * latest value of keys changed) and writes the changed ones at the end of the current job.
 * Semantics are the inner map's: `insert` and `remove` return the previous value, `len` and
 * `items` see every change (they write out first).
 */
export class WriteBackMap implements ByteMap {
  private touched = new Map<string, Touched>();
  private changedBytes = 0;
  private scheduled = false;

  constructor(private readonly inner: ByteMap) {}

  private entry(key: Uint8Array): { text: string; entry: Touched } {
    const text = keyText(key);
    let entry = this.touched.get(text);
    if (entry === undefined) {
      entry = { key: key.slice(), value: this.inner.get(key), changed: false };
      this.touched.set(text, entry);
      this.schedule();
    }
    return { text, entry };
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    void Promise.resolve().then(() => this.flush());
  }

  private change(entry: Touched, value: Uint8Array | undefined): Uint8Array | undefined {
    const previous = entry.value;
    entry.value = value;
    entry.changed = true;
    this.changedBytes += entry.key.length + (value?.length ?? 0);
    if (this.changedBytes > MAX_DEFERRED_WRITE_BYTES) this.flush();
    return previous;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.entry(key).entry.value;
  }

  insert(key: Uint8Array, value: Uint8Array): Uint8Array | undefined {
    return this.change(this.entry(key).entry, value.slice()); // copied: callers reuse buffers
  }

  remove(key: Uint8Array): Uint8Array | undefined {
    return this.change(this.entry(key).entry, undefined);
  }

  len(): number {
    this.flush();
    return this.inner.len();
  }

  items(startIndex: number, length: number): [Uint8Array, Uint8Array][] {
    this.flush();
    return this.inner.items(startIndex, length);
  }

  /** Writes every changed key to the inner map and forgets what this message touched. */
  flush(): void {
    const touched = this.touched;
    this.touched = new Map();
    this.changedBytes = 0;
    this.scheduled = false;
    for (const e of touched.values()) {
      if (!e.changed) continue;
      if (e.value === undefined) this.inner.remove(e.key);
      else this.inner.insert(e.key, e.value);
    }
  }
}

/** The shard store over stable memory. Call once per canister (at module load) per set of ids. */
export function stableKv(options: StableKvOptions): PagedKv {
  const ids = options.memoryIds;
  const all = [ids.values, ids.leaves, ids.directory, ids.meta];
  for (const id of all) {
    if (!Number.isInteger(id) || id < 0 || id > MAX_MEMORY_ID) {
      throw new ValidationError(`stable memory id ${id} is not an integer in 0..${MAX_MEMORY_ID}; ShardORM uses ${SHARDORM_MEMORY_IDS.first}–${SHARDORM_MEMORY_IDS.last}`);
    }
  }
  if (new Set(all).size !== all.length) throw new ValidationError(`stableKv needs four distinct memory ids, got ${all.join(', ')}`);
  const maps: PagedKvMaps = {
    values: stableByteMap(ids.values),
    leaves: new WriteBackMap(stableByteMap(ids.leaves)),
    directory: new WriteBackMap(stableByteMap(ids.directory)),
    meta: new WriteBackMap(stableByteMap(ids.meta))
  };
  return new PagedKv({ maps, limits: options.limits });
}
