// The manifest of a backup directory: which canisters it holds, their snapshot metadata, and the
// SHA-256 of every 1 MiB chunk and of every whole region, plus the cluster map and epoch the
// backup belongs to. Restore trusts nothing in the directory that these hashes do not cover.
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils';
import { Principal } from '@dfinity/principal';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SnapshotGlobal, SnapshotMetadata, SnapshotUploadMetadata } from '../client/management.js';
import { CliError } from './errors.js';

export const MANIFEST_FORMAT = 'shardorm-backup/1';
export const MANIFEST_FILE = 'manifest.json';
/** Snapshot data moves in chunks of this size (the IC answers at most ~2 MB per call). */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

export const REGIONS = ['wasm_module', 'main_memory', 'stable_memory'] as const;
export type Region = (typeof REGIONS)[number];

export interface RegionEntry {
  file: string;
  bytes: number;
  /** SHA-256 of the whole region, hex. */
  sha256: string;
  /** SHA-256 of each SNAPSHOT_CHUNK_BYTES chunk in order, hex. */
  chunks: string[];
}

/** Snapshot metadata as JSON (bigints as decimal strings, bytes as hex). */
export interface MetadataJSON {
  takenAt: string;
  canisterVersion: string;
  globals: { type: string; value: string }[];
  certifiedData: string;
  globalTimer: string | null;
  lowMemoryHook: string | null;
}

export interface CanisterEntry {
  canisterId: string;
  role: 'manager' | 'shard' | 'canister';
  snapshotId: string;
  metadata: MetadataJSON;
  regions: Record<Region, RegionEntry>;
  /** The Wasm chunk store (the cluster's manager keeps the shard module there). */
  wasmChunks: { sha256: string; file: string; bytes: number }[];
  /** SHA-256 over the metadata and every region's and chunk's hash: one number per canister. */
  sha256: string;
}

export interface ShardMapEntry {
  canisterId: string;
  range: [string, string];
  entities: number;
  memoryBytes: number;
}

export interface BackupManifest {
  format: typeof MANIFEST_FORMAT;
  created: string;
  network: string;
  chunkBytes: number;
  /** Present when the backup is of a ShardORM cluster. */
  cluster?: { name?: string; manager: string; entry: string; epoch: number; shards: ShardMapEntry[] };
  canisters: CanisterEntry[];
}

export function metadataToJSON(m: SnapshotMetadata): MetadataJSON {
  return {
    takenAt: m.taken_at_timestamp.toString(),
    canisterVersion: m.canister_version.toString(),
    globals: m.globals.map((g) => {
      const [type, value] = Object.entries(g)[0] as [string, number | bigint];
      return { type, value: typeof value === 'number' && !Number.isInteger(value) ? String(value) : value.toString() };
    }),
    certifiedData: bytesToHex(Uint8Array.from(m.certified_data)),
    globalTimer: m.global_timer[0] === undefined ? null : 'active' in m.global_timer[0] ? m.global_timer[0].active.toString() : 'inactive',
    lowMemoryHook: m.on_low_wasm_memory_hook_status[0] === undefined ? null : Object.keys(m.on_low_wasm_memory_hook_status[0])[0],
  };
}

export function uploadMetadata(entry: CanisterEntry, canisterId: Principal): SnapshotUploadMetadata {
  const m = entry.metadata;
  return {
    canister_id: canisterId,
    replace_snapshot: [],
    wasm_module_size: BigInt(entry.regions.wasm_module.bytes),
    wasm_memory_size: BigInt(entry.regions.main_memory.bytes),
    stable_memory_size: BigInt(entry.regions.stable_memory.bytes),
    globals: m.globals.map((g) => globalFromJSON(g)),
    certified_data: hexToBytes(m.certifiedData),
    global_timer: m.globalTimer === null ? [] : [m.globalTimer === 'inactive' ? { inactive: null } : { active: BigInt(m.globalTimer) }],
    on_low_wasm_memory_hook_status: m.lowMemoryHook === null ? [] : [{ [m.lowMemoryHook]: null } as never],
  };
}

function globalFromJSON(g: { type: string; value: string }): SnapshotGlobal {
  switch (g.type) {
    case 'i32':
      return { i32: Number(g.value) };
    case 'i64':
      return { i64: BigInt(g.value) };
    case 'f32':
      return { f32: Number(g.value) };
    case 'f64':
      return { f64: Number(g.value) };
    case 'v128':
      return { v128: BigInt(g.value) };
  }
  throw new CliError(`manifest global of unknown type "${g.type}"; the backup was written by another tool`);
}

/** The per-canister hash: covers metadata, sizes, every chunk hash and the chunk store. */
export function canisterHash(entry: Omit<CanisterEntry, 'sha256'>): string {
  const canonical = JSON.stringify({
    metadata: entry.metadata,
    regions: REGIONS.map((r) => [r, entry.regions[r].bytes, entry.regions[r].sha256, entry.regions[r].chunks]),
    wasmChunks: entry.wasmChunks.map((c) => c.sha256),
  });
  return bytesToHex(sha256(new TextEncoder().encode(canonical)));
}

export function readManifest(dir: string): BackupManifest {
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')) as BackupManifest;
  } catch (error) {
    throw new CliError(`${dir} is not a backup: cannot read ${MANIFEST_FILE} (${(error as Error).message.split('\n')[0]})`);
  }
  if (manifest.format !== MANIFEST_FORMAT) throw new CliError(`${dir}/${MANIFEST_FILE} has format "${manifest.format}", expected "${MANIFEST_FORMAT}"`);
  if (manifest.chunkBytes !== SNAPSHOT_CHUNK_BYTES) throw new CliError(`${dir} was written with ${manifest.chunkBytes}-byte chunks; this CLI reads ${SNAPSHOT_CHUNK_BYTES}`);
  for (const c of manifest.canisters) {
    const { sha256: stated, ...rest } = c;
    if (canisterHash(rest) !== stated) throw new CliError(`backup ${dir} is damaged: the manifest entry of ${c.canisterId} does not match its own SHA-256; nothing was uploaded`);
  }
  return manifest;
}
