// Rebinding a restored shard to its clone (`shardorm clone`): a snapshot loaded onto a fresh
// canister still names the ORIGINAL cluster — its map's shard ids and its manager. The clone's
// manager sends the map with every id renamed and itself as manager (`rebind_shard`). Who may:
// only a controller of this canister. Not the manager the state names: in a restored shard that is
// the original's manager, which must not be able to point a clone (or anything) elsewhere. The
// clone's canisters were created by the cloning identity with the clone's manager as co-controller,
// so both may; the original manager controls none of them.
import { ForbiddenError, ValidationError } from '../model/errors.js';
import { RangePartitioner, type RangePartitionerJSON } from '../partition/index.js';
import { parseMap } from '../protocol/candid.js';
import type { ShardState } from '../shard/state.js';

/**
 * Checks that `next` is `current` with shard ids renamed one to one (same ranges, epoch + 1, or
 * the same map again: idempotent) and that `self` owns the range it owned under its old id.
 */
export function checkRename(current: RangePartitionerJSON, next: RangePartitionerJSON, self: string): void {
  const a = RangePartitioner.fromJSON(current).ranges();
  const b = RangePartitioner.fromJSON(next).ranges();
  const same = JSON.stringify(current) === JSON.stringify(next);
  if (!same && next.epoch !== current.epoch + 1) throw new ValidationError(`a rebound map has epoch ${current.epoch + 1} (this shard is at ${current.epoch}), not ${next.epoch}`);
  if (a.length !== b.length || a.some((r, i) => r.start !== b[i].start || r.end !== b[i].end)) throw new ValidationError('a rebound map must have the same ranges as this shard\'s map: only shard ids change');
  const renames = new Map<string, string>();
  a.forEach((r, i) => {
    const prior = renames.get(r.shard);
    if (prior !== undefined && prior !== b[i].shard) throw new ValidationError(`${r.shard} is renamed to both ${prior} and ${b[i].shard}`);
    renames.set(r.shard, b[i].shard);
  });
  if (new Set(renames.values()).size !== renames.size) throw new ValidationError('two shards are renamed to one id');
  if (!b.some((r) => r.shard === self)) throw new ValidationError(`the rebound map does not name this canister (${self})`);
}

/** The shard state after a rebind: the renamed map and the new manager; nothing of a migration may be pending. */
export function reboundState(options: { state: ShardState; map: string; manager: string; self: string; callerIsController: boolean; caller: string }): ShardState {
  const { state } = options;
  if (!options.callerIsController) throw new ForbiddenError(`${options.caller} may not call rebind_shard: only a controller of this canister may (not even the manager it names)`);
  if (state.outgoing !== undefined || state.incoming !== undefined) throw new ValidationError('this shard is in a migration: a clone is restored from a backup taken between migrations');
  const next = parseMap(options.map) as RangePartitionerJSON;
  checkRename(state.map as RangePartitionerJSON, next, options.self);
  const { completed: _c, completedWith: _w, askedAtEpoch: _a, ...rest } = state;
  return { ...rest, map: next, manager: options.manager };
}
