// Moving one canister snapshot between the IC and a backup directory: download region by region
// in 1 MiB chunks (read_canister_snapshot_data), hashing each chunk; verify a directory against
// its manifest before anything is sent; upload (upload_canister_snapshot_metadata/data) and load
// the result onto a canister. The caller stops and starts canisters; this file moves bytes.
// Hashing is Node's native SHA-256 (the JS one took a third of a backup's CPU).
import type { ActorSubclass } from '@dfinity/agent';
import type { Principal } from '@dfinity/principal';
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ManagementCanister, SnapshotReadKind } from '../client/management.js';
import { canisterHash, type CanisterEntry, metadataToJSON, type Region, REGIONS, type RegionEntry, SNAPSHOT_CHUNK_BYTES, uploadMetadata } from './backup-manifest.js';
import { CliError } from './errors.js';

/** Chunk calls in flight per region (agents queue more; four keep the replica busy). */
export const CHUNKS_IN_FLIGHT = 4;

type Management = ActorSubclass<ManagementCanister>;
export type OnBytes = (bytes: number) => void;

export interface DownloadOptions {
  management: Management;
  canisterId: Principal;
  snapshotId: Uint8Array;
  role: CanisterEntry['role'];
  /** Backup directory; files go under <dir>/<canisterId>/. */
  dir: string;
  onBytes: OnBytes;
}

/** Sizes of a snapshot's regions, for progress totals before the download starts. */
export async function snapshotBytes(options: { management: Management; canisterId: Principal; snapshotId: Uint8Array }): Promise<number> {
  const m = await options.management.read_canister_snapshot_metadata({ canister_id: options.canisterId, snapshot_id: options.snapshotId });
  return Number(m.wasm_module_size + m.wasm_memory_size + m.stable_memory_size);
}

export async function downloadSnapshot(options: DownloadOptions): Promise<CanisterEntry> {
  const { management, canisterId, snapshotId } = options;
  const id = canisterId.toText();
  const folder = join(options.dir, id);
  await mkdir(folder, { recursive: true });
  const m = await management.read_canister_snapshot_metadata({ canister_id: canisterId, snapshot_id: snapshotId });
  const sizes: Record<Region, bigint> = { wasm_module: m.wasm_module_size, main_memory: m.wasm_memory_size, stable_memory: m.stable_memory_size };
  const regions = {} as Record<Region, RegionEntry>;
  for (const region of REGIONS) {
    const file = `${id}/${region}.bin`;
    const read = (offset: number, size: number) =>
      management.read_canister_snapshot_data({ canister_id: canisterId, snapshot_id: snapshotId, kind: { [region]: { offset: BigInt(offset), size: BigInt(size) } } as SnapshotReadKind });
    regions[region] = await downloadRegion({ path: join(options.dir, file), file, bytes: Number(sizes[region]), read, onBytes: options.onBytes });
  }
  const wasmChunks: CanisterEntry['wasmChunks'] = [];
  for (const { hash } of m.wasm_chunk_store) {
    const { chunk } = await management.read_canister_snapshot_data({ canister_id: canisterId, snapshot_id: snapshotId, kind: { wasm_chunk: { hash } } });
    const hex = sha256Hex(chunk);
    if (hex !== Buffer.from(hash).toString('hex')) throw new CliError(`the Wasm chunk ${Buffer.from(hash).toString('hex')} of ${id}'s snapshot came back with SHA-256 ${hex}; the network is misbehaving, retry the backup`);
    const file = `${id}/chunk-${hex}.bin`;
    await writeFile(join(options.dir, file), chunk);
    wasmChunks.push({ sha256: hex, file, bytes: chunk.length });
  }
  const entry = { canisterId: id, role: options.role, snapshotId: Buffer.from(snapshotId).toString('hex'), metadata: metadataToJSON(m), regions, wasmChunks };
  return { ...entry, sha256: canisterHash(entry) };
}

interface RegionDownload {
  path: string;
  file: string;
  bytes: number;
  read: (offset: number, size: number) => Promise<{ chunk: Uint8Array }>;
  onBytes: OnBytes;
}

