// deployCluster: puts a ShardORM cluster on any IC (the local replica over HTTP or in-process,
// dfx, mainnet) with nothing but an agent. The manager canister gets the shard Wasm in its own
// chunk store — it installs every shard from there with install_chunked_code, so the Wasm crosses
// the network once — then creates shard 0 itself (create_canister with cycles attached, which
// works on mainnet as on the replica). On mainnet pass `managerCanister`, created and funded with
// dfx or icp-cli: only the first canister needs cycles from outside.
import type { Agent } from '@dfinity/agent';
import { Actor, type ActorSubclass } from '@dfinity/agent';
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { sha256 } from '@noble/hashes/sha2';
import { fromWireError, ValidationError, type WireError } from '../model/errors.js';
import type { CopyMethod } from '../protocol/housekeeping.js';
import { InitArgIdl, managerIdlFactory } from '../protocol/manager-candid.js';
import { managementCanister, type ManagementCanister } from './management.js';

/** The IC's chunk store takes chunks of at most 1 MiB. */
export const CHUNK_BYTES = 1024 * 1024;
/** A Wasm above this is refused before anything is created (the IC's module limit is 100 MiB). */
export const MAX_WASM_BYTES = 100 * 1024 * 1024;
/** Cycles for the manager when the tools create it (local replica and dfx only). */
export const DEFAULT_MANAGER_CYCLES = 100_000_000_000_000n;
/** Cycles attached to each shard the manager creates. */
export const DEFAULT_SHARD_CYCLES = 5_000_000_000_000n;
export const DEFAULT_MAX_SHARD_BYTES = 1024 * 1024 * 1024;

export interface DeployClusterOptions {
  agent: Agent;
  /** The shard Wasm (every canister of the cluster runs it; the init argument picks the role). */
  wasm: Uint8Array;
  /** Split a shard above this many logical bytes (default 1 GiB). */
  maxShardBytes?: number;
  /** Merge neighbours whose combined logical bytes fall below this (default 0: never). */
  minShardBytes?: number;
  /** Split a shard whose canister memory is above this (default 0: never). */
  maxShardMemoryBytes?: number;
  splitMethod?: CopyMethod;
  /** Mainnet: a canister you created and funded; the deploying identity must control it. */
  managerCanister?: Principal;
  managerCycles?: bigint;
  shardCycles?: bigint;
  /** Called as work proceeds (upload chunks, install, bootstrap). */
  onProgress?: (step: string, done: number, total: number) => void;
}

export interface DeployedCluster {
  manager: Principal;
  /** Shard 0: any canister of the cluster serves as the entry for ShardedClient.connect. */
  entry: Principal;
}

type Reply<T> = { ok: T } | { err: WireError };

