export { MemoryCluster, MAX_MEMORY_SHARDS, DEFAULT_MAX_SHARD_BYTES, MEMORY_CONTROLLER } from './memory-cluster.js';
export type { MemoryClusterOptions, ShardInfo, ClusterStats } from './memory-cluster.js';
