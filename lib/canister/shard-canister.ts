// shardCanister({ entities }): the Azle class that makes a canister a ShardORM shard. An
// application exports it beside its own class (`export default [shardCanister(...), App]`; Azle
// merges the method tables). It serves the generic shard Candid interface (lib/protocol/candid.ts,
// docs/shard-interface.md): `execute` (update) and `read` (composite query) for data, and the
// housekeeping methods the manager drives migrations with. Every method answers
// `variant { ok; err: record { code; message } }`: a ShardOrmError becomes `err`, never a trap.
// Who may call what:
//   execute, read          anyone (collection access rules decide; forwarded origins only from members)
//   shard_report           members (the manager, the shards of the map, a migration partner) and controllers
//   apply_rows, apply_delta the source of the migration this shard receives
//   __routed               members (a @RoutedBy forward)
//   rebind_shard           a controller of this canister only (a clone's new ids, lib/canister/rebind.ts)
//   everything else        the manager, or a controller of this canister
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { call, canisterCycleBalance, canisterSelf, init, inReplicatedExecution, isController, msgArgData, msgCaller, msgReply, postUpgrade, query, setTimerInterval, update } from 'azle';
import { ForbiddenError, ValidationError } from '../model/errors.js';
import {
  AckIdl, CopyProgressIdl, CutoverIdl, DeltaBatchIdl, deltaFromCandid, parseMap, PlanIdl, planFromCandid, ReportIdl, reportToCandid,
  Reply, requestFromCandid, responseToCandid, RoutedCallIdl, RowsBatchIdl, rowsFromCandid, SettingsIdl, ShardRequestIdl, ShardResponseIdl,
} from '../protocol/candid.js';
import { isReadOnly } from '../protocol/ops.js';
import type { ShardNode } from '../shard/node.js';
import type { ShardState } from '../shard/state.js';
import { decodeInitArg, InitArgIdl, initialState, settingsFromCandid, type InitArgCandid, type SettingsCandid } from './init-arg.js';
import { answer } from './answer.js';
import { codecOf } from './fast-candid.js';
import { defaultClusterSettings, isManagerCanister, resumeManager, ShardOrmManagerMethods, startManager } from './manager-canister.js';
import { replyOf } from './peers.js';
import { serveRouted } from './routed-by.js';
import { installPrincipalTextCache } from './principal-text.js';
import { installUtf8Codecs } from './utf8.js';
import { configureShard, setMemoryBytes, shardNode, shardRegistry, shardStorage, startNode, whenNodeStarts, type ShardCanisterOptions } from './runtime.js';
import { RebindShardIdl, RewriteCursorIdl, RewriteProgressIdl } from '../protocol/lifecycle-candid.js';
import { reboundState } from './rebind.js';
import { assertCollectionsDeclared, upgradeRowsStep, type RewriteCursor } from './schema-upgrade.js';

/** Seconds between maintenance ticks (pruning, memory size refresh). */
export const MAINTENANCE_INTERVAL_S = 10;
/** Prune steps (of PRUNE_BATCH rows each) one maintenance tick runs at most. */
export const PRUNE_STEPS_PER_TICK = 8;
/** Cycles drain_cycles leaves on the shard (it still has to answer and be deleted). */
export const DRAIN_RESERVE_CYCLES = 100_000_000_000n;

// The same codec objects peers use to forward, prepared at install and upgrade (see prepare()).
const REQUEST = codecOf(ShardRequestIdl);
const RESPONSE = codecOf(replyOf(ShardResponseIdl));

function callerText(): string {
  return msgCaller().toText();
}

function isControllerText(p: string): boolean {
  return isController(Principal.fromText(p));
}

/** The manager or a controller; the node is returned for the call. */
function fromManager(method: string): ShardNode {
  const node = shardNode();
  const who = callerText();
  if (who === persisted().manager || isControllerText(who)) return node;
  throw new ForbiddenError(`${who} may not call ${method}: only the cluster's manager or a controller of this shard may`);
}

function fromMember(method: string): ShardNode {
  const node = shardNode();
  const who = callerText();
  if (node.isMember(who) || isControllerText(who)) return node;
  throw new ForbiddenError(`${who} may not call ${method}: only members of this cluster and controllers may`);
}

/** The persisted shard state (ShardNode.snapshotState clones with structuredClone, which QuickJS lacks). */
function persisted(): ShardState {
  const state = shardStorage().state.load();
  if (state === undefined) throw new ValidationError('this canister has no shard state: install it with shardCanister()');
  return state;
}

function migrationOf(node: ShardNode, id: string): void {
  const st = persisted();
  if (st.outgoing?.plan.id !== id && st.completed !== id) throw new ValidationError(`${node.id} is not the source of migration ${id}`);
}

