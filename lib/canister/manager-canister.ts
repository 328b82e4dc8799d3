// The manager role inside the one ShardORM Wasm: installed with `role = manager`, a canister holds
// the cluster's authoritative map, the shard Wasm in its own chunk store (uploaded by
// deployCluster), and the journal of the migration in flight (lib/manager/manager.ts). A timer
// ticks the manager; controllers may tick it now (`drive`) or ask for a split or merge. It holds
// no entity data and is never on the data path: shards route among themselves.
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { canisterSelf, inReplicatedExecution, isController, msgCaller, query, setTimerInterval, time, update } from 'azle';
import { ForbiddenError, ValidationError } from '../model/errors.js';
import { ClusterManager, type ClusterSettings, type ManagerState } from '../manager/manager.js';
import { RangePartitioner, type RangePartitionerJSON } from '../partition/index.js';
import { ReportIdl, reportFromCandid, Reply, TopologyChangeRequestIdl } from '../protocol/candid.js';
import type { CopyMethod, ShardReport } from '../protocol/housekeeping.js';
import { ClusterInfoIdl, ClusterSettingsIdl, ClusterStatusIdl, TickIdl } from '../protocol/manager-candid.js';
import { fromTaggedJson, toTaggedJson } from '../protocol/tagged-json.js';
import type { Migration } from '../topology/migration.js';
import { answer } from './answer.js';
import { createShardCanister, cyclesOf, depositCycles, icEffectRunner, installShard } from './manager-effects.js';
import { callReply } from './peers.js';
import { shardStorage } from './runtime.js';
import { stableByteMap } from './stable-store.js';

/** Memory id of the manager's record (inside ShardORM's reserved 200–219 range). */
export const MANAGER_MEMORY_ID = 212;
/** Seconds between manager ticks (each runs at most MAX_EFFECTS_PER_DRIVE effects). */
export const MANAGER_TICK_S = 2;
/** A tick that has not finished after this long is considered lost (a trap in a callback). */
export const TICK_LEASE_NS = 300_000_000_000n;

interface ManagerRecord {
  deployer: string;
  settings: ClusterSettings;
  wasm?: { hash: Uint8Array; chunks: Uint8Array[] };
  cluster?: ManagerState;
}

const KEY = Uint8Array.of(0);
let cell: ReturnType<typeof stableByteMap> | undefined;
/**
 * The record lives in the heap between messages (reloaded from stable memory after an upgrade), so
 * every message — a tick suspended at an await, an admin request arriving meanwhile — changes the
 * same object and none overwrites another's change with a stale copy.
 */
let cached: ManagerRecord | undefined;
let cachedManager: { record: ManagerRecord; manager: ClusterManager } | undefined;
let tickingSince: bigint | undefined;
let timerArmed = false;

function store(): ReturnType<typeof stableByteMap> {
  cell ??= stableByteMap(MANAGER_MEMORY_ID);
  return cell;
}

function load(): ManagerRecord | undefined {
  if (cached === undefined) {
    const bytes = store().get(KEY);
    cached = bytes === undefined ? undefined : fromTaggedJson<ManagerRecord>(new TextDecoder().decode(bytes));
  }
  return cached;
}

function save(record: ManagerRecord): void {
  cached = record;
  store().insert(KEY, new TextEncoder().encode(toTaggedJson(record)));
}

function record(): ManagerRecord {
  const r = load();
  if (r === undefined) throw new ValidationError(`${canisterSelf().toText()} is not a ShardORM manager (install it with role = manager)`);
  return r;
}

export function isManagerCanister(): boolean {
  return load() !== undefined;
}

/** Defaults for the cluster-level settings a manager starts with (update_cluster_settings changes them). */
export function defaultClusterSettings(limits: { maxShardBytes: number; maxShardMemoryBytes: number; minShardBytes: number }): ClusterSettings {
  return { ...limits, splitMethod: 'snapshot', shardCycles: 5_000_000_000_000n, topUpBelowCycles: 1_000_000_000_000n, topUpCycles: 2_000_000_000_000n };
}

/** Called by init (role = manager): the installer is the deployer, a controller of every shard. */
export function startManager(settings: ClusterSettings): void {
  const existing = load();
  save({ ...(existing ?? {}), deployer: existing?.deployer ?? msgCaller().toText(), settings });
  armTimer();
}

/** Re-arms the tick timer after an upgrade (timers do not survive one). */
export function resumeManager(): void {
  cached = undefined;
  cachedManager = undefined;
  timerArmed = false;
  tickingSince = undefined;
  if (isManagerCanister()) armTimer();
}

function armTimer(): void {
  if (timerArmed || !inReplicatedExecution()) return;
  timerArmed = true;
  setTimerInterval(MANAGER_TICK_S, () => tick().then(() => undefined, () => undefined));
}

