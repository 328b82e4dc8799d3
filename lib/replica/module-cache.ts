// Turns user-supplied Wasm (plain or gzipped) into an instrumented, compiled module. One compiled
// WebAssembly.Module is shared by every canister running the same code (100 shards of one Azle
// Wasm compile once); instrumented bytes are cached on disk by hash so a new process skips the
// rewrite.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { InvalidWasmError } from './errors.js';
import { instrument, type InstrumentedModule } from './instrument.js';

/** The IC accepts modules up to 100 MiB (uncompressed). */
export const MAX_WASM_BYTES = 100 * 1024 * 1024;
const CACHE_VERSION = 'v4'; // v3: IC instruction costs (instruction-costs.ts); v4: write barrier
/** Instrumented modules kept on disk; older ones are pruned (each is ~3.5 MB for Azle). */
const MAX_DISK_CACHE_MODULES = 24;
const cacheDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../node_modules/.cache/shardorm/instrumented');

export interface LoadedModule {
  module: WebAssembly.Module;
  /** SHA-256 of the module as installed (after gunzip), what canister_status reports. */
  hash: Uint8Array;
  /** The module bytes as installed (gunzipped), for snapshots. */
  original: Uint8Array;
  exports: Set<string>;
  /** Name under which the module exports its memory. */
  memoryExport: string;
  globalExports: string[];
  tableExport?: string;
  /** Stores mark dirty pages (instrument.ts); false for memory64 modules. */
  barrier: boolean;
  customSectionsSize: number;
  /** Declares Motoko-style enhanced orthogonal persistence: may be upgraded keeping its heap. */
  enhancedOrthogonalPersistence: boolean;
}

/** Custom sections that declare enhanced orthogonal persistence (heap kept across upgrades). */
const PERSISTENCE_SECTIONS = ['icp:private enhanced-orthogonal-persistence', 'icp:public enhanced-orthogonal-persistence'];
/** Custom sections the IC keeps as canister metadata (and counts in custom_sections_size). */
const METADATA_PREFIXES = ['icp:public ', 'icp:private '];

const memoryCache = new Map<string, LoadedModule>();

export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

/** Decompresses gzip when present and enforces the size limit. */
export function decodeWasm(bytes: Uint8Array): Uint8Array {
  let wasm = bytes;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      wasm = new Uint8Array(gunzipSync(bytes, { maxOutputLength: MAX_WASM_BYTES }));
    } catch (error) {
      throw new InvalidWasmError(`gzipped module could not be decompressed (${(error as Error).message}); send the raw .wasm or a valid .wasm.gz of at most ${MAX_WASM_BYTES} bytes`);
    }
  }
  if (wasm.length > MAX_WASM_BYTES) throw new InvalidWasmError(`module is ${wasm.length} bytes; the limit is ${MAX_WASM_BYTES}`);
  return wasm;
}

/** How a replica instruments modules. */
export interface ModuleOptions {
  /**
   * Stores mark dirty pages (default true); false compares the whole heap after each execution;
   * 'verified' marks and also checks after each execution that no changed page went unmarked.
   */
  writeBarrier?: boolean | 'verified';
}

export function loadModule(bytes: Uint8Array, options: ModuleOptions = {}): LoadedModule {
  const original = decodeWasm(bytes);
  const hash = sha256(original);
  const writeBarrier = options.writeBarrier !== false;
  const key = `${Buffer.from(hash).toString('hex')}${writeBarrier ? '' : '-unmarked'}`;
  const cached = memoryCache.get(key);
  if (cached) return cached;
  const instrumented = readDiskCache(key) ?? writeDiskCache(key, instrument(original, { writeBarrier }));
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(instrumented.wasm as Uint8Array<ArrayBuffer>);
  } catch (error) {
    throw new InvalidWasmError(`Wasm module could not be compiled: ${(error as Error).message}`);
  }
  const exportList = WebAssembly.Module.exports(module);
  const exports = new Set(exportList.map((e) => e.name));
  // The IC accepts a memory exported under any name (or none: its instrumentation exports it).
  const memoryExport = exportList.find((e) => e.kind === 'memory')?.name;
  if (memoryExport === undefined) throw new InvalidWasmError('module must export its memory (the local replica does not add the export itself); export it under any name');
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.module !== 'ic0' || imp.kind !== 'function') {
      throw new InvalidWasmError(`module imports ${imp.module}.${imp.name} (${imp.kind}); canisters may only import functions from "ic0"`);
    }
  }
  const customSectionsSize = metadataSize(original);
  const enhancedOrthogonalPersistence = PERSISTENCE_SECTIONS.some((name) => WebAssembly.Module.customSections(module, name).length > 0);
  const loaded: LoadedModule = { module, hash, original, exports, memoryExport, globalExports: instrumented.globalExports, tableExport: instrumented.tableExport, barrier: instrumented.barrier, customSectionsSize, enhancedOrthogonalPersistence };
  memoryCache.set(key, loaded);
  return loaded;
}

/**
 * What the IC counts for a module's metadata: every `icp:public <name>` / `icp:private <name>`
 * custom section, its name (without the prefix) plus its content.
 */
function metadataSize(wasm: Uint8Array): number {
  let total = 0;
  for (const { name, size } of customSections(wasm)) {
    const prefix = METADATA_PREFIXES.find((p) => name.startsWith(p));
    if (prefix) total += Buffer.byteLength(name) - prefix.length + size;
  }
  return total;
}

/** Names and content sizes of a module's custom sections (section id 0). */
function customSections(wasm: Uint8Array): { name: string; size: number }[] {
  const out: { name: string; size: number }[] = [];
  const leb = (at: number): [number, number] => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const b = wasm[at++];
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) return [value, at];
    }
  };
  for (let at = 8; at < wasm.length; ) {
    const id = wasm[at];
    const [length, body] = leb(at + 1);
    if (id === 0) {
      const [nameLength, nameAt] = leb(body);
      out.push({ name: Buffer.from(wasm.subarray(nameAt, nameAt + nameLength)).toString('utf8'), size: body + length - nameAt - nameLength });
    }
    at = body + length;
  }
  return out;
}

function readDiskCache(key: string): InstrumentedModule | undefined {
  const base = join(cacheDir, `${CACHE_VERSION}-${key}`);
  try {
    if (!existsSync(`${base}.json`)) return undefined;
    const meta = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as Omit<InstrumentedModule, 'wasm'>;
    return { ...meta, wasm: new Uint8Array(readFileSync(`${base}.wasm`)) };
  } catch {
    return undefined;
  }
}

function writeDiskCache(key: string, module: InstrumentedModule): InstrumentedModule {
  const base = join(cacheDir, `${CACHE_VERSION}-${key}`);
  try {
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(`${base}.wasm`, module.wasm);
    writeFileSync(`${base}.json`, JSON.stringify({ globalExports: module.globalExports, tableExport: module.tableExport, barrier: module.barrier }));
    pruneDiskCache();
  } catch {
    // A read-only install still works, just without the disk cache.
  }
  return module;
}

function pruneDiskCache(): void {
  const files = readdirSync(cacheDir)
    .filter((f) => f.endsWith('.wasm'))
    .map((f) => ({ base: join(cacheDir, f.slice(0, -5)), mtime: statSync(join(cacheDir, f)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const { base } of files.slice(MAX_DISK_CACHE_MODULES)) {
    for (const ext of ['.json', '.wasm']) if (existsSync(base + ext)) unlinkSync(base + ext);
  }
}
