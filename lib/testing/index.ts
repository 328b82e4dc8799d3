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