let maintenanceArmedFor: string | undefined;

/** One maintenance tick: a bounded number of prune steps, then the memory size from canister_status. */
async function maintain(): Promise<void> {
  const node = shardNode();
  // A restored clone before rebind_shard is not named by its map (it names the original's ids) and
  // names a manager that does not control it: pruning would delete every row it holds.
  const manager = persisted().manager;
  const restoredElsewhere = !node.partitioner.shards().includes(node.id) && manager !== undefined && !isControllerText(manager);
  for (let i = 0; !restoredElsewhere && i < PRUNE_STEPS_PER_TICK && node.pruneStep() > 0; i++);
  try {
    const status = (await call('aaaaa-aa', 'canister_status', {
      paramIdlTypes: [IDL.Record({ canister_id: IDL.Principal })],
      returnIdlType: IDL.Record({ memory_size: IDL.Nat }),
      args: [{ canister_id: Principal.fromText(node.id) }],
    })) as { memory_size: bigint };
    setMemoryBytes(Number(status.memory_size));
  } catch {
    // canister_status is best effort: the size stays at its last value until the next tick.
  }
}

/** Arms the timer once per node id (a snapshot-loaded target re-arms under its own id); queries cannot set timers. */
function armMaintenance(node: ShardNode): void {
  if (maintenanceArmedFor === node.id || !inReplicatedExecution()) return;
  maintenanceArmedFor = node.id;
  setTimerInterval(MAINTENANCE_INTERVAL_S, maintain);
}

function applyUpgradeArg(arg: InitArgCandid | undefined): void {
  const cell = shardStorage().state;
  const state = cell.load();
  if (state === undefined) {
    startNode(initialState(selfText(), arg)); // upgraded from a non-shard module
    return;
  }
  if (arg !== undefined) {
    if ('manager' in arg.role) throw new ValidationError('a shard cannot be upgraded into the manager role');
    parseMap(arg.map); // must still be well-formed; the persisted map wins (it only moves forward)
    state.settings = settingsFromCandid(arg.settings);
    const manager = arg.manager[0]?.toText();
    if (manager !== undefined) state.manager = manager;
    cell.save(state);
  }
  startNode();
}

function selfText(): string {
  return canisterSelf().toText();
}

