// The shard's ordered store inside an Azle canister: PagedKv (lib/shard/paged-store.ts) over four
// Azle StableBTreeMaps, so rows and indexes live in stable memory and survive upgrades. The maps
// hold plain bytes (a raw-bytes Serializable, no JSON), so any tool reading the canister's stable
// memory through ic-stable-structures sees exactly the keys and values ShardORM wrote.
//
// Writes are deferred to the end of the current job (`deferWrites`): PagedKv keeps its leaves
// decoded in the heap and a batch of 256 writes stores each touched leaf and its directory entry
// once, not once per write. Azle drains microtasks before an execution ends, and a trap rolls
// back heap and stable memory together, so what is durable is exactly what writing through would
// have left.
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
  const maps: PagedKvMaps = { values: stableByteMap(ids.values), leaves: stableByteMap(ids.leaves), directory: stableByteMap(ids.directory), meta: stableByteMap(ids.meta) };
  return new PagedKv({ maps, limits: options.limits, deferWrites: atEndOfJob });
}

/** Runs `flush` once the current job's synchronous work is done, before the execution ends. */
function atEndOfJob(flush: () => void): void {
  void Promise.resolve().then(flush);
}
