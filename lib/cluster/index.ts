export { MemoryCluster, MAX_MEMORY_SHARDS, DEFAULT_MAX_SHARD_BYTES } from './memory-cluster.js';
export type { MemoryClusterOptions, ShardInfo, ClusterStats } from './memory-cluster.js';
export { ShardNode, routeOp } from './router.js';
export type { Route, NodeStats } from './router.js';
export { medianSplitPoint, splitMap, mergeMap, mergeTarget, moveMisplaced, affectedShards, MIGRATION_BATCH } from './split-merge.js';
