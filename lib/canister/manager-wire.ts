// The manager canister's Candid conversions: its migrations, roll-out and settings as the records
// of lib/protocol/manager-candid.ts, and a stored Wasm argument checked at the door. Pure, so the
// canister file (manager-canister.ts) holds only the methods.
import { Principal } from '@dfinity/principal';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils';
import { ValidationError } from '../model/errors.js';
import type { ClusterSettings } from '../manager/manager.js';
import { publicState, type Rollout } from '../manager/rollout.js';
import type { CopyMethod } from '../protocol/housekeeping.js';
import type { Migration } from '../topology/migration.js';
import type { ShardWasm } from './manager-effects.js';

export const hex = bytesToHex;
export const unhex = hexToBytes;

export function storedWasm(arg: { wasm_hash: Uint8Array; chunk_hashes: Uint8Array[] }): ShardWasm {
  if (arg.wasm_hash.length !== 32) throw new ValidationError(`wasm_hash must be the 32-byte SHA-256 of the Wasm, not ${arg.wasm_hash.length} bytes`);
  if (arg.chunk_hashes.length === 0 || arg.chunk_hashes.some((h) => h.length !== 32)) throw new ValidationError('chunk_hashes must list the 32-byte hashes upload_chunk answered, in order');
  return { hash: Uint8Array.from(arg.wasm_hash), chunks: arg.chunk_hashes.map((h) => Uint8Array.from(h)) };
}

/** The roll-out as a migration of kind 'upgrade' in cluster_status (the client's status() contract). */
export function rolloutAsMigration(r: Rollout) {
  const at = r.shards.find((s) => s.step !== 'done') ?? r.shards[r.shards.length - 1];
  return {
    id: r.id, kind: 'upgrade', method: 'install', state: r.phase, source: Principal.fromText(at.shard), target: [],
    last_error: at.error !== undefined ? [at.error] : r.lastError === undefined ? [] : [r.lastError],
    copied_rows: BigInt(r.shards.reduce((n, s) => n + s.rewritten, 0)), copied_bytes: 0n,
  };
}

export function rolloutToCandid(r: Rollout) {
  return {
    id: r.id, state: r.phase, wasm_hash: r.wasmHash,
    shards: r.shards.map((s) => ({ shard: Principal.fromText(s.shard), state: publicState(s), step: s.step, rewritten: BigInt(s.rewritten), error: s.error === undefined ? [] : [s.error] })),
    last_error: r.lastError === undefined ? [] : [r.lastError], started_at: r.startedAt, finished_at: r.finishedAt === undefined ? [] : [r.finishedAt],
  };
}

export function migrationToCandid(m: Migration) {
  return {
    id: m.id, kind: m.kind, method: m.method, state: m.phase, source: Principal.fromText(m.source), target: m.target === undefined ? [] : [Principal.fromText(m.target)],
    last_error: m.rollback?.reason !== undefined ? [m.rollback.reason] : m.lastError === undefined ? [] : [m.lastError],
    copied_rows: BigInt(m.copiedRows), copied_bytes: BigInt(m.copiedBytes),
  };
}

export function settingsToCandid(s: ClusterSettings) {
  return {
    max_shard_bytes: BigInt(s.maxShardBytes), max_shard_memory_bytes: BigInt(s.maxShardMemoryBytes), min_shard_bytes: BigInt(s.minShardBytes),
    split_method: s.splitMethod, shard_cycles: s.shardCycles, top_up_below_cycles: s.topUpBelowCycles, top_up_cycles: s.topUpCycles,
  };
}

export function settingsFromCandid(s: ReturnType<typeof settingsToCandid>): ClusterSettings {
  if (s.split_method !== 'snapshot' && s.split_method !== 'stream') throw new ValidationError(`split_method must be 'snapshot' or 'stream', not ${s.split_method}`);
  const n = (v: bigint, name: string) => {
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ValidationError(`${name} is above 2^53 - 1`);
    return Number(v);
  };
  return {
    maxShardBytes: n(s.max_shard_bytes, 'max_shard_bytes'), maxShardMemoryBytes: n(s.max_shard_memory_bytes, 'max_shard_memory_bytes'), minShardBytes: n(s.min_shard_bytes, 'min_shard_bytes'),
    splitMethod: s.split_method as CopyMethod, shardCycles: s.shard_cycles, topUpBelowCycles: s.top_up_below_cycles, topUpCycles: s.top_up_cycles,
  };
}

