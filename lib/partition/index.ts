/**
 * Partitioning: which shard owns a key. Keys hash to a 64-bit space (hashShardKey, XXH64);
 * a Partitioner maps a hash to a shard. RangePartitioner is the default (split a full shard at
 * its median, merge neighbours); AnchorHashPartitioner is the uniform alternative.
 * Pure TypeScript with no Node built-ins: this module also runs inside Azle (QuickJS) canisters.
 */
import { AnchorHashPartitioner } from './anchor.js';
import { PartitionError } from './errors.js';
import { RangePartitioner } from './range.js';
import type { Partitioner, PartitionerJSON } from './types.js';

export { AnchorHashPartitioner, MAX_ANCHOR_CAPACITY, MAX_ANCHOR_CHANGES } from './anchor.js';
export { MAX_SHARD_ID_LENGTH, PartitionError, type PartitionErrorCode } from './errors.js';
export { checkHash, HASH_SPACE, hashFromBytes, hashShardKey, hashToBytes, MAX_SHARD_KEY_BYTES } from './hash.js';
export { MAX_RANGE_SHARDS, RangePartitioner } from './range.js';
export type {
  AnchorPartitionerJSON,
  PartitionChange,
  Partitioner,
  PartitionerJSON,
  RangePartitionerJSON,
  ShardId,
  ShardRange,
} from './types.js';

/** Rebuilds whichever partitioner `json` (from toJSON()) describes. */
export function partitionerFromJSON(json: PartitionerJSON): Partitioner {
  const kind = (json as { kind?: unknown } | null)?.kind;
  if (kind === 'range') return RangePartitioner.fromJSON(json as Extract<PartitionerJSON, { kind: 'range' }>);
  if (kind === 'anchor') return AnchorHashPartitioner.fromJSON(json as Extract<PartitionerJSON, { kind: 'anchor' }>);
  throw new PartitionError('invalid-json', `unknown partitioner kind ${JSON.stringify(kind)}: expected 'range' or 'anchor' (the output of toJSON())`);
}
