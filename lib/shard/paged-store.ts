// PagedKv: the ordered store a shard keeps its rows and indexes in, built on four plain byte maps
// (Azle's StableBTreeMap inside a canister, lib/canister/stable-store.ts). StableBTreeMap answers
// point operations in O(log n) but ranges only by index (`items(start, n)` skips `start` entries
// one by one), so the key order lives in our own structure:
//
//   values     key → value                       (a point get is one lookup, as raw)
//   leaves     leafId (u32 BE) → packed leaf      (sorted (key, valueLength) runs; paged-leaf.ts)
//   directory  separator → leafId (u32 BE)        (leaf i holds the keys in [sep i, sep i+1))
//   meta       0x00 → counters                    (entries, logical bytes, next leaf id; paged-format.ts)
//
// The directory is mirrored in the Wasm heap as a sorted array, loaded lazily on first use (after
// an upgrade that is one ordered read of about n / (LEAF_MAX_KEYS / 2) entries). A range read is
// one heap binary search, one leaf read per LEAF_MAX_KEYS keys and one value lookup per entry.
// Pure TypeScript over the ByteMap interface: it runs the same in Node, QuickJS and a canister.
// One PagedKv owns its maps: two live instances over the same maps would each trust a stale mirror.
import { PayloadTooLargeError, ValidationError } from '../model/errors.js';
import { compareBytes, MAX_STORAGE_KEY_BYTES } from '../model/keys.js';
import type { Entry, KeyEntry, OrderedKv } from '../repository/store.js';
import { assert, fail, keyString, Leaf } from './paged-leaf.js';
import { counterBuffer, decodeCounters, decodeId, encodeCounters, encodeId, FIRST_SEPARATOR, META_KEY, readAll, type ByteMap, type Counters, type PagedKvMaps } from './paged-format.js';

export type { ByteMap, PagedKvMaps } from './paged-format.js';
export { DIRECTORY_LOAD_PAGE_ENTRIES } from './paged-format.js';

/** Leaf shape; the defaults are the constants below (tests shrink them to split and merge often). */
export interface LeafLimits {
  leafMaxKeys: number;
  leafMaxBytes: number;
  leafMergeBelowKeys: number;
}

export interface PagedKvOptions {
  maps: PagedKvMaps;
  limits?: Partial<LeafLimits>;
}

/** A leaf splits when it holds more entries than this. */
export const LEAF_MAX_KEYS = 128;
/** A leaf of two or more entries splits when its packed form exceeds this many bytes. */
export const LEAF_MAX_BYTES = 32 * 1024;
/** After a delete, a leaf with fewer entries than this merges with a neighbour when both fit in one. */
export const LEAF_MERGE_BELOW_KEYS = LEAF_MAX_KEYS / 4;
/** Longest key, in bytes (the model layer's storage-key limit). */
export const MAX_KEY_BYTES = MAX_STORAGE_KEY_BYTES;
/** Largest value, in bytes (above one IC message's payload; the model layer's limit is lower). */
export const MAX_VALUE_BYTES = 4 * 1024 * 1024;

export class PagedKv implements OrderedKv {
  // The directory in the heap: separators as bytes and as keyStrings (searched natively), and each
  // leaf's id as its 4-byte map key.
  private separators: Uint8Array[] = [];
  private separatorTexts: string[] = [];
  private leafKeys: Uint8Array[] = [];
  /** The counters' stored form, reused for every write. */
  private readonly counterWords = counterBuffer();
  private counters: Counters | undefined;
  private readonly maps: PagedKvMaps;
  private readonly limits: LeafLimits;

  constructor(options: PagedKvOptions) {
    this.maps = options.maps;
    this.limits = { leafMaxKeys: LEAF_MAX_KEYS, leafMaxBytes: LEAF_MAX_BYTES, leafMergeBelowKeys: LEAF_MERGE_BELOW_KEYS, ...options.limits };
    const { leafMaxKeys, leafMaxBytes, leafMergeBelowKeys } = this.limits;
    if (!Number.isInteger(leafMaxKeys) || leafMaxKeys < 2) throw new ValidationError(`leafMaxKeys must be an integer >= 2, got ${leafMaxKeys}`);
    if (!Number.isInteger(leafMaxBytes) || leafMaxBytes < 64) throw new ValidationError(`leafMaxBytes must be an integer >= 64, got ${leafMaxBytes}`);
    if (!Number.isInteger(leafMergeBelowKeys) || leafMergeBelowKeys < 0 || leafMergeBelowKeys > leafMaxKeys / 2) {
      throw new ValidationError(`leafMergeBelowKeys must be an integer in [0, leafMaxKeys / 2], got ${leafMergeBelowKeys}`);
    }
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.maps.values.get(key);
  }

