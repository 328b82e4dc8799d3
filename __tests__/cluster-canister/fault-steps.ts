// The steps of each migration kind as the manager performs them on the IC: for every phase of
// lib/topology/migration.ts, the one call its effect makes first (callee and method). The fault
// tests use it to aim a fault at a step: a trap in the shard method the step calls, a reject of
// the management call it makes, or a pause while that call is in flight.
import type { Phase } from '../../lib/topology/migration.js';

export type MigrationCase = 'snapshot' | 'stream' | 'merge';
/** Who receives a step's call: the migration's source or target shard, the management canister, or the other shards. */
export type Callee = 'source' | 'target' | 'management' | 'others';

export interface Step {
  phase: Phase;
  callee: Callee;
  method: string;
}

const step = (phase: Phase, callee: Callee, method: string): Step => ({ phase, callee, method });

export const STEPS: Record<MigrationCase, readonly Step[]> = {
  snapshot: [
    step('planned', 'source', 'split_point'),
    step('pointed', 'management', 'create_canister'),
    step('target-created', 'source', 'prepare_migration'),
    step('prepared', 'management', 'stop_canister'),
    step('source-stopped', 'management', 'take_canister_snapshot'),
    step('snapshotted', 'management', 'start_canister'),
    step('source-started', 'management', 'stop_canister'),
    step('target-stopped', 'management', 'load_canister_snapshot'),
    step('loaded', 'management', 'start_canister'),
    step('target-installed', 'target', 'accept_migration'),
    step('copied', 'source', 'push_delta'),
    step('caught-up', 'source', 'cutover'),
    step('cut-over', 'others', 'adopt_map'),
    step('announced', 'management', 'delete_canister_snapshot'),
  ],
  stream: [
    step('planned', 'source', 'split_point'),
    step('pointed', 'management', 'create_canister'),
    step('target-created', 'source', 'prepare_migration'),
    step('prepared', 'management', 'install_chunked_code'),
    step('target-installed', 'target', 'accept_migration'),
    step('target-ready', 'source', 'copy_batch'),
    step('copied', 'source', 'push_delta'),
    step('caught-up', 'source', 'cutover'),
    step('cut-over', 'others', 'adopt_map'),
  ],
  merge: [
    step('target-created', 'source', 'prepare_migration'),
    step('prepared', 'target', 'accept_migration'),
    step('target-ready', 'source', 'copy_batch'),
    step('copied', 'source', 'push_delta'),
    step('caught-up', 'source', 'cutover'),
    step('cut-over', 'others', 'adopt_map'),
    step('announced', 'source', 'drain_cycles'),
    step('source-drained', 'management', 'delete_canister'),
  ],
};

export type FaultKind = 'trap' | 'reject' | 'stop-source' | 'stop-target' | 'upgrade-manager' | 'upgrade-source' | 'upgrade-target';

/** The fault kinds that make sense at a step: a trap where a shard method runs, a reject where the management canister is called. */
export function faultKindsAt(s: Step): FaultKind[] {
  const kinds: FaultKind[] = [s.callee === 'management' ? 'reject' : 'trap', 'stop-source'];
  // Before create_canister there is no target; a merge's target is a running shard from the start.
  if (!['planned', 'pointed'].includes(s.phase)) kinds.push('stop-target');
  kinds.push('upgrade-manager');
  return kinds;
}
