// Rebinding a clone without canisters: a shard takes only a one-to-one rename of its own map from
// a controller (never from the manager its restored state names), and the manager renames its map,
// journal and deployer, idempotently.
import { ClusterManager, type ManagerHost } from '../../lib/manager/manager.js';
import { reboundState } from '../../lib/canister/rebind.js';
import { RangePartitioner } from '../../lib/partition/index.js';
import type { ShardState } from '../../lib/shard/state.js';

const old = RangePartitioner.single('a').split('a', 1n << 63n, 'b').toJSON();
const renamed = { ...old, epoch: old.epoch + 1, ranges: old.ranges.map((r) => ({ ...r, shard: r.shard === 'a' ? 'x' : 'y' })) };
const state: ShardState = { map: old, manager: 'old-manager', settings: { maxShardBytes: 0, maxShardMemoryBytes: 0, minShardBytes: 0 }, completedWith: 'b', askedAtEpoch: 1 };
const rebind = (over: Partial<Parameters<typeof reboundState>[0]>) =>
  reboundState({ state, map: JSON.stringify(renamed), manager: 'new-manager', self: 'x', callerIsController: true, caller: 'me', ...over });

test('a controller rebinds a shard: renamed map, new manager, no trace of the original', () => {
  expect(rebind({})).toEqual({ map: renamed, manager: 'new-manager', settings: state.settings });
  expect(rebind({ state: { ...state, map: renamed } }).map).toEqual(renamed); // again: idempotent
});

test('refused: a non-controller (the manager the state names too), another map, a map without this shard', () => {
  expect(() => rebind({ callerIsController: false, caller: 'old-manager' })).toThrow(/only a controller of this canister may/);
  const moved = { ...renamed, ranges: renamed.ranges.map((r, i) => (i === 0 ? { ...r, end: '5' } : i === 1 ? { ...r, start: '5' } : r)) };
  expect(() => rebind({ map: JSON.stringify(moved) })).toThrow(/same ranges/);
  expect(() => rebind({ map: JSON.stringify({ ...renamed, ranges: renamed.ranges.map((r) => ({ ...r, shard: 'x' })) }) })).toThrow();
  expect(() => rebind({ self: 'z' })).toThrow(/does not name this canister/);
  expect(() => rebind({ map: JSON.stringify({ ...renamed, epoch: old.epoch + 5 }) })).toThrow(/epoch/);
});

test('the manager renames its map (epoch + 1), history and deployer; a second call changes nothing', () => {
  let saved = 0;
  const host = { now: () => 0n, reports: async () => [], cycles: async () => undefined, topUp: async () => undefined, effects: { perform: async () => ({ ok: true as const }) }, save: () => void saved++ } as ManagerHost;
  const m = new ClusterManager({ state: { ...ClusterManager.initialState({ shard: 'a', deployer: 'd', settings: { maxShardBytes: 0, maxShardMemoryBytes: 0, minShardBytes: 0, splitMethod: 'snapshot', shardCycles: 0n, topUpBelowCycles: 0n, topUpCycles: 0n } }), map: old }, host });
  const renames = new Map([['a', 'x'], ['b', 'y']]);
  expect(m.rebind({ renames, deployer: 'cloner' })).toEqual(renamed);
  expect(m.deployer).toBe('cloner');
  expect(m.rebind({ renames, deployer: 'cloner' })).toEqual(renamed);
  expect(saved).toBe(1);
  expect(() => new ClusterManager({ state: { ...m.snapshot(), map: old }, host }).rebind({ renames: new Map([['a', 'x']]), deployer: 'c' })).toThrow(/no new id for shard b/);
});
