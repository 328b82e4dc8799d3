// `shardorm`: the model layer, repositories, partitioners, the shard protocol, the shard node,
// the migration state machine and the in-memory cluster. Pure TypeScript without Node built-ins:
// canisters (QuickJS), clients and tests import the same code.
export * from './model/index.js'; // first: it installs the Symbol.metadata polyfill
export * from './repository/index.js';
export * from './protocol/index.js';
export * from './shard/index.js';
export * from './topology/index.js';
export * from './cluster/index.js';
export {
  RangePartitioner,
  AnchorHashPartitioner,
  partitionerFromJSON,
  PartitionError,
  hashShardKey,
  HASH_SPACE,
} from './partition/index.js';
export type { Partitioner, PartitionerJSON, ShardId, ShardRange, RangePartitionerJSON } from './partition/index.js';
