// What PagedKv keeps in its four byte maps and how it is encoded (lib/shard/paged-store.ts says
// why): the ByteMap interface, the `meta` record, directory values (leaf id plus the leaf's entry
// and byte sums), leaf ids as map keys, reading a whole map in pages, and the one-time upgrade of
// a format-1 store. Leaves have their own file (paged-leaf.ts).
//
// Format 2 (current):  meta 0x00 → [2, next leaf id]                      u32 LE each
//                      directory separator → [leaf id, entries, bytes]    u32 BE each
// Format 1 (read once, upgraded in place by upgradeFormat1):
//                      meta 0x00 → [1, entries, bytes low 32, bytes high 21, next leaf id]
//                      directory separator → [leaf id]
// Format 2 moves the entry and byte counts from one record rewritten on every write into each
// leaf's directory entry, rewritten with its leaf: a write still costs three map inserts, and a
// hash range's bytes (split points, owned sizes) are summed from the heap directory, not the rows.
import { assert, fail, Leaf } from './paged-leaf.js';

/**
 * The slice of StableBTreeMap<Uint8Array, Uint8Array> PagedKv needs; `items` orders keys byte-wise.
 * `insert` must copy what it is given (stable memory does): PagedKv reuses some buffers.
 */
export interface ByteMap {
  get(key: Uint8Array): Uint8Array | undefined;
  insert(key: Uint8Array, value: Uint8Array): Uint8Array | undefined;
  remove(key: Uint8Array): Uint8Array | undefined;
  len(): number;
  /** Up to `length` entries from position `startIndex` in key order (used only to load the directory). */
  items(startIndex: number, length: number): [Uint8Array, Uint8Array][];
}

export interface PagedKvMaps {
  values: ByteMap;
  leaves: ByteMap;
  directory: ByteMap;
  meta: ByteMap;
}

/** Entries and bytes (keys plus values) of a run of keys: one leaf, part of one, or a whole store. */
export interface Sums {
  entries: number;
  bytes: number;
}

/**
 * Keys lo <= k < hi hold `entries` entries of `bytes` bytes (keys plus values). What
 * PagedKv.sumsInRange answers, one per leaf; callers must not modify `lo` or `hi`.
 */
export interface KeyRangeSum extends Sums {
  lo: Uint8Array;
  hi: Uint8Array;
  /** lo and hi as keyStrings (paged-leaf.ts), which the heap directory already holds. */
  loText: string;
  hiText: string;
}

/** Directory entries read per `items` call while loading the directory after an upgrade. */
export const DIRECTORY_LOAD_PAGE_ENTRIES = 4096;
/** A leaf's byte sum is stored as a u32; LEAF_MAX_KEYS × MAX_VALUE_BYTES stays below it. */
export const MAX_LEAF_SUM_BYTES = 2 ** 32 - 1;

export const META_KEY = new Uint8Array([0]);
export const META_FORMAT = 2;
const META_FORMAT_1 = 1;
const META_WORDS = 2;
const META_WORDS_1 = 5;
/** The first leaf's separator: every key sorts at or after it. */
export const FIRST_SEPARATOR = new Uint8Array(0);
export const DIRECTORY_VALUE_BYTES = 12;

export function encodeMeta(nextLeafId: number): Uint8Array {
  return new Uint8Array(new Uint32Array([META_FORMAT, nextLeafId]).buffer);
}

/** The format word of a meta record (1: upgradeFormat1 must rewrite the store first). */
export function metaFormat(bytes: Uint8Array): number {
  assert(bytes.length >= 4, `PagedKv meta record of ${bytes.length} bytes`);
  return new Uint32Array(bytes.slice(0, 4).buffer)[0];
}

export function decodeMeta(bytes: Uint8Array): { nextLeafId: number } {
  const format = metaFormat(bytes);
  assert(format === META_FORMAT, `PagedKv format ${format} is not ${META_FORMAT}; this code cannot read it`);
  assert(bytes.length === 4 * META_WORDS, `PagedKv meta record of ${bytes.length} bytes`);
  return { nextLeafId: new Uint32Array(bytes.slice().buffer)[1] };
}

