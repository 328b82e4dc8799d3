// What shards and the manager say to each other while the topology changes (lib/topology drives
// it). Plain data, carried as Candid like the data ops. A plan is made by the manager and
// persisted on both sides: the source logs writes to `moving` and the target takes them.
import type { PartitionerJSON, ShardId } from '../partition/index.js';

/** Entries of the moving range one copy or delta batch may carry (and at most MAX_BATCH_BYTES). */
export const MAX_MIGRATION_BATCH_ENTRIES = 2048;
/** Bytes (keys + values) of one copy or delta batch: well under the 2 MiB message limit. */
export const MAX_BATCH_BYTES = 1024 * 1024;

export type MigrationKind = 'split' | 'merge';
/** How the bulk reaches the target: a snapshot loaded onto it (no entity bytes in messages) or a streamed copy. */
export type CopyMethod = 'snapshot' | 'stream';

export interface MigrationPlan {
  id: string;
  kind: MigrationKind;
  method: CopyMethod;
  source: ShardId;
  target: ShardId;
  /** The hash range [start, end) that moves from source to target. */
  start: bigint;
  end: bigint;
  /** The map both adopt at cutover (epoch = the current map's + 1). */
  next: PartitionerJSON;
}

/** One write to the moving range, in the order the source made it; `value` undefined = deleted. */
export interface DeltaEntry {
  seq: bigint;
  key: Uint8Array;
  value?: Uint8Array;
}

export interface DeltaBatch {
  migration: string;
  entries: DeltaEntry[];
  /** Sent with the last batch of the cutover: the target owns the range from then on. */
  adopt?: PartitionerJSON;
}

export interface RowsBatch {
  migration: string;
  rows: [Uint8Array, Uint8Array][];
}

/** What a target answers to a batch: the highest delta sequence number it has applied. */
export interface BatchAck {
  applied: bigint;
}

/** A shard's own view of itself, for the manager's planning and for `status`. */
export interface ShardReport {
  shard: ShardId;
  epoch: number;
  start: bigint;
  end: bigint;
  entities: number;
  logicalBytes: number;
  memoryBytes: number;
  cycles: bigint;
  /** The migration this shard is in, as source or target. */
  migration?: { id: string; role: 'source' | 'target'; fenced: boolean; logged: number };
}
