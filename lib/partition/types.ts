/** Shared types of the partitioning layer (kept apart so range.ts and anchor.ts do not import each other). */

/** A shard's identity: a canister principal as text, or e.g. 'shard-3' in a MemoryCluster. */
export type ShardId = string;

/** A half-open slice [start, end) of the 64-bit hash space owned by one shard; end ≤ 2^64. */
export interface ShardRange {
  start: bigint;
  end: bigint;
  shard: ShardId;
}

/** One topology change of an AnchorHash partitioner, in the order every node must apply it. */
export type PartitionChange = { op: 'add'; shard: ShardId } | { op: 'remove'; shard: ShardId };

/** Persisted / shipped form of a RangePartitioner: bigints as decimal strings. */
export interface RangePartitionerJSON {
  kind: 'range';
  version: 1;
  epoch: number;
  ranges: { start: string; end: string; shard: ShardId }[];
}

/** Persisted / shipped form of an AnchorHashPartitioner: its creation plus its change log. */
export interface AnchorPartitionerJSON {
  kind: 'anchor';
  version: 1;
  epoch: number;
  capacity: number;
  initialShards: ShardId[];
  changes: PartitionChange[];
}

export type PartitionerJSON = RangePartitionerJSON | AnchorPartitionerJSON;

/** Maps a 64-bit key hash to the shard that owns it. Implementations are immutable values. */
export interface Partitioner {
  readonly kind: 'range' | 'anchor';
  /** +1 on every topology change; a shard answering for an older epoch tells the caller to refresh. */
  readonly epoch: number;
  shardFor(hash: bigint): ShardId;
  shards(): ShardId[];
  toJSON(): PartitionerJSON;
}