/** A directory value: the leaf's id (its key in `leaves`) and its sums, written into `out` (reused: ByteMap.insert copies). */
export function encodeDirectoryValue(leafKey: Uint8Array, sums: Sums, out: Uint8Array): Uint8Array {
  // Hot path: the message is built only on failure (a template literal costs real instructions).
  if (!(sums.bytes <= MAX_LEAF_SUM_BYTES && sums.entries >= 0 && sums.bytes >= 0)) fail(`leaf sums ${sums.entries} entries, ${sums.bytes} bytes`);
  out.set(leafKey, 0);
  writeU32BE(out, 4, sums.entries);
  writeU32BE(out, 8, sums.bytes);
  return out;
}

export function decodeDirectoryValue(bytes: Uint8Array): { leafKey: Uint8Array } & Sums {
  if (bytes.length !== DIRECTORY_VALUE_BYTES) fail(`directory value of ${bytes.length} bytes`); // once per leaf at load: no eager message
  return { leafKey: bytes.slice(0, 4), entries: readU32BE(bytes, 4), bytes: readU32BE(bytes, 8) };
}

function writeU32BE(out: Uint8Array, at: number, n: number): void {
  out[at] = n >>> 24;
  out[at + 1] = (n >>> 16) & 0xff;
  out[at + 2] = (n >>> 8) & 0xff;
  out[at + 3] = n & 0xff;
}

function readU32BE(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) >>> 0) + (bytes[at + 1] << 16) + (bytes[at + 2] << 8) + bytes[at + 3];
}

export function encodeId(id: number): Uint8Array {
  return new Uint8Array([id >>> 24, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff]);
}

export function decodeId(bytes: Uint8Array): number {
  if (bytes.length !== 4) fail(`leaf id of ${bytes.length} bytes`);
  return readU32BE(bytes, 0);
}

/** A leaf's sums counted from the leaf itself (O(entries): splits, merges, upgrades, checks). */
export function leafSums(leaf: Leaf): Sums {
  return { entries: leaf.count, bytes: leaf.keyBytes() + leaf.valueBytes() };
}

/**
 * Rewrites a format-1 store as format 2 in place: every directory value gains its leaf's sums
 * (one read of every leaf, once), and the meta record drops the totals, which must equal the
 * leaves' sums (else nothing is written). Runs inside the first call after the upgrade that
 * installs this code, O(leaves) reads and writes once. Returns the directory as rewritten.
 */
export function upgradeFormat1(maps: PagedKvMaps, meta: Uint8Array): [Uint8Array, Uint8Array][] {
  assert(metaFormat(meta) === META_FORMAT_1 && meta.length === 4 * META_WORDS_1, `PagedKv format ${metaFormat(meta)} (${meta.length}-byte meta record) is neither 1 nor ${META_FORMAT}; this code cannot read it`);
  const words = new Uint32Array(meta.slice().buffer);
  const totals = { entries: words[1], bytes: words[2] + words[3] * 2 ** 32 };
  const out: [Uint8Array, Uint8Array][] = [];
  let entries = 0;
  let bytes = 0;
  for (const [separator, leafKey] of readAll(maps.directory)) {
    assert(leafKey.length === 4, `format-1 directory value of ${leafKey.length} bytes`);
    const stored = maps.leaves.get(leafKey);
    assert(stored !== undefined, `leaf ${decodeId(leafKey)} is in the directory but not stored`);
    const sums = leafSums(Leaf.decode(stored));
    out.push([separator, encodeDirectoryValue(leafKey, sums, new Uint8Array(DIRECTORY_VALUE_BYTES))]);
    entries += sums.entries;
    bytes += sums.bytes;
  }
  assert(entries === totals.entries && bytes === totals.bytes, `format-1 counters say ${totals.entries} entries, ${totals.bytes} bytes; the leaves hold ${entries}, ${bytes}`);
  for (const [separator, value] of out) maps.directory.insert(separator, value); // only once all of it was read and agreed
  maps.meta.insert(META_KEY, encodeMeta(words[4]));
  return out;
}

/** Every entry of a map in key order, DIRECTORY_LOAD_PAGE_ENTRIES at a time. */
export function readAll(map: ByteMap): [Uint8Array, Uint8Array][] {
  const out: [Uint8Array, Uint8Array][] = [];
  const total = map.len();
  while (out.length < total) {
    const page = map.items(out.length, Math.min(DIRECTORY_LOAD_PAGE_ENTRIES, total - out.length));
    assert(page.length > 0, 'map shorter than its len()');
    out.push(...page);
  }
  return out;
}
