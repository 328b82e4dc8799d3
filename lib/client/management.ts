// The management canister (aaaaa-aa) as @dfinity/agent actors see it: the subset of its Candid
// interface ShardORM's tools use, with effective-canister-id routing taken from the first argument.
// Deliberately not the replica's full interface (replica/management-idl.ts): @dfinity/candid
// requires every record field when encoding, and Candid subtyping lets a caller omit `opt` fields
// it does not set, so a client's narrower view is both legal and what works against mainnet.
import { Actor, type ActorSubclass, type Agent } from '@dfinity/agent';
import type { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';

export type InstallMode = { install: null } | { reinstall: null } | { upgrade: [] | [{ skip_pre_upgrade: [] | [boolean]; wasm_memory_persistence: [] | [{ keep: null } | { replace: null }] }] };

export interface Snapshot {
  id: Uint8Array;
  total_size: bigint;
  taken_at_timestamp: bigint;
}

export interface CanisterStatusResult {
  status: { running: null } | { stopping: null } | { stopped: null };
  memory_size: bigint;
  cycles: bigint;
  module_hash: [] | [Uint8Array];
  settings: { controllers: Principal[] };
}

/** Every field is `opt`: [] leaves the IC's default (the encoder needs all of them named). */
export interface CanisterSettings {
  controllers: [] | [Principal[]];
  compute_allocation: [] | [bigint];
  memory_allocation: [] | [bigint];
  freezing_threshold: [] | [bigint];
  reserved_cycles_limit: [] | [bigint];
  wasm_memory_limit: [] | [bigint];
}

export interface ManagementCanister {
  provisional_create_canister_with_cycles(args: { amount: [] | [bigint]; settings: [] | [CanisterSettings]; specified_id: [] | [Principal] }): Promise<{ canister_id: Principal }>;
  install_code(args: { mode: InstallMode; canister_id: Principal; wasm_module: Uint8Array; arg: Uint8Array; sender_canister_version: [] }): Promise<void>;
  upload_chunk(args: { canister_id: Principal; chunk: Uint8Array }): Promise<{ hash: Uint8Array }>;
  clear_chunk_store(args: { canister_id: Principal }): Promise<void>;
  stored_chunks(args: { canister_id: Principal }): Promise<{ hash: Uint8Array }[]>;
  install_chunked_code(args: {
    mode: InstallMode;
    target_canister: Principal;
    store_canister: [] | [Principal];
    chunk_hashes_list: { hash: Uint8Array }[];
    wasm_module_hash: Uint8Array;
    arg: Uint8Array;
    sender_canister_version: [];
  }): Promise<void>;
  canister_status(args: { canister_id: Principal }): Promise<CanisterStatusResult>;
  start_canister(args: { canister_id: Principal }): Promise<void>;
  stop_canister(args: { canister_id: Principal }): Promise<void>;
  delete_canister(args: { canister_id: Principal }): Promise<void>;
  take_canister_snapshot(args: { canister_id: Principal; replace_snapshot: [] | [Uint8Array] }): Promise<Snapshot>;
  load_canister_snapshot(args: { canister_id: Principal; snapshot_id: Uint8Array; sender_canister_version: [] }): Promise<void>;
  list_canister_snapshots(args: { canister_id: Principal }): Promise<Snapshot[]>;
  delete_canister_snapshot(args: { canister_id: Principal; snapshot_id: Uint8Array }): Promise<void>;
  read_canister_snapshot_metadata(args: { canister_id: Principal; snapshot_id: Uint8Array }): Promise<SnapshotMetadata>;
  read_canister_snapshot_data(args: { canister_id: Principal; snapshot_id: Uint8Array; kind: SnapshotReadKind }): Promise<{ chunk: Uint8Array }>;
  upload_canister_snapshot_metadata(args: SnapshotUploadMetadata): Promise<{ snapshot_id: Uint8Array }>;
  upload_canister_snapshot_data(args: { canister_id: Principal; snapshot_id: Uint8Array; kind: SnapshotUploadKind; chunk: Uint8Array }): Promise<void>;
}

/** A Wasm global as snapshots carry it (v128 as a Nat). */
export type SnapshotGlobal = { i32: number } | { i64: bigint } | { f32: number } | { f64: number } | { v128: bigint };
export type GlobalTimer = { inactive: null } | { active: bigint };
export type LowMemoryHookStatus = { condition_not_satisfied: null } | { ready: null } | { executed: null };

/** What read_canister_snapshot_metadata answers: everything of a snapshot except its bytes. */
export interface SnapshotMetadata {
  source: { taken_from_canister: unknown } | { metadata_upload: unknown };
  taken_at_timestamp: bigint;
  wasm_module_size: bigint;
  globals: SnapshotGlobal[];
  wasm_memory_size: bigint;
  stable_memory_size: bigint;
  wasm_chunk_store: { hash: Uint8Array }[];
  canister_version: bigint;
  certified_data: Uint8Array;
  global_timer: [] | [GlobalTimer];
  on_low_wasm_memory_hook_status: [] | [LowMemoryHookStatus];
}

export type SnapshotReadKind =
  | { wasm_module: { offset: bigint; size: bigint } }
  | { main_memory: { offset: bigint; size: bigint } }
  | { stable_memory: { offset: bigint; size: bigint } }
  | { wasm_chunk: { hash: Uint8Array } };

export type SnapshotUploadKind = { wasm_module: { offset: bigint } } | { main_memory: { offset: bigint } } | { stable_memory: { offset: bigint } } | { wasm_chunk: null };

export interface SnapshotUploadMetadata {
  canister_id: Principal;
  replace_snapshot: [] | [Uint8Array];
  wasm_module_size: bigint;
  globals: SnapshotGlobal[];
  wasm_memory_size: bigint;
  stable_memory_size: bigint;
  certified_data: Uint8Array;
  global_timer: [] | [GlobalTimer];
  on_low_wasm_memory_hook_status: [] | [LowMemoryHookStatus];
}

export const managementIdlFactory: IDL.InterfaceFactory = ({ IDL }) => {
  const canisterId = IDL.Principal;
  const snapshotId = IDL.Vec(IDL.Nat8);
  const settings = IDL.Record({
    controllers: IDL.Opt(IDL.Vec(IDL.Principal)),
    compute_allocation: IDL.Opt(IDL.Nat),
    memory_allocation: IDL.Opt(IDL.Nat),
    freezing_threshold: IDL.Opt(IDL.Nat),
    reserved_cycles_limit: IDL.Opt(IDL.Nat),
    wasm_memory_limit: IDL.Opt(IDL.Nat)
  });
  const mode = IDL.Variant({
    install: IDL.Null,
    reinstall: IDL.Null,
    upgrade: IDL.Opt(IDL.Record({ skip_pre_upgrade: IDL.Opt(IDL.Bool), wasm_memory_persistence: IDL.Opt(IDL.Variant({ keep: IDL.Null, replace: IDL.Null })) }))
  });
  const chunkHash = IDL.Record({ hash: IDL.Vec(IDL.Nat8) });
  const snapshot = IDL.Record({ id: snapshotId, total_size: IDL.Nat64, taken_at_timestamp: IDL.Nat64 });
  const byId = IDL.Record({ canister_id: canisterId });
  const snapshotRef = IDL.Record({ canister_id: canisterId, snapshot_id: snapshotId });
  const global = IDL.Variant({ i32: IDL.Int32, i64: IDL.Int64, f32: IDL.Float32, f64: IDL.Float64, v128: IDL.Nat });
  const globalTimer = IDL.Variant({ inactive: IDL.Null, active: IDL.Nat64 });
  const lowMemoryHook = IDL.Variant({ condition_not_satisfied: IDL.Null, ready: IDL.Null, executed: IDL.Null });
  const range = IDL.Record({ offset: IDL.Nat64, size: IDL.Nat64 });
  const offset = IDL.Record({ offset: IDL.Nat64 });
  return IDL.Service({
    provisional_create_canister_with_cycles: IDL.Func(
      [IDL.Record({ amount: IDL.Opt(IDL.Nat), settings: IDL.Opt(settings), specified_id: IDL.Opt(canisterId) })],
      [IDL.Record({ canister_id: canisterId })],
      []
    ),
    install_code: IDL.Func(
      [IDL.Record({ mode, canister_id: canisterId, wasm_module: IDL.Vec(IDL.Nat8), arg: IDL.Vec(IDL.Nat8), sender_canister_version: IDL.Opt(IDL.Nat64) })],
      [],
      []
    ),
    upload_chunk: IDL.Func([IDL.Record({ canister_id: canisterId, chunk: IDL.Vec(IDL.Nat8) })], [chunkHash], []),
    clear_chunk_store: IDL.Func([byId], [], []),
    stored_chunks: IDL.Func([byId], [IDL.Vec(chunkHash)], []),
    install_chunked_code: IDL.Func(
      [
        IDL.Record({
          mode,
          target_canister: canisterId,
          store_canister: IDL.Opt(canisterId),
          chunk_hashes_list: IDL.Vec(chunkHash),
          wasm_module_hash: IDL.Vec(IDL.Nat8),
          arg: IDL.Vec(IDL.Nat8),
          sender_canister_version: IDL.Opt(IDL.Nat64)
        })
      ],
      [],
      []
    ),
    canister_status: IDL.Func(
      [byId],
      [
        IDL.Record({
          status: IDL.Variant({ running: IDL.Null, stopping: IDL.Null, stopped: IDL.Null }),
          memory_size: IDL.Nat,
          cycles: IDL.Nat,
          module_hash: IDL.Opt(IDL.Vec(IDL.Nat8)),
          settings: IDL.Record({ controllers: IDL.Vec(IDL.Principal) })
        })
      ],
      []
    ),
    start_canister: IDL.Func([byId], [], []),
    stop_canister: IDL.Func([byId], [], []),
    delete_canister: IDL.Func([byId], [], []),
    take_canister_snapshot: IDL.Func([IDL.Record({ canister_id: canisterId, replace_snapshot: IDL.Opt(snapshotId) })], [snapshot], []),
    load_canister_snapshot: IDL.Func([IDL.Record({ canister_id: canisterId, snapshot_id: snapshotId, sender_canister_version: IDL.Opt(IDL.Nat64) })], [], []),
    list_canister_snapshots: IDL.Func([byId], [IDL.Vec(snapshot)], []),
    delete_canister_snapshot: IDL.Func([snapshotRef], [], []),
    read_canister_snapshot_metadata: IDL.Func(
      [snapshotRef],
      [
        IDL.Record({
          source: IDL.Variant({ taken_from_canister: IDL.Reserved, metadata_upload: IDL.Reserved }),
          taken_at_timestamp: IDL.Nat64,
          wasm_module_size: IDL.Nat64,
          globals: IDL.Vec(global),
          wasm_memory_size: IDL.Nat64,
          stable_memory_size: IDL.Nat64,
          wasm_chunk_store: IDL.Vec(chunkHash),
          canister_version: IDL.Nat64,
          certified_data: IDL.Vec(IDL.Nat8),
          global_timer: IDL.Opt(globalTimer),
          on_low_wasm_memory_hook_status: IDL.Opt(lowMemoryHook)
        })
      ],
      []
    ),
    read_canister_snapshot_data: IDL.Func(
      [
        IDL.Record({
          canister_id: canisterId,
          snapshot_id: snapshotId,
          kind: IDL.Variant({ wasm_module: range, main_memory: range, stable_memory: range, wasm_chunk: chunkHash })
        })
      ],
      [IDL.Record({ chunk: IDL.Vec(IDL.Nat8) })],
      []
    ),
    upload_canister_snapshot_metadata: IDL.Func(
      [
        IDL.Record({
          canister_id: canisterId,
          replace_snapshot: IDL.Opt(snapshotId),
          wasm_module_size: IDL.Nat64,
          globals: IDL.Vec(global),
          wasm_memory_size: IDL.Nat64,
          stable_memory_size: IDL.Nat64,
          certified_data: IDL.Vec(IDL.Nat8),
          global_timer: IDL.Opt(globalTimer),
          on_low_wasm_memory_hook_status: IDL.Opt(lowMemoryHook)
        })
      ],
      [IDL.Record({ snapshot_id: snapshotId })],
      []
    ),
    upload_canister_snapshot_data: IDL.Func(
      [
        IDL.Record({
          canister_id: canisterId,
          snapshot_id: snapshotId,
          kind: IDL.Variant({ wasm_module: offset, main_memory: offset, stable_memory: offset, wasm_chunk: IDL.Null }),
          chunk: IDL.Vec(IDL.Nat8)
        })
      ],
      [],
      []
    )
  });
};

/**
 * Effective canister id for provisional creation, which any id allows: the first id of the
 * local replica's range (dfx and PocketIC accept it too).
 */
export const PROVISIONAL_EFFECTIVE_ID = Principal.fromText('rwlgt-iiaaa-aaaaa-aaaaa-cai');

/** An actor for aaaaa-aa that routes each call to the canister it is about (the spec requires it). */
export function managementCanister(agent: Agent): ActorSubclass<ManagementCanister> {
  return Actor.createActor<ManagementCanister>(managementIdlFactory, {
    agent,
    canisterId: Principal.managementCanister(),
    callTransform: (_method, args) => ({ effectiveCanisterId: effectiveIdOf(args[0]) }),
    queryTransform: (_method, args) => ({ effectiveCanisterId: effectiveIdOf(args[0]) })
  });
}

function effectiveIdOf(arg: unknown): Principal {
  const record = (arg ?? {}) as { canister_id?: Principal; target_canister?: Principal; specified_id?: [] | [Principal] };
  return record.canister_id ?? record.target_canister ?? record.specified_id?.[0] ?? PROVISIONAL_EFFECTIVE_ID;
}
