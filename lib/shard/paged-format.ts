// What PagedKv keeps in its four byte maps and how it is encoded (lib/shard/paged-store.ts says
// why): the ByteMap interface, the counters record in `meta`, leaf ids as map keys, and reading a
// whole map in pages. Leaves have their own file (paged-leaf.ts).
import { assert } from './paged-leaf.js';

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

/** Directory entries read per `items` call while loading the directory after an upgrade. */
export const DIRECTORY_LOAD_PAGE_ENTRIES = 4096;

export const META_KEY = new Uint8Array([0]);
const META_FORMAT = 1;
/** meta value: [format, entries, bytes low 32, bytes high 21, next leaf id] as u32 LE. */
const META_WORDS = 5;
/** The first leaf's separator: every key sorts at or after it. */
export const FIRST_SEPARATOR = new Uint8Array(0);

export interface Counters {
  entries: number;
  bytes: number;
  nextLeafId: number;
}

/** A reusable buffer for encodeCounters. */
export function counterBuffer(): Uint32Array {
  return new Uint32Array(META_WORDS);
}

/** The counters' stored form, written into `words` (reused: ByteMap.insert copies). */
export function encodeCounters(c: Counters, words: Uint32Array): Uint8Array {
  words[0] = META_FORMAT;
  words[1] = c.entries;
  words[2] = c.bytes % 2 ** 32;
  words[3] = Math.floor(c.bytes / 2 ** 32);
  words[4] = c.nextLeafId;
  return new Uint8Array(words.buffer);
}

export function decodeCounters(bytes: Uint8Array): Counters {
  assert(bytes.length === 4 * META_WORDS, `PagedKv counters of ${bytes.length} bytes`);
  const words = new Uint32Array(bytes.slice().buffer);
  assert(words[0] === META_FORMAT, `PagedKv format ${words[0]} is not ${META_FORMAT}; this code cannot read it`);
  return { entries: words[1], bytes: words[2] + words[3] * 2 ** 32, nextLeafId: words[4] };
}

export function encodeId(id: number): Uint8Array {
  return new Uint8Array([id >>> 24, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff]);
}

export function decodeId(bytes: Uint8Array): number {
  assert(bytes.length === 4, `leaf id of ${bytes.length} bytes`);
  return ((bytes[0] << 24) >>> 0) + (bytes[1] << 16) + (bytes[2] << 8) + bytes[3];
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
