// `shardorm/testing`: test a sharded application the way ShardORM tests itself — record what
// concurrent clients saw (HistoryRecorder), check it is linearizable per key (checkLinearizable),
// and drive seeded concurrent workloads with faults, splits and merges (simulate). The recorder
// and checker use no Node built-ins, so they run in Node, browsers and canisters alike.
import '../model/symbol-metadata.js';
export { checkLinearizable } from './checker.js';
export type { CheckOptions, CounterexampleOp, LinearizabilityResult } from './checker.js';
export { DEFAULT_MAX_STATES } from './search.js';
export { HISTORY_FORMAT, historyOps, parseHistory } from './history.js';
export type { History, HistoryEvent, HistoryOp, HistoryOpName, InvokeEvent, CompleteEvent, CollectionInfo, Outcome } from './history.js';
export { canonical, toJson } from './values.js';
export type { Json, JsonObject } from './values.js';
export { syntheticHistory, SYNTHETIC_COLLECTION } from './synthetic.js';
export type { SyntheticHistoryOptions } from './synthetic.js';
export { HistoryRecorder, classifyShardOrmError, RECORDED_METHODS } from './recorder.js';
export type { ErrorClassifier, HistoryRecorderOptions, WrapOptions } from './recorder.js';
export { simulate } from './simulate.js';
export { formatSimulationFailure, MAX_SIM_CLIENTS, MAX_SIM_OPERATIONS, MAX_SIM_KEYS } from './simulation-result.js';
export type { SimulationFaults, SimulationOptions, SimulationResult, SimulationStats } from './simulation-result.js';
export type { SimulationTarget, SimulatedRepository } from './simulation-target.js';
export { memoryClusterTarget } from './memory-target.js';
export { SimulatedFault } from './sim-network.js';
export { SimRecord } from './sim-workload.js';
export { digestOf } from './digest.js';
