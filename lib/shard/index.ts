// What runs inside every shard: the node (routing, forwarding, migrations), the executor, access
// rules, the delta log and the persisted shard state.
export { ShardNode, PRUNE_BATCH } from './node.js';
export type { NodeStats } from './node.js';
export { routeOp, forwardFailure } from './routing.js';
export type { Route } from './routing.js';
export type { ShardStorage, ShardPeers, ShardHost } from './ports.js';
export { executeOp, upgradeRows, ownedRange, CONTROLLER } from './executor.js';
export type { ShardContext } from './executor.js';
export type { RequestCaller } from './access.js';
export { MemoryDeltaLog, MAX_DELTA_LOG_BYTES } from './delta-log.js';
export type { DeltaLogStore } from './delta-log.js';
export { MemoryStateCell, encodeState, decodeState } from './state.js';
export type { ShardState, ShardSettings, StateCell, OutgoingMigration, IncomingMigration } from './state.js';
export { walkHashRange, medianHash } from './hash-ranges.js';
