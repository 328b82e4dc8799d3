// The manager role's Candid methods (the same Wasm as every shard; the init argument picks the
// role), the init argument itself, and `cluster_info`, which every canister of a cluster answers
// so a client can enter at any of them. Documented in docs/shard-interface.md.
import { IDL } from '@dfinity/candid';
import type { Principal } from '@dfinity/principal';
import { ReportIdl, Reply, SettingsIdl, TopologyChangeRequestIdl } from './candid.js';

import { RenamesIdl } from './lifecycle-candid.js';

export { RewriteCursorIdl, RewriteProgressIdl } from './lifecycle-candid.js';

export const ClusterSettingsIdl = IDL.Record({
  max_shard_bytes: IDL.Nat64,
  max_shard_memory_bytes: IDL.Nat64,
  min_shard_bytes: IDL.Nat64,
  split_method: IDL.Text,
  shard_cycles: IDL.Nat,
  top_up_below_cycles: IDL.Nat,
  top_up_cycles: IDL.Nat,
});

/**
 * The install (and upgrade) argument of every ShardORM canister:
 *   opt record { role: variant { shard; manager }; map: text; manager: opt principal; settings }
 * Absent: a stand-alone single-shard canister. The manager role ignores `map` and `manager`; the
 * installer (the caller of install_code) becomes the cluster's deployer. See lib/canister/init-arg.ts.
 */
export const RoleIdl = IDL.Variant({ shard: IDL.Null, manager: IDL.Null });
export const InitArgIdl = IDL.Opt(IDL.Record({ role: RoleIdl, map: IDL.Text, manager: IDL.Opt(IDL.Principal), settings: SettingsIdl }));

export const ClusterInfoIdl = IDL.Record({ role: IDL.Text, map: IDL.Text, manager: IDL.Opt(IDL.Principal) });

export const MigrationStatusIdl = IDL.Record({
  id: IDL.Text,
  kind: IDL.Text,
  method: IDL.Text,
  state: IDL.Text,
  source: IDL.Principal,
  target: IDL.Opt(IDL.Principal),
  last_error: IDL.Opt(IDL.Text),
  copied_rows: IDL.Nat64,
  copied_bytes: IDL.Nat64,
});

export const ClusterStatusIdl = IDL.Record({
  epoch: IDL.Nat64,
  map: IDL.Text,
  shards: IDL.Vec(ReportIdl),
  migrations: IDL.Vec(MigrationStatusIdl),
  queued: IDL.Nat32,
});

export const TickIdl = IDL.Record({ started: IDL.Opt(IDL.Text), effects: IDL.Nat32, topped_up: IDL.Vec(IDL.Principal) });

/** A Wasm in the manager's chunk store: its SHA-256 and its chunks' hashes, in order. */
export const StoredWasmIdl = IDL.Record({ wasm_hash: IDL.Vec(IDL.Nat8), chunk_hashes: IDL.Vec(IDL.Vec(IDL.Nat8)) });

export const ShardUpgradeStatusIdl = IDL.Record({
  shard: IDL.Principal,
  /** pending | upgrading | done | failed */
  state: IDL.Text,
  /** The step inside `upgrading`: stopped | installed | rewriting | restarting. */
  step: IDL.Text,
  rewritten: IDL.Nat64,
  error: IDL.Opt(IDL.Text),
});

export const RolloutStatusIdl = IDL.Record({
  id: IDL.Text,
  /** running | done | failed */
  state: IDL.Text,
  wasm_hash: IDL.Text,
  shards: IDL.Vec(ShardUpgradeStatusIdl),
  last_error: IDL.Opt(IDL.Text),
  started_at: IDL.Nat64,
  finished_at: IDL.Opt(IDL.Nat64),
});

export const managerIdlFactory: IDL.InterfaceFactory = () =>
  IDL.Service({
    cluster_info: IDL.Func([], [ClusterInfoIdl], ['query']),
    cluster_status: IDL.Func([], [Reply(ClusterStatusIdl)], ['composite_query']),
    request_topology_change: IDL.Func([TopologyChangeRequestIdl], [], []),
    bootstrap: IDL.Func([IDL.Record({ wasm_hash: IDL.Vec(IDL.Nat8), chunk_hashes: IDL.Vec(IDL.Vec(IDL.Nat8)) })], [Reply(IDL.Principal)], []),
    split_shard: IDL.Func([IDL.Record({ shard: IDL.Principal, method: IDL.Opt(IDL.Text) })], [Reply(IDL.Null)], []),
    merge_shard: IDL.Func([IDL.Record({ shard: IDL.Principal, into: IDL.Opt(IDL.Principal) })], [Reply(IDL.Null)], []),
    update_cluster_settings: IDL.Func([ClusterSettingsIdl], [Reply(IDL.Null)], []),
    drive: IDL.Func([], [Reply(TickIdl)], []),
    start_upgrade: IDL.Func([StoredWasmIdl], [Reply(IDL.Text)], []),
    upgrade_status: IDL.Func([], [Reply(IDL.Opt(RolloutStatusIdl))], ['query']),
    set_shard_wasm: IDL.Func([StoredWasmIdl], [Reply(IDL.Null)], []),
    rebind_cluster: IDL.Func([RenamesIdl], [Reply(IDL.Vec(IDL.Principal))], []),
  });

export interface ClusterInfo {
  role: 'manager' | 'shard';
  map: string;
  manager: [] | [Principal];
}
