// shardorm/canister: turns an Azle 0.33 canister into a ShardORM shard.
//   export default [shardCanister({ entities: [Snippet] }), class App { ... repository(Snippet) ... }];
// See docs/shard-interface.md for the Candid interface every shard serves.
export { shardCanister, MAINTENANCE_INTERVAL_S, PRUNE_STEPS_PER_TICK, DRAIN_RESERVE_CYCLES } from './shard-canister.js';
export type { ShardCanisterOptions } from './runtime.js';
export { repository } from './repository.js';
export { RoutedBy, MAX_ROUTED_METHODS } from './routed-by.js';
export type { RoutedByOptions } from './routed-by.js';
export { caller, MAX_ROUTED_IN_FLIGHT } from './caller.js';
export { InitArgIdl, RoleIdl, NO_TRIGGERS, initialState, settingsFromCandid, settingsToCandid } from './init-arg.js';
export type { InitArgCandid, SettingsCandid } from './init-arg.js';
export { canisterPeers } from './peers.js';
export { didNotExecute, callFailure } from './call-failure.js';
export { stableDeltaLog, stableStateCell, encodeDeltaEntry, decodeDeltaEntry, DELTA_LOG_MEMORY_ID, STATE_CELL_MEMORY_ID } from './stable-cells.js';
export { stableKv, stableByteMap, SHARD_STORE_MEMORY_IDS, SHARDORM_MEMORY_IDS, MAX_MEMORY_ID } from './stable-store.js';
export type { StableKvOptions, StoreMemoryIds } from './stable-store.js';
export { CandidCodec, codecOf } from './fast-candid.js';
