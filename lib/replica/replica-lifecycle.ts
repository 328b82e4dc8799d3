// The canister lifecycle half of LocalReplica's API: every method is a call to the management
// canister made as ingress (through `updateCall`, exactly like the HTTP path), in PocketIC's shapes.
import { readFileSync } from 'node:fs';
import { IDL } from '@dfinity/candid';
import type { Principal } from '@dfinity/principal';
import type { Actor } from './actor.js';
import { installModule, type InstallClient } from './chunked-install.js';
import { MANAGEMENT_ID } from './engine.js';
import { toCandidInstallMode } from './install-mode.js';
import { MANAGEMENT_METHODS, settingsRecord, type ManagementMethod } from './management-idl.js';
import {
  camelCased,
  statusResult,
  type CanisterFixture,
  type CanisterOptions,
  type CanisterSnapshot,
  type CanisterSnapshotOptions,
  type CanisterStatusResult,
  type CreateCanisterOptions,
  type InstallCodeOptions,
  type ManagementCallOptions,
  type ReinstallCodeOptions,
  type SetupCanisterOptions,
  type TakeCanisterSnapshotOptions,
  type UpdateCallOptions,
  type UpdateCanisterSettingsOptions,
  type UpgradeCanisterOptions
} from './replica-api.js';

export abstract class ReplicaLifecycle {
  abstract updateCall(options: UpdateCallOptions): Promise<Uint8Array>;
  abstract createActor<T>(idlFactory: IDL.InterfaceFactory, canisterId: Principal): Actor<T>;

  // ---- canister lifecycle (through the management canister, as ingress) ----

  async createCanister(options: CreateCanisterOptions = {}): Promise<Principal> {
    const settings = options.controllers ? [settingsRecord({ controllers: [options.controllers] })] : [];
    const [result] = await this.callManagement({ method: 'provisional_create_canister_with_cycles', arg: { amount: options.cycles === undefined ? [] : [options.cycles], settings, specified_id: [], sender_canister_version: [] }, sender: options.sender, effectiveCanisterId: MANAGEMENT_ID });
    return (result as { canister_id: Principal }).canister_id;
  }

  /** install_code, or upload_chunk + install_chunked_code for a module too large for one message. */
  async installCode(options: InstallCodeOptions): Promise<void> {
    const client = managementClient((method, arg) => this.callManagement({ method, arg, sender: options.sender, effectiveCanisterId: options.canisterId }));
    const wasm = typeof options.wasm === 'string' ? new Uint8Array(readFileSync(options.wasm)) : options.wasm;
    await installModule(client, { canisterId: options.canisterId, wasm, arg: options.arg ?? emptyArgs(), mode: toCandidInstallMode(options.mode ?? 'install', options.upgrade) });
  }

  async reinstallCode(options: ReinstallCodeOptions): Promise<void> {
    await this.installCode({ ...options, mode: 'reinstall' });
  }

  async upgradeCanister(options: UpgradeCanisterOptions): Promise<void> {
    const u = options.upgradeModeOptions;
    const persistence = u?.wasm_memory_persistence[0];
    await this.installCode({ ...options, mode: 'upgrade', upgrade: { skipPreUpgrade: u?.skip_pre_upgrade[0], keepHeap: persistence !== undefined && 'keep' in persistence } });
  }

  /** createCanister + installCode + createActor, like PocketIC's setupCanister. */
  async setupCanister<T = Record<string, (...args: any[]) => Promise<any>>>(options: SetupCanisterOptions): Promise<CanisterFixture<T>> {
    const canisterId = await this.createCanister(options);
    await this.installCode({ canisterId, wasm: options.wasm, arg: options.arg, sender: options.sender });
    return { actor: this.createActor<T>(options.idlFactory, canisterId), canisterId };
  }

