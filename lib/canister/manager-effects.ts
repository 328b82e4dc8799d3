// The manager canister's effect runner: every effect of the migration state machine as the calls
// the IC offers — the management canister (create, install from the manager's own chunk store,
// stop/start, snapshots taken and loaded onto another canister, delete) and the shards'
// housekeeping methods. Each call is idempotent, so a retried effect is safe. A snapshot "not
// currently loadable" answer (the IC's checkpoint rule) is a wait, not a failure; a load the
// subnet cannot do at all falls back to a streamed copy.
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils';
import { call, canisterSelf } from 'azle';
import {
  canister_status_args, create_canister_args, create_canister_result, delete_canister_args, delete_canister_snapshot_args, deposit_cycles_args,
  install_chunked_code_args, load_canister_snapshot_args, start_canister_args, stop_canister_args, stored_chunks_args, stored_chunks_result,
  take_canister_snapshot_args, take_canister_snapshot_result,
} from 'azle/canisters/management/idl';
import { ValidationError } from '../model/errors.js';
import { callReply } from './peers.js';
import { CopyProgressIdl, CutoverIdl, planToCandid, PlanIdl } from '../protocol/candid.js';
import { InitArgIdl } from '../protocol/manager-candid.js';
import type { RangePartitionerJSON } from '../partition/index.js';
import type { Effect, EffectResult, Migration } from '../topology/migration.js';
import type { ClusterSettings } from '../manager/manager.js';

const MANAGEMENT = 'aaaaa-aa';

/** What the runner needs from the manager: the Wasm in its chunk store, the settings, the deployer. */
export interface ManagerContext {
  wasm(): { hash: Uint8Array; chunks: Uint8Array[] };
  settings(): ClusterSettings;
  deployer(): string;
}

export async function management(method: string, argType: IDL.Type, arg: unknown, retType?: IDL.Type, cycles?: bigint): Promise<unknown> {
  return call(MANAGEMENT, method, { paramIdlTypes: [argType], returnIdlType: retType, args: [arg], ...(cycles === undefined ? {} : { cycles }) });
}

/** The `{ canister_id }` record most management methods take. */
const byId = (id: string) => ({ canister_id: Principal.fromText(id) });

/** stop_canister of `id` (it completes when the canister has no open call context). */
export async function stopCanister(id: string): Promise<void> {
  await management('stop_canister', stop_canister_args, byId(id));
}

export async function startCanister(id: string): Promise<void> {
  await management('start_canister', start_canister_args, byId(id));
}

/** The reject text of a failed call, for classification and for `lastError`. */
export function rejectText(e: unknown): string {
  const f = e as { type?: string; rejectMessage?: string; message?: string };
  return f?.rejectMessage ?? f?.message ?? f?.type ?? String(e);
}

export function shardInitArg(map: RangePartitionerJSON, settings: ClusterSettings): Uint8Array {
  const shardSettings = { max_shard_bytes: BigInt(settings.maxShardBytes), max_shard_memory_bytes: BigInt(settings.maxShardMemoryBytes), min_shard_bytes: BigInt(settings.minShardBytes) };
  return new Uint8Array(IDL.encode([InitArgIdl], [[{ role: { shard: null }, map: JSON.stringify(map), manager: [canisterSelf()], settings: shardSettings }]]));
}

export type ShardWasm = { hash: Uint8Array; chunks: Uint8Array[] };

/**
 * Installs (or upgrades) a shard from the manager's own chunk store. An upgrade runs the new
 * module's post_upgrade; a trap there leaves the shard on its old module and state (the IC's
 * atomic install).
 */
export async function installShard(ctx: ManagerContext, canister: string, map: RangePartitionerJSON, mode: 'install' | 'reinstall' | 'upgrade', wasm: ShardWasm = ctx.wasm()): Promise<void> {
  await management('install_chunked_code', install_chunked_code_args, {
    arg: shardInitArg(map, ctx.settings()),
    wasm_module_hash: wasm.hash,
    mode: mode === 'upgrade' ? { upgrade: [{ skip_pre_upgrade: [], wasm_memory_persistence: [] }] } : { [mode]: null },
    chunk_hashes_list: wasm.chunks.map((hash) => ({ hash })),
    target_canister: Principal.fromText(canister),
    store_canister: [canisterSelf()],
    sender_canister_version: [],
  });
}

