// How code is installed: the one InstallMode of the replica (and of the CLI), the upgrade options,
// and their Candid form in install_code / install_chunked_code (`variant { install; reinstall;
// upgrade : opt record { skip_pre_upgrade; wasm_memory_persistence } }`).

export type InstallMode = 'install' | 'reinstall' | 'upgrade';

export interface UpgradeOptions {
  /** Skip canister_pre_upgrade (a canister whose pre_upgrade traps can still be upgraded). */
  skipPreUpgrade?: boolean;
  /** wasm_memory_persistence = keep: the heap survives (modules declaring enhanced orthogonal persistence). */
  keepHeap?: boolean;
}

/** The Candid `mode` argument of install_code. */
export type CandidInstallMode =
  | { install: null }
  | { reinstall: null }
  | { upgrade: [] | [{ skip_pre_upgrade: [] | [boolean]; wasm_memory_persistence: [] | [{ keep: null } | { replace: null }] }] };

export function toCandidInstallMode(mode: InstallMode, upgrade: UpgradeOptions = {}): CandidInstallMode {
  if (mode === 'install') return { install: null };
  if (mode === 'reinstall') return { reinstall: null };
  if (upgrade.skipPreUpgrade === undefined && upgrade.keepHeap === undefined) return { upgrade: [] };
  return { upgrade: [{ skip_pre_upgrade: upgrade.skipPreUpgrade === undefined ? [] : [upgrade.skipPreUpgrade], wasm_memory_persistence: upgrade.keepHeap ? [{ keep: null }] : [] }] };
}

export function fromCandidInstallMode(mode: CandidInstallMode): { mode: InstallMode; upgrade: Required<UpgradeOptions> } {
  const none = { skipPreUpgrade: false, keepHeap: false };
  if ('install' in mode) return { mode: 'install', upgrade: none };
  if ('reinstall' in mode) return { mode: 'reinstall', upgrade: none };
  const options = mode.upgrade[0];
  const persistence = options?.wasm_memory_persistence[0];
  return { mode: 'upgrade', upgrade: { skipPreUpgrade: options?.skip_pre_upgrade[0] ?? false, keepHeap: persistence !== undefined && 'keep' in persistence } };
}