export function shardCanister(options: ShardCanisterOptions): new () => object {
  configureShard(options);
  whenNodeStarts(armMaintenance);
  // Azle's own TextEncoder/TextDecoder cost ~14,000 instructions per character (see utf8.ts), a
  // principal's text ~810,000 (see principal-text.ts).
  if ((globalThis as { _azleIcpReplicaWasmEnvironment?: boolean })._azleIcpReplicaWasmEnvironment === true) {
    installUtf8Codecs();
    installPrincipalTextCache();
  }

  // Every canister of a cluster runs this class; the install argument picks the role. The
  // manager's methods are inherited, so the one Wasm serves both (a shard answers them with err).
  class ShardOrmShard extends ShardOrmManagerMethods {
    // manual: Azle cannot decode an absent argument (no bytes, or `()`) as `opt`; decodeInitArg can.
    @init([InitArgIdl], { manual: true })
    init(): void {
      REQUEST.prepare();
      RESPONSE.prepare();
      const arg = decodeInitArg(msgArgData());
      if (arg !== undefined && 'manager' in arg.role) return startManager(defaultClusterSettings(settingsFromCandid(arg.settings)));
      startNode(initialState(selfText(), arg));
    }

    @postUpgrade([InitArgIdl], { manual: true })
    postUpgrade(): void {
      maintenanceArmedFor = undefined; // an upgrade clears timers
      REQUEST.prepare();
      RESPONSE.prepare();
      if (isManagerCanister()) return resumeManager();
      assertCollectionsDeclared(shardStorage().kv, shardRegistry()); // a trap here keeps the old module
      applyUpgradeArg(decodeInitArg(msgArgData()));
    }

    // The data methods decode and reply themselves (manual) through fast-candid: Azle's own Candid
    // handling of these types costs ~47 M instructions a call, most of a get.
    @update([ShardRequestIdl], Reply(ShardResponseIdl), { manual: true })
    async execute(): Promise<void> {
      const [request] = REQUEST.decode(msgArgData());
      msgReply(RESPONSE.encode([await answer(async () => responseToCandid(await shardNode().handle(requestFromCandid(request), callerText())))]));
    }

    @query([ShardRequestIdl], Reply(ShardResponseIdl), { composite: true, manual: true })
    async read(): Promise<void> {
      const [request] = REQUEST.decode(msgArgData());
      const reply = await answer(async () => {
        const r = requestFromCandid(request);
        if (!isReadOnly(r)) throw new ValidationError('read carries reads only (a query keeps no writes): send writes to execute');
        return responseToCandid(await shardNode().handle(r, callerText()));
      });
      msgReply(RESPONSE.encode([reply]));
    }

    @query([], Reply(ReportIdl))
    shard_report() {
      return answer(() => reportToCandid(fromMember('shard_report').report()));
    }

    @update([], Reply(IDL.Opt(IDL.Nat64)))
    split_point() {
      return answer(() => {
        const at = fromManager('split_point').splitPoint();
        return at === undefined ? [] : [at];
      });
    }

    @update([PlanIdl], Reply(IDL.Null))
    prepare_migration(plan: unknown) {
      return answer(() => (fromManager('prepare_migration').prepare(planFromCandid(plan)), null));
    }

    @update([PlanIdl], Reply(IDL.Null))
    accept_migration(plan: unknown) {
      return answer(() => (fromManager('accept_migration').accept(planFromCandid(plan)), null));
    }

    @update([RowsBatchIdl], Reply(AckIdl))
    apply_rows(batch: unknown) {
      return answer(() => fromMember('apply_rows').applyRows(rowsFromCandid(batch), callerText()));
    }

    @update([DeltaBatchIdl], Reply(AckIdl))
    apply_delta(batch: unknown) {
      return answer(() => fromMember('apply_delta').applyDelta(deltaFromCandid(batch), callerText()));
    }

    @update([IDL.Text], Reply(CopyProgressIdl))
    copy_batch(migration: string) {
      return answer(async () => {
        const node = fromManager('copy_batch');
        migrationOf(node, migration);
        const r = await node.copyBatch();
        return { done: r.done, rows: r.rows, bytes: BigInt(r.bytes) };
      });
    }

    @update([IDL.Text], Reply(IDL.Nat64))
    push_delta(migration: string) {
      return answer(async () => {
        const node = fromManager('push_delta');
        migrationOf(node, migration);
        return BigInt((await node.pushDelta()).remaining);
      });
    }

    @update([IDL.Text], Reply(CutoverIdl))
    cutover(migration: string) {
      return answer(async () => ({ [await fromManager('cutover').cutover(migration)]: null }));
    }

    @update([IDL.Text], Reply(IDL.Null))
    abort_migration(migration: string) {
      return answer(() => (fromManager('abort_migration').abort(migration), null));
    }

    @update([IDL.Text], Reply(IDL.Bool))
    adopt_map(map: string) {
      return answer(() => fromManager('adopt_map').adoptMap(parseMap(map)));
    }

    @update([SettingsIdl], Reply(IDL.Null))
    update_settings(settings: SettingsCandid) {
      return answer(() => (fromManager('update_settings').updateSettings(settingsFromCandid(settings)), null));
    }

    @update([], Reply(IDL.Nat))
    drain_cycles() {
      return answer(async () => {
        fromManager('drain_cycles');
        const manager = persisted().manager;
        if (manager === undefined) throw new ValidationError('this shard has no manager to return its cycles to');
        const amount = canisterCycleBalance() - DRAIN_RESERVE_CYCLES;
        if (amount <= 0n) return 0n;
        await call('aaaaa-aa', 'deposit_cycles', { paramIdlTypes: [IDL.Record({ canister_id: IDL.Principal })], args: [{ canister_id: Principal.fromText(manager) }], cycles: amount });
        return amount;
      });
    }

    @update([IDL.Opt(RewriteCursorIdl)], Reply(RewriteProgressIdl))
    upgrade_rows(cursor: [] | [RewriteCursor]) {
      return answer(() => {
        const step = fromManager('upgrade_rows').rewriteRows((ctx) => upgradeRowsStep(ctx, shardRegistry(), cursor[0]));
        return { next: step.next === undefined ? [] : [step.next], rewritten: step.rewritten };
      });
    }

    @update([RebindShardIdl], Reply(IDL.Null))
    rebind_shard(arg: { map: string; manager: Principal }) {
      return answer(() => {
        const state = reboundState({ state: persisted(), map: arg.map, manager: arg.manager.toText(), self: selfText(), callerIsController: isController(msgCaller()), caller: callerText() });
        shardStorage().state.save(state);
        startNode(); // rebuilt from the saved state: the new map and manager
        return null;
      });
    }

    @update([RoutedCallIdl], Reply(IDL.Vec(IDL.Nat8)), { hidden: true })
    __routed(request: { method: string; arg: Uint8Array; origin: Principal }) {
      return answer(() => serveRouted(request));
    }
  }
  return ShardOrmShard;
}