/**
 * Refuses, with what to do next, when the manager's chunk store no longer holds every chunk of
 * `wasm`: a tool that upgrades the manager (dfx, icp-cli, PocketIC's upgradeCanister) uploads its
 * own chunks and clears the store afterwards, which deletes the shard Wasm new shards come from.
 */
export async function assertWasmStored(wasm: ShardWasm, what = 'the shard Wasm'): Promise<void> {
  const stored = (await management('stored_chunks', stored_chunks_args, { canister_id: canisterSelf() }, stored_chunks_result)) as { hash: Uint8Array }[];
  const have = new Set(stored.map((c) => bytesToHex(Uint8Array.from(c.hash))));
  const missing = wasm.chunks.filter((c) => !have.has(bytesToHex(c))).length;
  if (missing > 0) {
    throw new ValidationError(
      `the manager's chunk store lacks ${missing} of the ${wasm.chunks.length} chunks of ${what} ${bytesToHex(wasm.hash).slice(0, 16)}… ` +
        '(a tool that upgraded the manager cleared it): upload it again with `shardorm upgrade` (or upload_chunk, then set_shard_wasm)',
    );
  }
}

export async function createShardCanister(ctx: ManagerContext): Promise<string> {
  // Nothing is created that could not be installed.
  await assertWasmStored(ctx.wasm());
  const controllers = [canisterSelf(), Principal.fromText(ctx.deployer())];
  const settings = { controllers: [controllers], freezing_threshold: [], reserved_cycles_limit: [], log_visibility: [], wasm_memory_limit: [], memory_allocation: [], compute_allocation: [] };
  const created = (await management('create_canister', create_canister_args, { settings: [settings], sender_canister_version: [] }, create_canister_result, ctx.settings().shardCycles)) as { canister_id: Principal };
  return created.canister_id.toText();
}

