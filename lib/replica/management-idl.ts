// Candid types of the management canister (aaaaa-aa), as in the current interface specification,
// for the methods the local replica implements. Decoding follows Candid subtyping: callers may send
// fewer `opt` fields (older clients) or more fields (newer clients).
import { IDL } from '@dfinity/candid';

const CanisterId = IDL.Principal;
const SnapshotId = IDL.Vec(IDL.Nat8);
const Blob = IDL.Vec(IDL.Nat8);
const LogVisibility = IDL.Variant({ controllers: IDL.Null, public: IDL.Null, allowed_viewers: IDL.Vec(IDL.Principal) });
const EnvVar = IDL.Record({ name: IDL.Text, value: IDL.Text });

export const CanisterSettings = IDL.Record({
  controllers: IDL.Opt(IDL.Vec(IDL.Principal)),
  compute_allocation: IDL.Opt(IDL.Nat),
  memory_allocation: IDL.Opt(IDL.Nat),
  freezing_threshold: IDL.Opt(IDL.Nat),
  reserved_cycles_limit: IDL.Opt(IDL.Nat),
  log_visibility: IDL.Opt(LogVisibility),
  wasm_memory_limit: IDL.Opt(IDL.Nat),
  wasm_memory_threshold: IDL.Opt(IDL.Nat),
  environment_variables: IDL.Opt(IDL.Vec(EnvVar))
});

/** A `canister_settings` record: the given fields, every other (opt) field absent. */
export function settingsRecord(partial: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(CanisterSettings._fields.map(([k]) => [k, partial[k] ?? []]));
}

const DefiniteSettings = IDL.Record({
  controllers: IDL.Vec(IDL.Principal),
  compute_allocation: IDL.Nat,
  memory_allocation: IDL.Nat,
  freezing_threshold: IDL.Nat,
  reserved_cycles_limit: IDL.Nat,
  log_visibility: LogVisibility,
  wasm_memory_limit: IDL.Nat,
  wasm_memory_threshold: IDL.Nat,
  environment_variables: IDL.Vec(EnvVar)
});

export const InstallMode = IDL.Variant({
  install: IDL.Null,
  reinstall: IDL.Null,
  upgrade: IDL.Opt(
    IDL.Record({
      skip_pre_upgrade: IDL.Opt(IDL.Bool),
      wasm_memory_persistence: IDL.Opt(IDL.Variant({ keep: IDL.Null, replace: IDL.Null }))
    })
  )
});

const ChunkHash = IDL.Record({ hash: Blob });
const CanisterIdArg = IDL.Record({ canister_id: CanisterId });
const Snapshot = IDL.Record({ id: SnapshotId, taken_at_timestamp: IDL.Nat64, total_size: IDL.Nat64 });
const SnapshotGlobal = IDL.Variant({ i32: IDL.Int32, i64: IDL.Int64, f32: IDL.Float32, f64: IDL.Float64, v128: IDL.Nat });
const GlobalTimer = IDL.Variant({ inactive: IDL.Null, active: IDL.Nat64 });
const LowMemoryHook = IDL.Variant({ condition_not_satisfied: IDL.Null, ready: IDL.Null, executed: IDL.Null });
const MemoryMetrics = IDL.Record({
  wasm_memory_size: IDL.Nat,
  stable_memory_size: IDL.Nat,
  global_memory_size: IDL.Nat,
  wasm_binary_size: IDL.Nat,
  custom_sections_size: IDL.Nat,
  canister_history_size: IDL.Nat,
  wasm_chunk_store_size: IDL.Nat,
  snapshots_size: IDL.Nat
});
const QueryStats = IDL.Record({
  num_calls_total: IDL.Nat,
  num_instructions_total: IDL.Nat,
  request_payload_bytes_total: IDL.Nat,
  response_payload_bytes_total: IDL.Nat
});

