// Installing a module the way stock tools do, written once for the replica's API and the CLI
// (lib/cli/deploy.ts): a module that fits one ingress message goes in with install_code; a larger
// one is uploaded in 1 MiB chunks (the chunk store is cleared before and after) and installed with
// install_chunked_code. Each caller supplies the management calls (an agent actor, or the
// replica's own ingress path).
import { createHash } from 'node:crypto';
import type { Principal } from '@dfinity/principal';
import type { CandidInstallMode } from './install-mode.js';

/** install_code's module must leave room for the rest of a 2 MiB ingress message. */
export const MAX_INLINE_WASM_BYTES = 2 * 1024 * 1024 - 64 * 1024;
/** The IC's chunk store takes chunks of at most 1 MiB. */
export const CHUNK_BYTES = 1024 * 1024;

/** The management methods an install uses, with their Candid records. */
export interface InstallClient {
  install_code(args: { mode: CandidInstallMode; canister_id: Principal; wasm_module: Uint8Array; arg: Uint8Array; sender_canister_version: [] }): Promise<void>;
  clear_chunk_store(args: { canister_id: Principal }): Promise<void>;
  upload_chunk(args: { canister_id: Principal; chunk: Uint8Array }): Promise<{ hash: Uint8Array }>;
  install_chunked_code(args: {
    mode: CandidInstallMode;
    target_canister: Principal;
    store_canister: [] | [Principal];
    chunk_hashes_list: { hash: Uint8Array }[];
    wasm_module_hash: Uint8Array;
    arg: Uint8Array;
    sender_canister_version: [];
  }): Promise<void>;
}

export interface InstallModuleOptions {
  canisterId: Principal;
  /** The module as sent: inline when it fits (`wasm.length + arg.length`), chunked otherwise. */
  wasm: Uint8Array;
  arg: Uint8Array;
  mode: CandidInstallMode;
  /** 'auto' (default): inline when it fits one message; 'inline' fails when it does not. */
  strategy?: 'auto' | 'inline' | 'chunked';
  onProgress?: (done: number, total: number) => void;
}

export class ModuleTooLargeError extends Error {
  override name = 'ModuleTooLargeError';
}

/** Installs `wasm`; returns how it was sent. */
export async function installModule(client: InstallClient, options: InstallModuleOptions): Promise<'inline' | 'chunked'> {
  const { canisterId, wasm, arg, mode } = options;
  const strategy = options.strategy ?? 'auto';
  const fits = wasm.length + arg.length <= MAX_INLINE_WASM_BYTES;
  if (strategy === 'inline' || (strategy === 'auto' && fits)) {
    if (!fits) throw new ModuleTooLargeError(`The module is ${wasm.length} bytes (+${arg.length} of argument), over the ${MAX_INLINE_WASM_BYTES}-byte install_code limit; install it chunked.`);
    await client.install_code({ mode, canister_id: canisterId, wasm_module: wasm, arg, sender_canister_version: [] });
    options.onProgress?.(1, 1);
    return 'inline';
  }
  await client.clear_chunk_store({ canister_id: canisterId });
  const total = Math.ceil(wasm.length / CHUNK_BYTES);
  const hashes: { hash: Uint8Array }[] = [];
  for (let i = 0; i < total; i++) {
    const chunk = wasm.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES);
    const { hash } = await client.upload_chunk({ canister_id: canisterId, chunk });
    if (Buffer.compare(Buffer.from(hash), sha256(chunk)) !== 0) throw new Error(`upload_chunk returned a hash that is not SHA-256 of chunk ${i}; the replica is misbehaving.`);
    hashes.push({ hash });
    options.onProgress?.(i + 1, total + 1);
  }
  await client.install_chunked_code({ mode, target_canister: canisterId, store_canister: [], chunk_hashes_list: hashes, wasm_module_hash: sha256(wasm), arg, sender_canister_version: [] });
  await client.clear_chunk_store({ canister_id: canisterId }); // the chunks would count as canister memory
  options.onProgress?.(total + 1, total + 1);
  return 'chunked';
}

function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}
