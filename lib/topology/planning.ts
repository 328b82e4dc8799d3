// Topology planning over partition maps: the next map after a split or merge, which shards a map
// change touches, and (for AnchorHash, whose changes move keys from every shard and so do not fit
// the single-source migration of lib/topology/migration.ts) moving misplaced entries directly.
import { hashOfStorageKey } from '../model/keys.js';
import { AnchorHashPartitioner, RangePartitioner, type Partitioner, type ShardId } from '../partition/index.js';
import { keySuccessor, type OrderedKv } from '../repository/store.js';
import { medianHash } from '../shard/hash-ranges.js';

/** Entries moved per batch (the canister streams batches of this size between shards). */
export const MIGRATION_BATCH = 256;
/** Every storage key starts with an ASCII collection name, so it sorts before 0xff. */
const ALL_LO = new Uint8Array(0);
const ALL_HI = Uint8Array.of(0xff);

/** Visits every entry of a store in key order, a page at a time (safe to mutate between pages). */
export function forEachPage(kv: OrderedKv, visit: (page: [Uint8Array, Uint8Array][]) => void): void {
  let lo: Uint8Array = ALL_LO;
  for (;;) {
    const page = kv.range(lo, ALL_HI, MIGRATION_BATCH);
    if (page.length === 0) return;
    lo = keySuccessor(page[page.length - 1][0]);
    visit(page);
    if (page.length < MIGRATION_BATCH) return;
  }
}

/**
 * The split point of a range shard: the smallest key hash h such that entries with hash < h hold
 * at least half the bytes, kept strictly inside (start, end). Undefined when every entry has the
 * same hash (one hot shard key cannot be split).
 */
export const medianSplitPoint = medianHash;

/** The map after adding `newShard` to take load off `full`. */
export function splitMap(map: Partitioner, full: ShardId, newShard: ShardId, kv: OrderedKv): Partitioner | undefined {
  if (map instanceof RangePartitioner) {
    const { start, end } = map.rangeOf(full);
    const at = medianSplitPoint(kv, start, end);
    return at === undefined ? undefined : map.split(full, at, newShard);
  }
  if (map instanceof AnchorHashPartitioner) return map.addShard(newShard); // moves keys from every shard
  throw new Error(`splitMap: unsupported partitioner kind ${map.kind}`);
}

/** The neighbour a range shard merges into (left if any, else right), or undefined for AnchorHash. */
export function mergeTarget(map: Partitioner, from: ShardId): ShardId | undefined {
  if (!(map instanceof RangePartitioner)) return undefined;
  const ranges = map.ranges();
  const i = ranges.findIndex((r) => r.shard === from);
  if (i < 0) throw new Error(`mergeTarget: ${from} is not in the map`);
  return (ranges[i - 1] ?? ranges[i + 1])?.shard;
}

/** The map after `from` leaves (its data goes to `into` for ranges, spread out for AnchorHash). */
export function mergeMap(map: Partitioner, from: ShardId, into?: ShardId): Partitioner {
  if (map instanceof RangePartitioner) {
    const target = into ?? mergeTarget(map, from);
    if (target === undefined) throw new Error(`mergeMap: ${from} is the only shard`);
    return map.merge(from, target);
  }
  if (map instanceof AnchorHashPartitioner) return map.removeShard(from);
  throw new Error(`mergeMap: unsupported partitioner kind ${map.kind}`);
}

/** Which shards can hold keys whose owner differs between two maps (only they are scanned). */
export function affectedShards(before: Partitioner, after: Partitioner): ShardId[] {
  if (before instanceof RangePartitioner && after instanceof RangePartitioner) {
    const now = new Map(after.ranges().map((r) => [r.shard, r]));
    return before.ranges().filter((r) => {
      const n = now.get(r.shard);
      return n === undefined || n.start !== r.start || n.end !== r.end;
    }).map((r) => r.shard);
  }
  return before.shards();
}

/**
 * Moves every entry of `source` that `after` assigns elsewhere to its new owner's store, a page at
 * a time (each entry: written to the target, then deleted from the source, so an interruption
 * leaves duplicates the next run overwrites, never a loss). Returns entries and bytes moved.
 */
export function moveMisplaced(sourceId: ShardId, source: OrderedKv, after: Partitioner, storeOf: (id: ShardId) => OrderedKv): { entries: number; bytes: number } {
  let entries = 0;
  let bytes = 0;
  forEachPage(source, (page) => {
    for (const [k, v] of page) {
      const owner = after.shardFor(hashOfStorageKey(k));
      if (owner === sourceId) continue;
      storeOf(owner).set(k, v);
      source.delete(k);
      entries++;
      bytes += k.length + v.length;
    }
  });
  return { entries, bytes };
}

/** What the manager weighs a shard by (from its ShardReport, or MemoryCluster's store). */
export interface ShardLoad {
  shard: ShardId;
  logicalBytes: number;
  memoryBytes: number;
  entries: number;
}

export interface TopologyLimits {
  /** Split a shard above this many logical bytes (keys + values); 0: never. */
  maxShardBytes: number;
  /** Split a shard whose canister memory is above this; 0: never. */
  maxShardMemoryBytes: number;
  /** Merge neighbours whose combined logical bytes fall below this; 0: never. */
  minShardBytes: number;
}

export type TopologyChange = { kind: 'split'; shard: ShardId } | { kind: 'merge'; shard: ShardId; into: ShardId };

/**
 * The next topology change a range-partitioned cluster needs, or undefined: first the fullest
 * shard over a limit (a shard of one entry cannot split), then the smallest adjacent pair whose
 * combined bytes are below minShardBytes (and fit well under maxShardBytes, so a merge never
 * triggers a split). Pure: the manager canister and MemoryCluster decide alike.
 */
export function chooseChange(map: RangePartitioner, loads: readonly ShardLoad[], limits: TopologyLimits): TopologyChange | undefined {
  const byShard = new Map(loads.map((l) => [l.shard, l]));
  const over = loads
    .filter((l) => l.entries > 1 && ((limits.maxShardBytes > 0 && l.logicalBytes > limits.maxShardBytes) || (limits.maxShardMemoryBytes > 0 && l.memoryBytes > limits.maxShardMemoryBytes)))
    .sort((a, b) => b.logicalBytes - a.logicalBytes);
  if (over.length > 0) return { kind: 'split', shard: over[0].shard };
  if (limits.minShardBytes <= 0) return undefined;
  const ranges = map.ranges();
  let best: { from: ShardId; into: ShardId; bytes: number } | undefined;
  for (let i = 0; i + 1 < ranges.length; i++) {
    const a = byShard.get(ranges[i].shard), b = byShard.get(ranges[i + 1].shard);
    if (a === undefined || b === undefined) continue;
    const bytes = a.logicalBytes + b.logicalBytes;
    const fits = limits.maxShardBytes <= 0 || bytes <= limits.maxShardBytes / 2;
    if (bytes < limits.minShardBytes && fits && (best === undefined || bytes < best.bytes)) {
      // The smaller side moves (fewer bytes through messages).
      best = a.logicalBytes <= b.logicalBytes ? { from: a.shard, into: b.shard, bytes } : { from: b.shard, into: a.shard, bytes };
    }
  }
  return best === undefined ? undefined : { kind: 'merge', shard: best.from, into: best.into };
}
