// Topology changes: planning over partition maps, and the migration state machine with its driver.
export * from './migration.js';
export { drive, MAX_EFFECTS_PER_DRIVE } from './driver.js';
export type { EffectRunner, MigrationJournal, ProgressListener } from './driver.js';
export { medianSplitPoint, splitMap, mergeMap, mergeTarget, moveMisplaced, affectedShards, forEachPage, MIGRATION_BATCH } from './planning.js';