  set(key: Uint8Array, value: Uint8Array): Uint8Array | undefined {
    checkEntry(key, value);
    const counters = this.load();
    const previous = this.maps.values.insert(key, value);
    if (previous !== undefined) {
      if (previous.length === value.length) return previous; // the leaf and the counters stay as they are
      const text = keyString(key);
      const d = this.leafIndexOf(text);
      const leaf = this.readLeaf(d);
      const i = leaf.indexOf(text);
      if (i < 0) fail('a stored value has no key in its leaf');
      this.writeLeaf(d, leaf.withValueLength(i, value.length));
      counters.bytes += value.length - previous.length;
    } else {
      const text = keyString(key);
      const d = this.leafIndexOf(text);
      const leaf = this.readLeaf(d);
      const i = leaf.lowerBound(text);
      if (i < leaf.count && leaf.keyText(i) === text) fail('a key in a leaf has no stored value');
      this.placeLeaf(d, leaf.withInserted(i, key, value.length));
      counters.entries += 1;
      counters.bytes += key.length + value.length;
    }
    this.writeCounters();
    return previous;
  }

  delete(key: Uint8Array): Uint8Array | undefined {
    const counters = this.load();
    const previous = this.maps.values.remove(key);
    if (previous === undefined) return undefined;
    const text = keyString(key);
    const d = this.leafIndexOf(text);
    const leaf = this.readLeaf(d);
    const i = leaf.indexOf(text);
    if (i < 0) fail('a stored value has no key in its leaf');
    this.shrinkLeaf(d, leaf.withRemoved(i));
    counters.entries -= 1;
    counters.bytes -= key.length + previous.length;
    this.writeCounters();
    return previous;
  }

  range(lo: Uint8Array, hi: Uint8Array, limit: number): Entry[] {
    return this.scan(lo, hi, limit, (leaf, i) => {
      const key = leaf.key(i);
      const value = this.maps.values.get(key);
      if (value === undefined) fail('a key in a leaf has no stored value');
      return [key, value];
    });
  }

  keysInRange(lo: Uint8Array, hi: Uint8Array, limit: number): KeyEntry[] {
    return this.scan(lo, hi, limit, (leaf, i) => [leaf.key(i), leaf.valueLength(i)]);
  }

  size(): number {
    return this.load().entries;
  }

  bytes(): number {
    return this.load().bytes;
  }

  /** Number of leaves (for tests and status: the directory's size). */
  leafCount(): number {
    this.load();
    return this.leafKeys.length;
  }