const ChangeOrigin = IDL.Variant({
  from_user: IDL.Record({ user_id: IDL.Principal }),
  from_canister: IDL.Record({ canister_id: IDL.Principal, canister_version: IDL.Opt(IDL.Nat64) })
});
const ChangeDetails = IDL.Variant({
  creation: IDL.Record({ controllers: IDL.Vec(IDL.Principal), environment_variables_hash: IDL.Opt(Blob) }),
  code_uninstall: IDL.Null,
  code_deployment: IDL.Record({ mode: IDL.Variant({ install: IDL.Null, reinstall: IDL.Null, upgrade: IDL.Null }), module_hash: Blob }),
  load_snapshot: IDL.Record({
    canister_version: IDL.Nat64,
    snapshot_id: SnapshotId,
    taken_at_timestamp: IDL.Nat64,
    source: IDL.Variant({ taken_from_canister: IDL.Null, metadata_upload: IDL.Null }),
    from_canister_id: IDL.Opt(IDL.Principal)
  }),
  controllers_change: IDL.Record({ controllers: IDL.Vec(IDL.Principal) })
});
const Change = IDL.Record({ timestamp_nanos: IDL.Nat64, canister_version: IDL.Nat64, origin: ChangeOrigin, details: ChangeDetails });

const LogRecords = IDL.Record({ canister_log_records: IDL.Vec(IDL.Record({ idx: IDL.Nat64, timestamp_nanos: IDL.Nat64, content: Blob })) });