export function icEffectRunner(ctx: ManagerContext): { perform(effect: Effect, migration: Migration): Promise<EffectResult> } {
  const shard = (target: string, method: string, argType: IDL.Type, arg: unknown, okType: IDL.Type) => callReply({ target, method, argType, arg, okType, write: true });
  return {
    async perform(effect: Effect, migration: Migration): Promise<EffectResult> {
      try {
        switch (effect.kind) {
          case 'split-point': {
            const at = (await shard(effect.shard, 'split_point', IDL.Null, null, IDL.Opt(IDL.Nat64))) as [] | [bigint];
            return { ok: true, at: at[0] };
          }
          case 'create-canister':
            return { ok: true, canisterId: await createShardCanister(ctx) };
          case 'prepare':
          case 'accept':
            // The shard may have missed an announcement (best effort): a plan is made on the
            // manager's map, so the shard adopts that map first (a no-op when it has it).
            await shard(effect.shard, 'adopt_map', IDL.Text, JSON.stringify(migration.prev), IDL.Bool);
            await shard(effect.shard, effect.kind === 'prepare' ? 'prepare_migration' : 'accept_migration', PlanIdl, planToCandid(effect.plan), IDL.Null);
            return { ok: true };
          case 'stop':
            await stopCanister(effect.canister);
            return { ok: true };
          case 'start':
            await startCanister(effect.canister);
            return { ok: true };
          case 'take-snapshot': {
            // Stopped again first: whoever started the canister since the stop step (an operator,
            // a restart) must not make this step fail until the migration rolls back. A stopped
            // canister answers stop_canister at once.
            await stopCanister(effect.canister);
            const replace = effect.replace === undefined ? [] : [hexToBytes(effect.replace)];
            const snap = (await management('take_canister_snapshot', take_canister_snapshot_args, { ...byId(effect.canister), replace_snapshot: replace }, take_canister_snapshot_result)) as { id: Uint8Array };
            return { ok: true, snapshotId: bytesToHex(Uint8Array.from(snap.id)) };
          }
          case 'load-snapshot':
            await stopCanister(effect.canister); // as for take-snapshot
            try {
              await management('load_canister_snapshot', load_canister_snapshot_args, { ...byId(effect.canister), snapshot_id: hexToBytes(effect.snapshotId), sender_canister_version: [] });
            } catch (e) {
              const text = rejectText(e);
              if (/not currently loadable|try again later/i.test(text)) return { ok: false, kind: 'wait', error: text };
              if (/not supported|different subnet|another subnet/i.test(text)) return { ok: false, kind: 'unsupported', error: text };
              throw e;
            }
            return { ok: true };
          case 'delete-snapshot':
            await management('delete_canister_snapshot', delete_canister_snapshot_args, { ...byId(effect.canister), snapshot_id: hexToBytes(effect.snapshotId) }).catch((e) => {
              if (!/not found/i.test(rejectText(e))) throw e; // deleted already: a retried effect
            });
            return { ok: true };
          case 'install-shard':
            await installShard(ctx, effect.canister, effect.map, 'reinstall');
            await startCanister(effect.canister);
            return { ok: true };
          case 'copy-batch': {
            const p = (await shard(effect.shard, 'copy_batch', IDL.Text, effect.migration, CopyProgressIdl)) as { done: boolean; rows: number; bytes: bigint };
            return { ok: true, done: p.done, rows: p.rows, bytes: Number(p.bytes) };
          }
          case 'push-delta':
            return { ok: true, remaining: Number(await shard(effect.shard, 'push_delta', IDL.Text, effect.migration, IDL.Nat64)) };
          case 'cutover': {
            const r = (await shard(effect.shard, 'cutover', IDL.Text, effect.migration, CutoverIdl)) as Record<string, null>;
            return 'done' in r ? { ok: true } : { ok: false, kind: 'failed', error: `${effect.shard} could not hold the fence: the target did not take the cutover` };
          }
          case 'announce': {
            // Best effort: a shard that misses it learns the map from "moved" answers.
            const targets = effect.map.ranges.map((r) => r.shard).filter((s) => !effect.skip.includes(s));
            await Promise.all(targets.map((s) => shard(s, 'adopt_map', IDL.Text, JSON.stringify(effect.map), IDL.Bool).catch(() => undefined)));
            return { ok: true };
          }
          case 'drain-cycles':
            await shard(effect.shard, 'drain_cycles', IDL.Null, null, IDL.Nat);
            return { ok: true };
          case 'delete-canister':
            await stopCanister(effect.canister).catch(() => undefined);
            await management('delete_canister', delete_canister_args, byId(effect.canister)).catch((e) => {
              if (!/not found|does not exist/i.test(rejectText(e))) throw e;
            });
            return { ok: true };
          case 'abort':
            await shard(effect.shard, 'abort_migration', IDL.Text, effect.migration, IDL.Null).catch((e) => {
              if (!/not found|does not exist|no module/i.test(rejectText(e))) throw e; // a deleted target has nothing to abort
            });
            return { ok: true };
        }
      } catch (e) {
        return { ok: false, kind: 'failed', error: rejectText(e) };
      }
    },
  };
}

/** A canister's balance from canister_status (the manager controls every shard); undefined if it cannot be read. */
export async function cyclesOf(canister: string): Promise<bigint | undefined> {
  try {
    const status = (await management('canister_status', canister_status_args, byId(canister), IDL.Record({ cycles: IDL.Nat }))) as { cycles: bigint };
    return status.cycles;
  } catch {
    return undefined;
  }
}

/** The SHA-256 of the module `canister` runs (hex), from canister_status; undefined if it has none. */
export async function moduleHashOf(canister: string): Promise<string | undefined> {
  const status = (await management('canister_status', canister_status_args, byId(canister), IDL.Record({ module_hash: IDL.Opt(IDL.Vec(IDL.Nat8)) }))) as { module_hash: [] | [Uint8Array] };
  const hash = status.module_hash[0];
  return hash === undefined ? undefined : bytesToHex(Uint8Array.from(hash));
}

/** Deposits `cycles` from the manager's balance to `canister`. */
export async function depositCycles(canister: string, cycles: bigint): Promise<void> {
  await management('deposit_cycles', deposit_cycles_args, byId(canister), undefined, cycles);
}