  /**
   * Asserts every invariant against the maps themselves (O(n) lookups; tests only): the heap
   * directory equals the stored one; separators strictly ascending from the empty key; every leaf
   * valid, within its limits and holding exactly the keys of its range; only the first leaf may
   * be empty; counters equal the sums; each key's value length matches its stored value.
   */
  check(): void {
    const counters = this.load();
    const stored = readAll(this.maps.directory);
    assert(stored.length === this.separators.length, `directory holds ${stored.length} entries, heap ${this.separators.length}`);
    assert(this.maps.leaves.len() === stored.length, 'leaf map and directory differ in size');
    let entries = 0;
    let bytes = 0;
    for (let d = 0; d < stored.length; d++) {
      const sep = this.separators[d];
      assert(compareBytes(stored[d][0], sep) === 0 && compareBytes(stored[d][1], this.leafKeys[d]) === 0, `directory entry ${d} differs from the heap`);
      assert(this.separatorTexts[d] === keyString(sep), `heap directory ${d}: separator text differs`);
      assert(d === 0 ? sep.length === 0 : compareBytes(this.separators[d - 1], sep) < 0, `separator ${d} out of order`);
      assert(decodeId(this.leafKeys[d]) < counters.nextLeafId, `leaf id ${decodeId(this.leafKeys[d])} not below the next id`);
      const leaf = this.readLeaf(d);
      leaf.check();
      assert(leaf.count <= this.limits.leafMaxKeys, `leaf ${d} holds ${leaf.count} entries`);
      assert(leaf.count <= 1 || leaf.bytes.length <= this.limits.leafMaxBytes, `leaf ${d} is ${leaf.bytes.length} bytes`);
      assert(leaf.count > 0 || d === 0, `leaf ${d} is empty`);
      for (let i = 0; i < leaf.count; i++) {
        assert(compareBytes(leaf.key(i), sep) >= 0, `leaf ${d} key ${i} sorts before its separator`);
        if (d + 1 < stored.length) assert(compareBytes(leaf.key(i), this.separators[d + 1]) < 0, `leaf ${d} key ${i} belongs to the next leaf`);
        assert(this.maps.values.get(leaf.key(i))?.length === leaf.valueLength(i), `leaf ${d} key ${i}: value length differs`);
      }
      entries += leaf.count;
      bytes += leaf.keyBytes() + leaf.valueBytes();
    }
    assert(entries === counters.entries && entries === this.maps.values.len(), `entries: leaves ${entries}, counter ${counters.entries}, values ${this.maps.values.len()}`);
    assert(bytes === counters.bytes, `bytes: leaves ${bytes}, counter ${counters.bytes}`);
  }

  /**
   * Visits up to `limit` keys in [lo, hi) in order, leaf by leaf. Only the first leaf is searched
   * for `lo`; a leaf whose last key is below `hi` is taken whole, so keys are not compared one by one.
   */
  private scan<T>(lo: Uint8Array, hi: Uint8Array, limit: number, at: (leaf: Leaf, index: number) => T): T[] {
    if (!Number.isInteger(limit) || limit < 0) throw new ValidationError(`range limit must be a non-negative integer, got ${limit}; pass how many entries you want`);
    this.load();
    const out: T[] = [];
    const loText = keyString(lo);
    const hiText = keyString(hi);
    if (limit === 0 || loText >= hiText) return out;
    let d = this.leafIndexOf(loText);
    let leaf = this.readLeaf(d);
    let i = leaf.lowerBound(loText);
    for (;;) {
      const end = leaf.count > 0 && leaf.keyText(leaf.count - 1) < hiText ? leaf.count : leaf.lowerBound(hiText);
      const stop = Math.min(end, i + limit - out.length);
      for (; i < stop; i++) out.push(at(leaf, i));
      if (out.length === limit || end < leaf.count) return out;
      d += 1;
      if (d === this.leafKeys.length || this.separatorTexts[d] >= hiText) return out;
      leaf = this.readLeaf(d);
      i = 0;
    }
  }

  /** Writes a grown leaf back, split into as many leaves as it takes for each to be within the limits. */
  private placeLeaf(d: number, leaf: Leaf): void {
    if (this.fits(leaf)) {
      this.writeLeaf(d, leaf);
      return;
    }
    const [first, ...rest] = this.splitToFit(leaf);
    this.writeLeaf(d, first);
    let previous = first;
    for (const [k, next] of rest.entries()) {
      const separator = shortestSeparator(previous.key(previous.count - 1), next.key(0));
      const id = this.counters!.nextLeafId;
      this.counters!.nextLeafId += 1;
      this.maps.leaves.insert(encodeId(id), next.bytes);
      this.maps.directory.insert(separator, encodeId(id));
      this.separators.splice(d + 1 + k, 0, separator);
      this.separatorTexts.splice(d + 1 + k, 0, keyString(separator));
      this.leafKeys.splice(d + 1 + k, 0, encodeId(id));
      previous = next;
    }
  }

  /**
   * Halves a leaf by key bytes until every piece fits or holds one entry (a long key alone). A
   * leaf over the byte limit is compacted first: its dead bytes may be all that is too much.
   */
  private splitToFit(leaf: Leaf): Leaf[] {
    if (this.fits(leaf) || leaf.count < 2) return [leaf];
    if (leaf.bytes.length > this.limits.leafMaxBytes && leaf.deadBytes() > 0) return this.splitToFit(leaf.compacted());
    const [left, right] = leaf.split();
    return [...this.splitToFit(left), ...this.splitToFit(right)];
  }

