// The option and result types of LocalReplica's public methods. Where PocketIC's JS client
// (@dfinity/pic) has the same method, the shape is PocketIC's, so a PocketIC test changes only its
// import and setup lines (docs/replica.md lists what still differs).
import type { IDL } from '@dfinity/candid';
import type { Principal } from '@dfinity/principal';
import type { Actor } from './actor.js';
import type { InstallMode, UpgradeOptions } from './install-mode.js';
import type { ManagementMethod } from './management-idl.js';

export interface CreateCanisterOptions {
  /** Defaults to the sender. */
  controllers?: Principal[];
  /** Defaults to 100 T cycles (PocketIC: 10^18). */
  cycles?: bigint;
  /** Defaults to the anonymous principal. */
  sender?: Principal;
}

export interface InstallCodeOptions {
  canisterId: Principal;
  /** Raw or gzipped, or a path to the file; a module too large for one message goes in chunks. */
  wasm: Uint8Array | string;
  /** Candid-encoded init argument (default: empty arguments). */
  arg?: Uint8Array;
  sender?: Principal;
  /** Default 'install' (PocketIC's installCode installs only). */
  mode?: InstallMode;
  upgrade?: UpgradeOptions;
}

export interface ReinstallCodeOptions {
  canisterId: Principal;
  wasm: Uint8Array | string;
  arg?: Uint8Array;
  sender?: Principal;
}

/** PocketIC's upgrade options, in the management canister's Candid form. */
export interface CanisterInstallModeUpgradeOptions {
  skip_pre_upgrade: [] | [boolean];
  wasm_memory_persistence: [] | [{ keep: null } | { replace: null }];
}

export interface UpgradeCanisterOptions extends ReinstallCodeOptions {
  upgradeModeOptions?: CanisterInstallModeUpgradeOptions;
}

export interface SetupCanisterOptions extends CreateCanisterOptions {
  idlFactory: IDL.InterfaceFactory;
  wasm: Uint8Array | string;
  arg?: Uint8Array;
}

export interface CanisterFixture<T = Record<string, (...args: any[]) => Promise<any>>> {
  actor: Actor<T>;
  canisterId: Principal;
}

/** start/stop/status/delete: the canister, and who asks. */
export interface CanisterOptions {
  canisterId: Principal;
  sender?: Principal;
}

export interface UpdateCanisterSettingsOptions extends CanisterOptions {
  controllers?: Principal[];
  computeAllocation?: bigint;
  memoryAllocation?: bigint;
  freezingThreshold?: bigint;
  reservedCyclesLimit?: bigint;
  logVisibility?: { controllers: null } | { public: null };
  wasmMemoryLimit?: bigint;
  wasmMemoryThreshold?: bigint;
}

export interface QueryCallOptions {
  canisterId: Principal;
  method: string;
  /** Candid-encoded argument (default: empty bytes, as PocketIC). */
  arg?: Uint8Array;
  sender?: Principal;
}

export interface UpdateCallOptions extends QueryCallOptions {
  /** For calls to the management canister: the canister the call is about. */
  effectiveCanisterId?: Principal;
}

export interface ManagementCallOptions {
  method: ManagementMethod;
  /** The method's Candid record (omit for methods without an argument). */
  arg?: Record<string, unknown>;
  sender?: Principal;
  /** Defaults to the `canister_id` (or `target_canister`) of the argument. */
  effectiveCanisterId?: Principal;
}

export interface CanisterSnapshot {
  id: Uint8Array;
  takenAtTimestamp: bigint;
  totalSize: bigint;
}

export interface TakeCanisterSnapshotOptions extends CanisterOptions {
  replaceSnapshot?: Uint8Array;
  uninstallCode?: boolean;
}

export interface CanisterSnapshotOptions extends CanisterOptions {
  snapshotId: Uint8Array;
}

export type CanisterStatus = { running: null } | { stopping: null } | { stopped: null };

/** canister_status as PocketIC types it, plus `version` and `memoryMetrics`, which PocketIC omits. */
export interface CanisterStatusResult {
  status: CanisterStatus;
  settings: {
    controllers: Principal[];
    computeAllocation: bigint;
    memoryAllocation: bigint;
    freezingThreshold: bigint;
    reservedCyclesLimit: bigint;
    logVisibility: { controllers: null } | { public: null };
    wasmMemoryLimit: bigint;
    wasmMemoryThreshold: bigint;
    environmentVariables: { name: string; value: string }[];
  };
  moduleHash: Uint8Array | null;
  memorySize: bigint;
  memoryMetrics: {
    wasmMemorySize: bigint;
    stableMemorySize: bigint;
    globalMemorySize: bigint;
    wasmBinarySize: bigint;
    customSectionsSize: bigint;
    canisterHistorySize: bigint;
    wasmChunkStoreSize: bigint;
    snapshotsSize: bigint;
  };
  cycles: bigint;
  reservedCycles: bigint;
  idleCyclesBurnedPerDay: bigint;
  queryStats: { numCallsTotal: bigint; numInstructionsTotal: bigint; requestPayloadBytesTotal: bigint; responsePayloadBytesTotal: bigint };
  /** canister_version. */
  version: bigint;
}

/** snake_case Candid record → camelCase, recursively (records only; arrays and bytes kept). */
export function camelCased<T>(value: unknown): T {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array || (value as { _isPrincipal?: boolean })._isPrincipal) return value as T;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), camelCased(v)])) as T;
}

export function statusResult(raw: Record<string, any>): CanisterStatusResult {
  const status = camelCased<CanisterStatusResult & { moduleHash: [] | [Uint8Array]; readyForMigration?: boolean }>(raw);
  const { readyForMigration: _, ...rest } = status;
  return { ...rest, moduleHash: status.moduleHash[0] ?? null, status: raw.status, settings: { ...status.settings, logVisibility: raw.settings.log_visibility } };
}