export async function deployCluster(options: DeployClusterOptions): Promise<DeployedCluster> {
  const { agent, wasm } = options;
  if (!(wasm instanceof Uint8Array) || wasm.length < 8 || wasm.length > MAX_WASM_BYTES) {
    throw new ValidationError(`wasm must be a Wasm module of at most ${MAX_WASM_BYTES} bytes (build it with npm run build:example)`);
  }
  if (wasm[0] === 0x1f && wasm[1] === 0x8b) throw new ValidationError('pass the raw Wasm, not a gzipped one: shards are installed from chunks of the module itself');
  const maxShardBytes = options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
  const minShardBytes = options.minShardBytes ?? 0;
  if (!Number.isSafeInteger(maxShardBytes) || maxShardBytes <= 0 || !Number.isSafeInteger(minShardBytes) || minShardBytes < 0 || minShardBytes * 2 > maxShardBytes) {
    throw new ValidationError(`need 0 ≤ minShardBytes (${minShardBytes}) ≤ maxShardBytes / 2 (${maxShardBytes} / 2): a merge must never make a shard that splits again`);
  }
  const deployer = await agent.getPrincipal();
  const management = managementCanister(agent);
  const progress = options.onProgress ?? (() => undefined);

  const manager = options.managerCanister ?? (await management.provisional_create_canister_with_cycles({
    amount: [options.managerCycles ?? DEFAULT_MANAGER_CYCLES],
    settings: [{ controllers: [[deployer]], freezing_threshold: [], reserved_cycles_limit: [], wasm_memory_limit: [], memory_allocation: [], compute_allocation: [] }],
    specified_id: [],
  })).canister_id;

  const hashes = await uploadChunks(management, manager, wasm, progress);
  const limits = { max_shard_bytes: BigInt(maxShardBytes), max_shard_memory_bytes: BigInt(options.maxShardMemoryBytes ?? 0), min_shard_bytes: BigInt(minShardBytes) };
  const shardCycles = options.shardCycles ?? DEFAULT_SHARD_CYCLES;
  const settings = { ...limits, split_method: options.splitMethod ?? 'snapshot', shard_cycles: shardCycles, top_up_below_cycles: shardCycles / 5n, top_up_cycles: shardCycles / 2n };
  // The installer (this identity) becomes the cluster's deployer: a controller of every shard.
  const arg = new Uint8Array(IDL.encode([InitArgIdl], [[{ role: { manager: null }, map: '', manager: [], settings: limits }]]));
  progress('install manager', 0, 1);
  await management.install_chunked_code({
    mode: { install: null },
    target_canister: manager,
    store_canister: [],
    chunk_hashes_list: hashes.map((hash) => ({ hash })),
    wasm_module_hash: sha256(wasm),
    arg,
    sender_canister_version: [],
  });
  progress('install manager', 1, 1);

  progress('create shard 0', 0, 1);
  const actor = Actor.createActor(managerIdlFactory, { agent, canisterId: manager }) as ActorSubclass<{
    update_cluster_settings(s: typeof settings): Promise<Reply<null>>;
    bootstrap(a: { wasm_hash: Uint8Array; chunk_hashes: Uint8Array[] }): Promise<Reply<Principal>>;
  }>;
  const set = await actor.update_cluster_settings(settings);
  if ('err' in set) throw fromWireError(set.err);
  const reply = await actor.bootstrap({ wasm_hash: sha256(wasm), chunk_hashes: hashes });
  if ('err' in reply) throw fromWireError(reply.err);
  progress('create shard 0', 1, 1);
  return { manager, entry: reply.ok };
}

/** `wasm` cut into the chunks upload_chunk takes (CHUNK_BYTES each, the last one shorter). */
export function wasmChunks(wasm: Uint8Array): Uint8Array[] {
  return Array.from({ length: Math.ceil(wasm.length / CHUNK_BYTES) }, (_, i) => wasm.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES));
}

/**
 * Uploads `wasm` into `canister`'s chunk store and returns the chunk hashes. The store is cleared
 * first unless `keep` (a rolling upgrade adds the new Wasm beside the one new shards come from).
 */
export async function uploadChunks(management: ActorSubclass<ManagementCanister>, canister: Principal, wasm: Uint8Array, progress: (step: string, done: number, total: number) => void, options: { keep?: boolean } = {}): Promise<Uint8Array[]> {
  if (options.keep !== true) await management.clear_chunk_store({ canister_id: canister });
  const chunks = wasmChunks(wasm);
  const total = chunks.length;
  const hashes: Uint8Array[] = [];
  for (const [i, chunk] of chunks.entries()) {
    const { hash } = await management.upload_chunk({ canister_id: canister, chunk });
    const expected = sha256(chunk);
    if (hash.length !== expected.length || !hash.every((b, j) => b === expected[j])) throw new Error(`upload_chunk answered a hash that is not SHA-256 of chunk ${i}`);
    hashes.push(Uint8Array.from(hash));
    progress('upload wasm', i + 1, total);
  }
  return hashes;
}