  /** Writes a shrunk leaf back: dropped when empty, merged with a neighbour when both fit in one. */
  private shrinkLeaf(d: number, leaf: Leaf): void {
    if (leaf.count === 0 && d > 0) {
      this.dropLeaf(d);
      return;
    }
    if (leaf.count < this.limits.leafMergeBelowKeys && this.leafKeys.length > 1) {
      const [left, right] = d + 1 < this.leafKeys.length ? [d, d + 1] : [d - 1, d];
      const merged = left === d ? leaf.concat(this.readLeaf(right)) : this.readLeaf(left).concat(leaf);
      if (this.fits(merged)) {
        this.writeLeaf(left, merged);
        this.dropLeaf(right);
        return;
      }
    }
    this.writeLeaf(d, leaf);
  }

  private fits(leaf: Leaf): boolean {
    return leaf.count <= this.limits.leafMaxKeys && leaf.bytes.length <= this.limits.leafMaxBytes;
  }

  private dropLeaf(d: number): void {
    assert(d > 0, 'the first leaf is never dropped');
    this.maps.leaves.remove(this.leafKeys[d]);
    this.maps.directory.remove(this.separators[d]);
    this.separators.splice(d, 1);
    this.separatorTexts.splice(d, 1);
    this.leafKeys.splice(d, 1);
  }

  /** Position in the directory of the leaf whose range holds the key: the last separator <= it. */
  private leafIndexOf(text: string): number {
    const separators = this.separatorTexts;
    let lo = 1;
    let hi = separators.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (separators[mid] <= text) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  private readLeaf(d: number): Leaf {
    const bytes = this.maps.leaves.get(this.leafKeys[d]);
    if (bytes === undefined) fail(`leaf ${decodeId(this.leafKeys[d])} is in the directory but not stored`);
    return new Leaf(bytes);
  }

  private writeLeaf(d: number, leaf: Leaf): void {
    this.maps.leaves.insert(this.leafKeys[d], leaf.bytes);
  }

  /** Loads counters and the directory on first use; creates an empty store in empty maps. */
  private load(): Counters {
    if (this.counters !== undefined) return this.counters;
    const { meta, leaves, directory, values } = this.maps;
    const stored = meta.get(META_KEY);
    if (stored === undefined) {
      assert(values.len() === 0 && leaves.len() === 0 && directory.len() === 0, 'maps hold data but no PagedKv counters');
      this.counters = { entries: 0, bytes: 0, nextLeafId: 1 };
      leaves.insert(encodeId(0), Leaf.empty().bytes);
      directory.insert(FIRST_SEPARATOR, encodeId(0));
      this.setDirectory([[FIRST_SEPARATOR, encodeId(0)]]);
      this.writeCounters();
      return this.counters;
    }
    this.counters = decodeCounters(stored);
    this.setDirectory(readAll(directory));
    assert(this.separators.length > 0 && this.separators[0].length === 0, 'directory has no first (empty) separator');
    return this.counters;
  }

  private setDirectory(entries: [Uint8Array, Uint8Array][]): void {
    this.separators = entries.map(([separator]) => separator);
    this.separatorTexts = this.separators.map(keyString);
    this.leafKeys = entries.map(([, id]) => id);
  }

  private writeCounters(): void {
    this.maps.meta.insert(META_KEY, encodeCounters(this.counters!, this.counterWords));
  }
}

/** Bad input is answered before anything is written. */
function checkEntry(key: Uint8Array, value: Uint8Array): void {
  if (!(key instanceof Uint8Array) || !(value instanceof Uint8Array)) throw new ValidationError('PagedKv keys and values are Uint8Array; encode them first');
  if (key.length > MAX_KEY_BYTES) throw new ValidationError(`key of ${key.length} bytes exceeds MAX_KEY_BYTES (${MAX_KEY_BYTES}); shorten the key fields`);
  if (value.length > MAX_VALUE_BYTES) throw new PayloadTooLargeError(`value of ${value.length} bytes exceeds MAX_VALUE_BYTES (${MAX_VALUE_BYTES}); store it in parts`);
}

/** The shortest s with a < s <= b (a < b): b's first byte that differs from a, and what precedes it. */
export function shortestSeparator(a: Uint8Array, b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  assert(i < b.length, 'separator asked for keys out of order');
  return b.slice(0, i + 1);
}

