// `shardorm/client`: talk to a ShardORM cluster from Node or a browser over any @dfinity/agent
// Agent (the local replica over HTTP or in-process, dfx, mainnet). No Node built-ins.
export { ShardedClient } from './client.js';
export type { ConnectOptions, ClusterStatus, ShardStatus, MigrationStatus } from './client.js';
export { deployCluster, uploadChunks, CHUNK_BYTES, MAX_WASM_BYTES, DEFAULT_SHARD_CYCLES, DEFAULT_MAX_SHARD_BYTES } from './deploy.js';
export type { DeployClusterOptions, DeployedCluster } from './deploy.js';
export { AgentTransport, classifyAgentError } from './transport.js';
export { managementCanister, managementIdlFactory, PROVISIONAL_EFFECTIVE_ID } from './management.js';
export type { ManagementCanister, InstallMode, Snapshot, CanisterStatusResult, SnapshotMetadata, SnapshotReadKind, SnapshotUploadKind, SnapshotUploadMetadata, SnapshotGlobal } from './management.js';