function manager(r: ManagerRecord): ClusterManager {
  if (r.cluster === undefined) throw new ValidationError('the cluster has no shards yet: call bootstrap first (deployCluster does)');
  if (cachedManager?.record === r) return cachedManager.manager;
  const host = {
    now: () => time(),
    reports: (shards: string[]) => reports(shards),
    cycles: (shard: string) => cyclesOf(shard),
    topUp: (shard: string, cycles: bigint) => depositCycles(shard, cycles),
    effects: icEffectRunner({ wasm: () => wasmOf(r), settings: () => r.settings, deployer: () => r.deployer }),
    save: (state: ManagerState) => {
      r.cluster = state;
      save(r);
    },
    announce: async (shards: string[], map: RangePartitionerJSON) => {
      await Promise.all(shards.map((s) => callReply({ target: s, method: 'adopt_map', argType: IDL.Text, arg: JSON.stringify(map), okType: IDL.Bool, write: true }).catch(() => undefined)));
    },
  };
  cachedManager = { record: r, manager: new ClusterManager({ state: r.cluster, host }) };
  return cachedManager.manager;
}

function wasmOf(r: ManagerRecord): { hash: Uint8Array; chunks: Uint8Array[] } {
  if (r.wasm === undefined) throw new ValidationError('no shard Wasm in the chunk store: call bootstrap with its hashes');
  return r.wasm;
}

async function reports(shards: string[]): Promise<ShardReport[]> {
  const out = await Promise.all(
    shards.map(async (s) => {
      try {
        return reportFromCandid(await callReply({ target: s, method: 'shard_report', argType: IDL.Null, arg: null, okType: ReportIdl, write: false }));
      } catch {
        return undefined; // a stopped or busy shard is left out of this round's planning
      }
    }),
  );
  return out.filter((r): r is ShardReport => r !== undefined);
}

/** One housekeeping round (at most one at a time: a lease guards against overlapping timer ticks). */
async function tick(): Promise<{ started?: string; effects: number; toppedUp: string[] }> {
  const now = time();
  if (tickingSince !== undefined && now - tickingSince < TICK_LEASE_NS) return { effects: 0, toppedUp: [] };
  const r = load();
  if (r?.cluster === undefined) return { effects: 0, toppedUp: [] };
  tickingSince = now;
  try {
    return await manager(r).tick();
  } finally {
    tickingSince = undefined;
  }
}

function controllerOnly(method: string): ManagerRecord {
  const r = record();
  if (!isController(msgCaller())) throw new ForbiddenError(`${msgCaller().toText()} may not call ${method}: only a controller of the manager may`);
  return r;
}

function migrationToCandid(m: Migration) {
  return {
    id: m.id, kind: m.kind, method: m.method, state: m.phase, source: Principal.fromText(m.source), target: m.target === undefined ? [] : [Principal.fromText(m.target)],
    last_error: m.rollback?.reason !== undefined ? [m.rollback.reason] : m.lastError === undefined ? [] : [m.lastError],
    copied_rows: BigInt(m.copiedRows), copied_bytes: BigInt(m.copiedBytes),
  };
}

function settingsToCandid(s: ClusterSettings) {
  return {
    max_shard_bytes: BigInt(s.maxShardBytes), max_shard_memory_bytes: BigInt(s.maxShardMemoryBytes), min_shard_bytes: BigInt(s.minShardBytes),
    split_method: s.splitMethod, shard_cycles: s.shardCycles, top_up_below_cycles: s.topUpBelowCycles, top_up_cycles: s.topUpCycles,
  };
}

function settingsFromCandid(s: ReturnType<typeof settingsToCandid>): ClusterSettings {
  if (s.split_method !== 'snapshot' && s.split_method !== 'stream') throw new ValidationError(`split_method must be 'snapshot' or 'stream', not ${s.split_method}`);
  const n = (v: bigint, name: string) => {
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ValidationError(`${name} is above 2^53 - 1`);
    return Number(v);
  };
  return {
    maxShardBytes: n(s.max_shard_bytes, 'max_shard_bytes'), maxShardMemoryBytes: n(s.max_shard_memory_bytes, 'max_shard_memory_bytes'), minShardBytes: n(s.min_shard_bytes, 'min_shard_bytes'),
    splitMethod: s.split_method as CopyMethod, shardCycles: s.shard_cycles, topUpBelowCycles: s.top_up_below_cycles, topUpCycles: s.top_up_cycles,
  };
}

/** The manager's methods, served by every ShardORM canister (a shard answers them with an err, cluster_info as itself). */
export class ShardOrmManagerMethods {
  @query([], ClusterInfoIdl)
  cluster_info() {
    const r = load();
    if (r !== undefined) return { role: 'manager', map: r.cluster === undefined ? '' : JSON.stringify(r.cluster.map), manager: [canisterSelf()] };
    const state = shardStorage().state.load();
    return { role: 'shard', map: state === undefined ? '' : JSON.stringify(state.map), manager: state?.manager === undefined ? [] : [Principal.fromText(state.manager)] };
  }

