// Deploying a Wasm module through the management canister exactly as stock tools do: a module that
// fits one ingress message is installed gzipped with install_code; a larger one is uploaded in
// 1 MiB chunks and installed with install_chunked_code (the chunk store is cleared first).
import type { ActorSubclass } from '@dfinity/agent';
import type { Principal } from '@dfinity/principal';
import { sha256 } from '@noble/hashes/sha2';
import { gzipSync } from 'node:zlib';
import type { InstallMode, ManagementCanister } from './management.js';

/** install_code's module must leave room for the rest of a 2 MiB ingress message. */
export const MAX_INLINE_WASM_BYTES = 2 * 1024 * 1024 - 64 * 1024;
/** The IC's chunk store takes chunks of at most 1 MiB. */
export const CHUNK_BYTES = 1024 * 1024;
/** Cycles given to canisters created by the tools (the local replica's default). */
export const DEFAULT_CANISTER_CYCLES = 100_000_000_000_000n;

export type InstallStrategy = 'auto' | 'gzip' | 'chunked';

export interface InstallOptions {
  arg?: Uint8Array;
  mode?: InstallMode;
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
  const gzipped = isGzip(wasm) ? wasm : new Uint8Array(gzipSync(wasm, { level: 9 }));
  const strategy = options.strategy ?? 'auto';
  if (strategy === 'gzip' || (strategy === 'auto' && gzipped.length <= MAX_INLINE_WASM_BYTES)) {
    if (gzipped.length > MAX_INLINE_WASM_BYTES) throw new Error(`The gzipped module is ${gzipped.length} bytes, over the ${MAX_INLINE_WASM_BYTES}-byte install_code limit; use the chunked strategy.`);
    await management.install_code({ mode, canister_id: canisterId, wasm_module: gzipped, arg, sender_canister_version: [] });
    options.onProgress?.(1, 1);
    return 'gzip';
  }
  await management.clear_chunk_store({ canister_id: canisterId });
  const total = Math.ceil(wasm.length / CHUNK_BYTES);
  const hashes: { hash: Uint8Array }[] = [];
  for (let i = 0; i < total; i++) {
    const chunk = wasm.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES);
    const { hash } = await management.upload_chunk({ canister_id: canisterId, chunk });
    if (Buffer.compare(Buffer.from(hash), Buffer.from(sha256(chunk))) !== 0) throw new Error(`upload_chunk returned a hash that is not SHA-256 of chunk ${i}; the replica is misbehaving.`);
    hashes.push({ hash });
    options.onProgress?.(i + 1, total + 1);
  }
  await management.install_chunked_code({
    mode,
    target_canister: canisterId,
    store_canister: [],
    chunk_hashes_list: hashes,
    wasm_module_hash: sha256(wasm),
    arg,
    sender_canister_version: []
  });
  options.onProgress?.(total + 1, total + 1);
  return 'chunked';
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes[0] === 0x1f && bytes[1] === 0x8b;
}