/** Argument and result types per method: `[args, results]`. */
export const MANAGEMENT_METHODS = {
  create_canister: [[IDL.Record({ settings: IDL.Opt(CanisterSettings), sender_canister_version: IDL.Opt(IDL.Nat64) })], [IDL.Record({ canister_id: CanisterId })]],
  provisional_create_canister_with_cycles: [
    [IDL.Record({ amount: IDL.Opt(IDL.Nat), settings: IDL.Opt(CanisterSettings), specified_id: IDL.Opt(CanisterId), sender_canister_version: IDL.Opt(IDL.Nat64) })],
    [IDL.Record({ canister_id: CanisterId })]
  ],
  provisional_top_up_canister: [[IDL.Record({ canister_id: CanisterId, amount: IDL.Nat })], []],
  update_settings: [[IDL.Record({ canister_id: CanisterId, settings: CanisterSettings, sender_canister_version: IDL.Opt(IDL.Nat64) })], []],
  install_code: [[IDL.Record({ mode: InstallMode, canister_id: CanisterId, wasm_module: Blob, arg: Blob, sender_canister_version: IDL.Opt(IDL.Nat64) })], []],
  upload_chunk: [[IDL.Record({ canister_id: CanisterId, chunk: Blob })], [ChunkHash]],
  stored_chunks: [[CanisterIdArg], [IDL.Vec(ChunkHash)]],
  clear_chunk_store: [[CanisterIdArg], []],
  install_chunked_code: [
    [
      IDL.Record({
        mode: InstallMode,
        target_canister: CanisterId,
        store_canister: IDL.Opt(CanisterId),
        chunk_hashes_list: IDL.Vec(ChunkHash),
        wasm_module_hash: Blob,
        arg: Blob,
        sender_canister_version: IDL.Opt(IDL.Nat64)
      })
    ],
    []
  ],
  uninstall_code: [[IDL.Record({ canister_id: CanisterId, sender_canister_version: IDL.Opt(IDL.Nat64) })], []],
  start_canister: [[CanisterIdArg], []],
  stop_canister: [[CanisterIdArg], []],
  delete_canister: [[CanisterIdArg], []],
  deposit_cycles: [[CanisterIdArg], []],
  raw_rand: [[], [Blob]],
  fetch_canister_logs: [[CanisterIdArg], [LogRecords]],
  canister_info: [
    [IDL.Record({ canister_id: CanisterId, num_requested_changes: IDL.Opt(IDL.Nat64) })],
    [IDL.Record({ total_num_changes: IDL.Nat64, recent_changes: IDL.Vec(Change), module_hash: IDL.Opt(Blob), controllers: IDL.Vec(IDL.Principal) })]
  ],
  canister_status: [
    [CanisterIdArg],
    [
      IDL.Record({
        status: IDL.Variant({ running: IDL.Null, stopping: IDL.Null, stopped: IDL.Null }),
        ready_for_migration: IDL.Bool,
        version: IDL.Nat64,
        settings: DefiniteSettings,
        module_hash: IDL.Opt(Blob),
        memory_size: IDL.Nat,
        memory_metrics: MemoryMetrics,
        cycles: IDL.Nat,
        reserved_cycles: IDL.Nat,
        idle_cycles_burned_per_day: IDL.Nat,
        query_stats: QueryStats
      })
    ]
  ],
  take_canister_snapshot: [[IDL.Record({ canister_id: CanisterId, replace_snapshot: IDL.Opt(SnapshotId), uninstall_code: IDL.Opt(IDL.Bool) })], [Snapshot]],
  load_canister_snapshot: [[IDL.Record({ canister_id: CanisterId, snapshot_id: SnapshotId, sender_canister_version: IDL.Opt(IDL.Nat64) })], []],
  list_canister_snapshots: [[CanisterIdArg], [IDL.Vec(Snapshot)]],
  delete_canister_snapshot: [[IDL.Record({ canister_id: CanisterId, snapshot_id: SnapshotId })], []],
  read_canister_snapshot_metadata: [
    [IDL.Record({ canister_id: CanisterId, snapshot_id: SnapshotId })],
    [
      IDL.Record({
        source: IDL.Variant({ taken_from_canister: IDL.Reserved, metadata_upload: IDL.Reserved }),
        taken_at_timestamp: IDL.Nat64,
        wasm_module_size: IDL.Nat64,
        globals: IDL.Vec(SnapshotGlobal),
        wasm_memory_size: IDL.Nat64,
        stable_memory_size: IDL.Nat64,
        wasm_chunk_store: IDL.Vec(ChunkHash),
        canister_version: IDL.Nat64,
        certified_data: Blob,
        global_timer: IDL.Opt(GlobalTimer),
        on_low_wasm_memory_hook_status: IDL.Opt(LowMemoryHook)
      })
    ]
  ],
  read_canister_snapshot_data: [
    [
      IDL.Record({
        canister_id: CanisterId,
        snapshot_id: SnapshotId,
        kind: IDL.Variant({
          wasm_module: IDL.Record({ offset: IDL.Nat64, size: IDL.Nat64 }),
          main_memory: IDL.Record({ offset: IDL.Nat64, size: IDL.Nat64 }),
          stable_memory: IDL.Record({ offset: IDL.Nat64, size: IDL.Nat64 }),
          wasm_chunk: IDL.Record({ hash: Blob })
        })
      })
    ],
    [IDL.Record({ chunk: Blob })]
  ],
  upload_canister_snapshot_metadata: [
    [
      IDL.Record({
        canister_id: CanisterId,
        replace_snapshot: IDL.Opt(SnapshotId),
        wasm_module_size: IDL.Nat64,
        globals: IDL.Vec(SnapshotGlobal),
        wasm_memory_size: IDL.Nat64,
        stable_memory_size: IDL.Nat64,
        certified_data: Blob,
        global_timer: IDL.Opt(GlobalTimer),
        on_low_wasm_memory_hook_status: IDL.Opt(LowMemoryHook)
      })
    ],
    [IDL.Record({ snapshot_id: SnapshotId })]
  ],
  upload_canister_snapshot_data: [
    [
      IDL.Record({
        canister_id: CanisterId,
        snapshot_id: SnapshotId,
        kind: IDL.Variant({
          wasm_module: IDL.Record({ offset: IDL.Nat64 }),
          main_memory: IDL.Record({ offset: IDL.Nat64 }),
          stable_memory: IDL.Record({ offset: IDL.Nat64 }),
          wasm_chunk: IDL.Null
        }),
        chunk: Blob
      })
    ],
    []
  ]
} satisfies Record<string, [IDL.Type[], IDL.Type[]]>;

export type ManagementMethod = keyof typeof MANAGEMENT_METHODS;

/** The management canister's service, for `createActor(managementIdlFactory, 'aaaaa-aa')`. */
export const managementIdlFactory: IDL.InterfaceFactory = ({ IDL: I }) =>
  I.Service(Object.fromEntries(Object.entries(MANAGEMENT_METHODS).map(([name, [args, results]]) => [name, I.Func(args as any, results as any, [])])));
