// Deploying a Wasm module through the management canister exactly as stock tools do: a module that
// fits one ingress message is installed gzipped with install_code; a larger one is uploaded in
// 1 MiB chunks and installed with install_chunked_code (the chunk store cleared before and after). The
// install itself is lib/replica/chunked-install.ts, shared with the replica's own installCode.
import type { ActorSubclass } from '@dfinity/agent';
import type { Principal } from '@dfinity/principal';
import { gzipSync } from 'node:zlib';
import { installModule, MAX_INLINE_WASM_BYTES } from '../replica/chunked-install.js';
import type { CandidInstallMode } from '../replica/install-mode.js';
import type { ManagementCanister } from './management.js';

export { CHUNK_BYTES, MAX_INLINE_WASM_BYTES } from '../replica/chunked-install.js';

/** Cycles given to canisters created by the tools (the local replica's default). */
export const DEFAULT_CANISTER_CYCLES = 100_000_000_000_000n;

export type InstallStrategy = 'auto' | 'gzip' | 'chunked';

export interface InstallOptions {
  arg?: Uint8Array;
  mode?: CandidInstallMode;
  /** auto: gzip when it fits one message, chunked otherwise. */
  strategy?: InstallStrategy;
  onProgress?: (done: number, total: number) => void;
}

export async function createCanister(management: ActorSubclass<ManagementCanister>, controllers?: Principal[]): Promise<Principal> {
  const { canister_id } = await management.provisional_create_canister_with_cycles({
    amount: [DEFAULT_CANISTER_CYCLES],
    settings: controllers === undefined ? [] : [{ controllers: [controllers], compute_allocation: [], memory_allocation: [], freezing_threshold: [], reserved_cycles_limit: [], wasm_memory_limit: [] }],
    specified_id: []
  });
  return canister_id;
}

/** Installs `wasm` (raw or gzipped) on `canisterId`; returns how it was sent. */
export async function installWasm(
  management: ActorSubclass<ManagementCanister>,
  canisterId: Principal,
  wasm: Uint8Array,
  options: InstallOptions = {}
): Promise<'gzip' | 'chunked'> {
  const arg = options.arg ?? new Uint8Array();
  const mode = options.mode ?? { install: null };
  const strategy = options.strategy ?? 'auto';
  const gzipped = isGzip(wasm) ? wasm : new Uint8Array(gzipSync(wasm, { level: 9 }));
  const inlineFits = gzipped.length <= MAX_INLINE_WASM_BYTES;
  // Inline goes gzipped (smaller); chunks carry the module as given, as dfx sends them.
  const chunked = strategy === 'chunked' || (strategy === 'auto' && !inlineFits);
  const how = await installModule(management, { canisterId, wasm: chunked ? wasm : gzipped, arg, mode, strategy: chunked ? 'chunked' : 'inline', onProgress: options.onProgress });
  return how === 'inline' ? 'gzip' : 'chunked';
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes[0] === 0x1f && bytes[1] === 0x8b;
}