  async updateCanisterSettings(options: UpdateCanisterSettingsOptions): Promise<void> {
    const { canisterId, sender, controllers, logVisibility, ...rest } = options;
    const fields: Record<string, unknown[]> = { controllers: controllers ? [controllers] : [], log_visibility: logVisibility ? [logVisibility] : [] };
    for (const [key, value] of Object.entries(rest)) if (value !== undefined) fields[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = [value];
    await this.callManagement({ method: 'update_settings', arg: { canister_id: canisterId, settings: settingsRecord(fields), sender_canister_version: [] }, sender });
  }

  async canisterStatus(options: CanisterOptions): Promise<CanisterStatusResult> {
    const [status] = await this.callManagement({ method: 'canister_status', arg: { canister_id: options.canisterId }, sender: options.sender });
    return statusResult(status as Record<string, any>);
  }

  async stopCanister(options: CanisterOptions): Promise<void> {
    await this.callManagement({ method: 'stop_canister', arg: { canister_id: options.canisterId }, sender: options.sender });
  }

  async startCanister(options: CanisterOptions): Promise<void> {
    await this.callManagement({ method: 'start_canister', arg: { canister_id: options.canisterId }, sender: options.sender });
  }

  async deleteCanister(options: CanisterOptions): Promise<void> {
    await this.callManagement({ method: 'delete_canister', arg: { canister_id: options.canisterId }, sender: options.sender });
  }

  async takeCanisterSnapshot(options: TakeCanisterSnapshotOptions): Promise<CanisterSnapshot> {
    const arg = { canister_id: options.canisterId, replace_snapshot: options.replaceSnapshot ? [options.replaceSnapshot] : [], uninstall_code: options.uninstallCode === undefined ? [] : [options.uninstallCode] };
    const [snapshot] = await this.callManagement({ method: 'take_canister_snapshot', arg, sender: options.sender });
    return camelCased<CanisterSnapshot>(snapshot);
  }

  /** Loads a snapshot onto `canisterId` (its own canister's, or another's the sender also controls). */
  async loadCanisterSnapshot(options: CanisterSnapshotOptions): Promise<void> {
    await this.callManagement({ method: 'load_canister_snapshot', arg: { canister_id: options.canisterId, snapshot_id: options.snapshotId, sender_canister_version: [] }, sender: options.sender });
  }

  async listCanisterSnapshots(options: CanisterOptions): Promise<CanisterSnapshot[]> {
    const [list] = await this.callManagement({ method: 'list_canister_snapshots', arg: { canister_id: options.canisterId }, sender: options.sender });
    return (list as unknown[]).map((s) => camelCased<CanisterSnapshot>(s));
  }

  async deleteCanisterSnapshot(options: CanisterSnapshotOptions): Promise<void> {
    await this.callManagement({ method: 'delete_canister_snapshot', arg: { canister_id: options.canisterId, snapshot_id: options.snapshotId }, sender: options.sender });
  }

  /** Calls any management method with its Candid record; returns the decoded results. */
  async callManagement(options: ManagementCallOptions): Promise<unknown[]> {
    const [argTypes, resultTypes] = MANAGEMENT_METHODS[options.method];
    const arg = options.arg;
    const bytes = new Uint8Array(IDL.encode(argTypes, arg === undefined ? [] : [arg]));
    const target = (arg?.canister_id ?? arg?.target_canister) as Principal | undefined;
    const effectiveCanisterId = options.effectiveCanisterId ?? target ?? MANAGEMENT_ID;
    const reply = await this.updateCall({ canisterId: MANAGEMENT_ID, method: options.method, arg: bytes, sender: options.sender, effectiveCanisterId });
    return IDL.decode(resultTypes, reply);
  }
}

function emptyArgs(): Uint8Array {
  return new Uint8Array(IDL.encode([], []));
}

/** The install calls of chunked-install.ts, made through `call`. */
function managementClient(call: (method: ManagementMethod, arg: Record<string, unknown>) => Promise<unknown[]>): InstallClient {
  const first = async (method: ManagementMethod, arg: Record<string, unknown>): Promise<any> => (await call(method, arg))[0];
  return {
    install_code: (arg) => first('install_code', arg),
    clear_chunk_store: (arg) => first('clear_chunk_store', arg),
    upload_chunk: (arg) => first('upload_chunk', arg),
    install_chunked_code: (arg) => first('install_chunked_code', arg)
  };
}