  @query([], Reply(ClusterStatusIdl), { composite: true })
  async cluster_status() {
    return answer(async () => {
      const r = record();
      const cluster = r.cluster;
      if (cluster === undefined) return { epoch: 0n, map: '', shards: [], migrations: [], queued: 0 };
      const shards = RangePartitioner.fromJSON(cluster.map).shards();
      const reportsNow = await reports(shards);
      const migrations = [...(cluster.active === undefined ? [] : [cluster.active]), ...[...cluster.history].reverse()].map(migrationToCandid);
      return { epoch: BigInt(cluster.map.epoch), map: JSON.stringify(cluster.map), shards: reportsNow.map((x) => ({ ...x, shard: Principal.fromText(x.shard), epoch: BigInt(x.epoch), entities: BigInt(x.entities), logical_bytes: BigInt(x.logicalBytes), memory_bytes: BigInt(x.memoryBytes), migration: x.migration === undefined ? [] : [{ ...x.migration, logged: BigInt(x.migration.logged) }] })), migrations, queued: cluster.requests.length };
    });
  }

  @update([TopologyChangeRequestIdl], undefined)
  request_topology_change(req: { kind: Record<string, null>; shard: Principal; epoch: bigint }): void {
    const r = load();
    if (r?.cluster === undefined) return;
    try {
      manager(r).shardRequest({ kind: 'split' in req.kind ? 'split' : 'merge', shard: req.shard.toText(), epoch: Number(req.epoch) }, msgCaller().toText());
    } catch {
      // A request from a stranger, or a full queue: ignored (the shard asks again next epoch).
    }
  }

  @update([IDL.Record({ wasm_hash: IDL.Vec(IDL.Nat8), chunk_hashes: IDL.Vec(IDL.Vec(IDL.Nat8)) })], Reply(IDL.Principal))
  async bootstrap(arg: { wasm_hash: Uint8Array; chunk_hashes: Uint8Array[] }) {
    return answer(async () => {
      const r = controllerOnly('bootstrap');
      if (r.cluster !== undefined) return Principal.fromText(RangePartitioner.fromJSON(r.cluster.map).shards()[0]); // bootstrapped already
      if (arg.chunk_hashes.length === 0) throw new ValidationError('bootstrap needs the hashes of the shard Wasm chunks uploaded to this canister');
      r.wasm = { hash: Uint8Array.from(arg.wasm_hash), chunks: arg.chunk_hashes.map((h) => Uint8Array.from(h)) };
      save(r);
      const ctx = { wasm: () => wasmOf(r), settings: () => r.settings, deployer: () => r.deployer };
      const shard = await createShardCanister(ctx);
      const map = RangePartitioner.single(shard).toJSON();
      await installShard(ctx, shard, map, 'install');
      r.cluster = { ...ClusterManager.initialState({ shard, deployer: r.deployer, settings: r.settings }), map };
      save(r);
      armTimer();
      return Principal.fromText(shard);
    });
  }

  @update([IDL.Record({ shard: IDL.Principal, method: IDL.Opt(IDL.Text) })], Reply(IDL.Null))
  split_shard(arg: { shard: Principal; method: [] | [string] }) {
    return answer(() => {
      const m = arg.method[0];
      if (m !== undefined && m !== 'snapshot' && m !== 'stream') throw new ValidationError(`method must be 'snapshot' or 'stream', not ${m}`);
      manager(controllerOnly('split_shard')).adminRequest({ kind: 'split', shard: arg.shard.toText(), ...(m === undefined ? {} : { method: m as CopyMethod }) });
      return null;
    });
  }

  @update([IDL.Record({ shard: IDL.Principal, into: IDL.Opt(IDL.Principal) })], Reply(IDL.Null))
  merge_shard(arg: { shard: Principal; into: [] | [Principal] }) {
    return answer(() => {
      manager(controllerOnly('merge_shard')).adminRequest({ kind: 'merge', shard: arg.shard.toText(), ...(arg.into.length === 0 ? {} : { into: arg.into[0].toText() }) });
      return null;
    });
  }

  @update([ClusterSettingsIdl], Reply(IDL.Null))
  update_cluster_settings(s: ReturnType<typeof settingsToCandid>) {
    return answer(() => {
      const r = controllerOnly('update_cluster_settings');
      r.settings = settingsFromCandid(s);
      if (r.cluster !== undefined) manager(r).updateSettings(r.settings);
      save(r);
      return null;
    });
  }

  @update([], Reply(TickIdl))
  async drive() {
    return answer(async () => {
      controllerOnly('drive');
      const t = await tick();
      return { started: t.started === undefined ? [] : [t.started], effects: t.effects, topped_up: t.toppedUp.map((p) => Principal.fromText(p)) };
    });
  }
}

export { settingsToCandid as clusterSettingsToCandid };
