// The manager role inside the one ShardORM Wasm: installed with `role = manager`, a canister holds
// the cluster's authoritative map, the shard Wasm in its own chunk store (uploaded by
// deployCluster), and the journal of the migration in flight (lib/manager/manager.ts). A timer
// ticks the manager; controllers may tick it now (`drive`) or ask for a split or merge. It holds
// no entity data and is never on the data path: shards route among themselves.
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { canisterSelf, inReplicatedExecution, isController, msgCaller, query, setTimerInterval, time, update } from 'azle';
import { ForbiddenError, UnavailableError, ValidationError } from '../model/errors.js';
import { ClusterManager, type ClusterSettings, type ManagerState } from '../manager/manager.js';
import { RangePartitioner, type RangePartitionerJSON } from '../partition/index.js';
import { ReportIdl, reportFromCandid, Reply, TopologyChangeRequestIdl } from '../protocol/candid.js';
import type { CopyMethod, ShardReport } from '../protocol/housekeeping.js';
import { ClusterInfoIdl, ClusterSettingsIdl, ClusterStatusIdl, RolloutStatusIdl, StoredWasmIdl, TickIdl } from '../protocol/manager-candid.js';
import { fromTaggedJson, toTaggedJson } from '../protocol/tagged-json.js';
import { RebindShardIdl, RenamesIdl } from '../protocol/lifecycle-candid.js';
import { answer } from './answer.js';
import { assertWasmStored, createShardCanister, cyclesOf, depositCycles, icEffectRunner, installShard } from './manager-effects.js';
import { hex, migrationToCandid, rolloutAsMigration, rolloutToCandid, settingsFromCandid, settingsToCandid, storedWasm, unhex } from './manager-wire.js';
import { icRolloutRunner } from './rollout-effects.js';
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
    rollout: icRolloutRunner({ wasm: () => wasmOf(r), settings: () => r.settings, deployer: () => r.deployer, map: () => r.cluster!.map }),
    save: (state: ManagerState) => {
      r.cluster = state;
      // Once every shard runs the roll-out's Wasm, new shards are installed with it too.
      const done = state.rollout?.phase === 'done' ? state.rollout : undefined;
      if (done !== undefined && (r.wasm === undefined || hex(r.wasm.hash) !== done.wasmHash)) r.wasm = { hash: unhex(done.wasmHash), chunks: done.chunks.map(unhex) };
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
async function tick(options: { fresh?: boolean } = {}): Promise<{ started?: string; effects: number; toppedUp: string[] }> {
  const now = time();
  if (tickingSince !== undefined && now - tickingSince < TICK_LEASE_NS) return { effects: 0, toppedUp: [] };
  const r = load();
  if (r?.cluster === undefined) return { effects: 0, toppedUp: [] };
  tickingSince = now;
  try {
    return await manager(r).tick(options);
  } finally {
    tickingSince = undefined;
  }
}

function controllerOnly(method: string): ManagerRecord {
  const r = record();
  if (!isController(msgCaller())) throw new ForbiddenError(`${msgCaller().toText()} may not call ${method}: only a controller of the manager may`);
  return r;
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
      const migrations = [...(cluster.rollout === undefined ? [] : [rolloutAsMigration(cluster.rollout)]), ...[...(cluster.active === undefined ? [] : [cluster.active]), ...[...cluster.history].reverse()].map(migrationToCandid)];
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

  /** Starts a rolling upgrade of every shard to a Wasm uploaded to this canister's chunk store. */
  @update([StoredWasmIdl], Reply(IDL.Text))
  async start_upgrade(arg: { wasm_hash: Uint8Array; chunk_hashes: Uint8Array[] }) {
    return answer(async () => {
      const r = controllerOnly('start_upgrade');
      const wasm = storedWasm(arg);
      await assertWasmStored(wasm, 'the new Wasm');
      const id = manager(r).startRollout({ wasmHash: hex(wasm.hash), chunks: wasm.chunks.map(hex) });
      armTimer();
      return id;
    });
  }

  @query([], Reply(IDL.Opt(RolloutStatusIdl)))
  upgrade_status() {
    return answer(() => {
      const rollout = record().cluster?.rollout;
      return rollout === undefined ? [] : [rolloutToCandid(rollout)];
    });
  }

  /** Names the Wasm new shards are installed with (after its chunks were uploaded again, e.g. once a tool cleared the store). */
  @update([StoredWasmIdl], Reply(IDL.Null))
  async set_shard_wasm(arg: { wasm_hash: Uint8Array; chunk_hashes: Uint8Array[] }) {
    return answer(async () => {
      const r = controllerOnly('set_shard_wasm');
      if (r.cluster?.rollout?.phase === 'running') throw new ValidationError(`roll-out ${r.cluster.rollout.id} is running: it sets the shard Wasm when it is done`);
      const wasm = storedWasm(arg);
      await assertWasmStored(wasm);
      r.wasm = wasm;
      save(r);
      return null;
    });
  }

  /**
   * `shardorm clone`: this manager was restored onto a fresh canister beside the original. Takes
   * the clone's ids (old → new), then gives every shard the renamed map and itself as manager
   * (`rebind_shard`, which a shard accepts only from its controllers: this canister is one of the
   * clone's). Answers the shards rebound; call again (idempotent) if some could not be reached.
   */
  @update([RenamesIdl], Reply(IDL.Vec(IDL.Principal)))
  async rebind_cluster(renames: { from: Principal; to: Principal }[]) {
    return answer(async () => {
      const r = controllerOnly('rebind_cluster');
      const caller = msgCaller().toText();
      const map = manager(r).rebind({ renames: new Map(renames.map((x) => [x.from.toText(), x.to.toText()])), deployer: caller });
      r.deployer = caller;
      save(r);
      const shards = map.ranges.map((x) => x.shard);
      const failed: string[] = [];
      await Promise.all(shards.map((s) => callReply({ target: s, method: 'rebind_shard', argType: RebindShardIdl, arg: { map: JSON.stringify(map), manager: canisterSelf() }, okType: IDL.Null, write: true })
        .catch((e) => failed.push(`${s}: ${(e as Error).message}`))));
      if (failed.length > 0) throw new UnavailableError(`rebound ${shards.length - failed.length} of ${shards.length} shards (${failed.join('; ')}): call rebind_cluster again`);
      return shards.map((s) => Principal.fromText(s));
    });
  }

  @update([], Reply(TickIdl))
  async drive() {
    return answer(async () => {
      controllerOnly('drive');
      const t = await tick({ fresh: true }); // a controller's tick checks reports and balances now
      return { started: t.started === undefined ? [] : [t.started], effects: t.effects, topped_up: t.toppedUp.map((p) => Principal.fromText(p)) };
    });
  }
}

export { settingsToCandid as clusterSettingsToCandid };