async function downloadRegion(d: RegionDownload): Promise<RegionEntry> {
  const handle = await open(d.path, 'w');
  const whole = createHash('sha256');
  const chunks: string[] = [];
  try {
    for (let offset = 0; offset < d.bytes; offset += SNAPSHOT_CHUNK_BYTES * CHUNKS_IN_FLIGHT) {
      const window: Promise<{ chunk: Uint8Array }>[] = [];
      for (let at = offset; at < Math.min(d.bytes, offset + SNAPSHOT_CHUNK_BYTES * CHUNKS_IN_FLIGHT); at += SNAPSHOT_CHUNK_BYTES) {
        window.push(d.read(at, Math.min(SNAPSHOT_CHUNK_BYTES, d.bytes - at)));
      }
      let at = offset;
      for (const { chunk } of await Promise.all(window)) {
        const expected = Math.min(SNAPSHOT_CHUNK_BYTES, d.bytes - at);
        if (chunk.length !== expected) throw new CliError(`${d.file}: chunk at ${at} came back with ${chunk.length} bytes, expected ${expected}; retry the backup`);
        await handle.write(chunk, 0, chunk.length, at);
        whole.update(chunk);
        chunks.push(sha256Hex(chunk));
        d.onBytes(chunk.length);
        at += chunk.length;
      }
    }
  } finally {
    await handle.close();
  }
  return { file: d.file, bytes: d.bytes, sha256: whole.digest('hex'), chunks };
}

/** Reads every file of `entry` and checks each chunk and whole-region hash; throws on the first mismatch. */
export async function verifyCanisterFiles(options: { dir: string; entry: CanisterEntry; onBytes: OnBytes }): Promise<void> {
  const { dir, entry } = options;
  const damaged = (what: string) => new CliError(`backup ${dir} is damaged: ${what}; nothing was uploaded`);
  for (const region of REGIONS) {
    const r = entry.regions[region];
    const data = await readBackupFile(dir, r.file);
    if (data.length !== r.bytes) throw damaged(`${r.file} has ${data.length} bytes, the manifest says ${r.bytes}`);
    if (r.chunks.length !== Math.ceil(r.bytes / SNAPSHOT_CHUNK_BYTES)) throw damaged(`${r.file} lists ${r.chunks.length} chunk hashes for ${r.bytes} bytes`);
    r.chunks.forEach((stated, i) => {
      const actual = sha256Hex(data.subarray(i * SNAPSHOT_CHUNK_BYTES, (i + 1) * SNAPSHOT_CHUNK_BYTES));
      if (actual !== stated) throw damaged(`${r.file} chunk ${i} has SHA-256 ${actual.slice(0, 16)}…, the manifest says ${stated.slice(0, 16)}…`);
    });
    if (sha256Hex(data) !== r.sha256) throw damaged(`${r.file} does not match its whole-file SHA-256`);
    options.onBytes(data.length);
  }
  for (const c of entry.wasmChunks) {
    const data = await readBackupFile(dir, c.file);
    if (sha256Hex(data) !== c.sha256) throw damaged(`${c.file} does not match its SHA-256`);
  }
}

async function readBackupFile(dir: string, file: string): Promise<Buffer> {
  if (file.includes('..')) throw new CliError(`backup ${dir} names a file outside itself (${file}); refusing it`);
  try {
    return await readFile(join(dir, file));
  } catch (error) {
    throw new CliError(`backup ${dir} is incomplete: ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); nothing was uploaded`);
  }
}

export interface UploadOptions {
  management: Management;
  /** The canister the snapshot goes onto (stopped by the caller before loading). */
  canisterId: Principal;
  dir: string;
  entry: CanisterEntry;
  onBytes: OnBytes;
}

/** Uploads a verified snapshot onto `canisterId` and returns the new snapshot's id (not yet loaded). */
export async function uploadSnapshot(options: UploadOptions): Promise<Uint8Array> {
  const { management, canisterId, entry, dir } = options;
  const { snapshot_id } = await management.upload_canister_snapshot_metadata(uploadMetadata(entry, canisterId));
  for (const region of REGIONS) {
    const data = await readBackupFile(dir, entry.regions[region].file);
    for (let offset = 0; offset < data.length; offset += SNAPSHOT_CHUNK_BYTES * CHUNKS_IN_FLIGHT) {
      const window: Promise<void>[] = [];
      for (let at = offset; at < Math.min(data.length, offset + SNAPSHOT_CHUNK_BYTES * CHUNKS_IN_FLIGHT); at += SNAPSHOT_CHUNK_BYTES) {
        const chunk = data.subarray(at, at + SNAPSHOT_CHUNK_BYTES);
        window.push(
          management.upload_canister_snapshot_data({ canister_id: canisterId, snapshot_id, kind: { [region]: { offset: BigInt(at) } } as never, chunk }).then(() => options.onBytes(chunk.length)),
        );
      }
      await Promise.all(window);
    }
  }
  for (const c of entry.wasmChunks) {
    const chunk = await readBackupFile(dir, c.file);
    if (sha256Hex(chunk) !== c.sha256) throw new CliError(`backup ${dir}: ${c.file} changed while restoring`);
    await management.upload_canister_snapshot_data({ canister_id: canisterId, snapshot_id, kind: { wasm_chunk: null }, chunk });
  }
  return Uint8Array.from(snapshot_id);
}


function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
