// The shard protocol: data ops and results, housekeeping messages, and the Candid interface.
export * from './ops.js';
export * from './housekeeping.js';
export * from './candid.js';
export * from './tagged-json.js';
