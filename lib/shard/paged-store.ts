// PagedKv: the ordered store a shard keeps its rows and indexes in, built on four plain byte maps
// (Azle's StableBTreeMap inside a canister, lib/canister/stable-store.ts). StableBTreeMap answers
// point operations in O(log n) but ranges only by index (`items(start, n)` skips `start` entries
// one by one), so the key order lives in our own structure:
//
//   values     key → value                       (a point get is one lookup, as raw)
//   leaves     leafId (u32 BE) → packed leaf      (sorted (key, valueLength) runs; paged-leaf.ts)
//   directory  separator → leafId, entries, bytes (leaf i holds the keys in [sep i, sep i+1))
//   meta       0x00 → format, next leaf id        (paged-format.ts; format 1 is upgraded on load)
//
// The directory is mirrored in the Wasm heap as a sorted array (paged-directory.ts), loaded lazily
// on first use (after an upgrade that is one ordered read of about n / (LEAF_MAX_KEYS / 2)
// entries), and leaves are kept decoded in the heap (paged-cache.ts, bounded by bytes): a write
// changes its leaf in place, and changed leaves and their directory entries reach the maps when
// the store flushes — at the end of every call, or once per message where `deferWrites` says so
// (a canister: lib/canister/stable-store.ts). A range read is one heap binary search, one leaf
// read per LEAF_MAX_KEYS keys and one value lookup per entry. Each directory entry carries its
// leaf's entry and byte sums, rewritten with the leaf, so size(), bytes() and the sums of any key
// range (sumsInRange: split points, owned sizes) cost O(leaves) of heap work and at most two leaf
// reads, never a read of the rows.
// Pure TypeScript over the ByteMap interface: it runs the same in Node, QuickJS and a canister.
// One PagedKv owns its maps: two live instances over the same maps would each trust a stale mirror.
import { PayloadTooLargeError, ValidationError } from '../model/errors.js';
import { compareBytes, MAX_STORAGE_KEY_BYTES } from '../model/keys.js';
import type { Entry, KeyEntry, OrderedKv } from '../repository/store.js';
import { keySuccessor } from '../repository/store.js';
import { LeafCache, MAX_CACHED_LEAF_BYTES } from './paged-cache.js';
import { LeafDirectory } from './paged-directory.js';
import { assert, fail, keyString, Leaf } from './paged-leaf.js';
import { decodeMeta, DIRECTORY_VALUE_BYTES, encodeDirectoryValue, encodeId, encodeMeta, FIRST_SEPARATOR, leafSums, META_FORMAT, META_KEY, metaFormat, readAll, upgradeFormat1, type PagedKvMaps, type Sums, type KeyRangeSum } from './paged-format.js';

export type { ByteMap, KeyRangeSum, PagedKvMaps, Sums } from './paged-format.js';
export { DIRECTORY_LOAD_PAGE_ENTRIES } from './paged-format.js';
export { MAX_CACHED_LEAF_BYTES, MAX_DIRTY_LEAVES } from './paged-cache.js';

/** Leaf shape; the defaults are the constants below (tests shrink them to split and merge often). */
export interface LeafLimits {
  leafMaxKeys: number;
  leafMaxBytes: number;
  leafMergeBelowKeys: number;
}

export interface PagedKvOptions {
  maps: PagedKvMaps;
  limits?: Partial<LeafLimits>;
  /**
   * When changed leaves and directory entries are written to the maps: given `flush`, arrange for
   * it to run once before the current message's changes become durable (a canister: at the end of
   * the current job). Without it they are written at the end of every call.
   */
  deferWrites?: (flush: () => void) => void;
  /** Heap bytes of decoded leaves kept between flushes (default MAX_CACHED_LEAF_BYTES; 0 keeps none). */
  cacheBytes?: number;
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
  private readonly dir: LeafDirectory;
  private readonly cache: LeafCache;
  private readonly deferWrites: ((flush: () => void) => void) | undefined;
  /** A deferred flush is arranged and has not run yet. */
  private flushPending = false;
  /** Set by load(): the store is read (or created) on first use. */
  private nextLeafId: number | undefined;
  private readonly maps: PagedKvMaps;
  private readonly limits: LeafLimits;

  constructor(options: PagedKvOptions) {
    this.maps = options.maps;
    this.dir = new LeafDirectory(options.maps.directory);
    this.cache = new LeafCache(options.maps.leaves, options.cacheBytes ?? MAX_CACHED_LEAF_BYTES);
    this.deferWrites = options.deferWrites;
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
    this.load();
    const previous = this.maps.values.insert(key, value);
    if (previous !== undefined && previous.length === value.length) return previous; // the leaf and its sums stay as they are
    const text = keyString(key);
    const d = this.dir.indexOf(text);
    const leaf = this.readLeaf(d);
    const entries = this.dir.entryCount(d);
    const bytes = this.dir.byteCount(d);
    if (previous !== undefined) {
      const i = leaf.indexOf(text);
      if (i < 0) fail('a stored value has no key in its leaf');
      leaf.setValueLength(i, value.length);
      this.writeLeaf(d, leaf, { entries, bytes: bytes + value.length - previous.length });
    } else {
      const i = leaf.lowerBound(text);
      if (i < leaf.count && leaf.keyText(i) === text) fail('a key in a leaf has no stored value');
      leaf.insert(i, key, value.length, text);
      this.placeLeaf(d, leaf, { entries: entries + 1, bytes: bytes + key.length + value.length });
    }
    this.changed();
    return previous;
  }

  delete(key: Uint8Array): Uint8Array | undefined {
    this.load();
    const previous = this.maps.values.remove(key);
    if (previous === undefined) return undefined;
    const text = keyString(key);
    const d = this.dir.indexOf(text);
    const leaf = this.readLeaf(d);
    const i = leaf.indexOf(text);
    if (i < 0) fail('a stored value has no key in its leaf');
    const sums = this.dir.sums(d);
    leaf.remove(i);
    this.shrinkLeaf(d, leaf.compactedIfDead(), { entries: sums.entries - 1, bytes: sums.bytes - key.length - previous.length });
    this.changed();
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
    this.load();
    return this.dir.totals().entries;
  }

  bytes(): number {
    this.load();
    return this.dir.totals().bytes;
  }

  /** Number of leaves (for tests and status: the directory's size). */
  leafCount(): number {
    this.load();
    return this.dir.length;
  }

  /**
   * The entries and bytes of the keys in [lo, hi), as one sum per leaf that holds some of them,
   * in key order (empty runs left out). A leaf wholly inside the range is answered from the heap
   * directory; only the (at most two) leaves the range's ends cut through are read, and their sums
   * carry exact bounds: their first key and the successor of their last.
   */
  sumsInRange(lo: Uint8Array, hi: Uint8Array): KeyRangeSum[] {
    this.load();
    const out: KeyRangeSum[] = [];
    const loText = keyString(lo);
    const hiText = keyString(hi);
    if (loText >= hiText) return out;
    const first = this.dir.indexOf(loText);
    for (let d = first; d < this.dir.length && (d === first || this.dir.text(d) < hiText); d++) {
      const last = d + 1 === this.dir.length;
      const startsInside = this.dir.text(d) >= loText;
      const endsInside = !last && this.dir.text(d + 1) <= hiText;
      if (startsInside && endsInside) {
        const entries = this.dir.entryCount(d);
        if (entries > 0) out.push({ lo: this.dir.separator(d), hi: this.dir.separator(d + 1), loText: this.dir.text(d), hiText: this.dir.text(d + 1), entries, bytes: this.dir.byteCount(d) });
        continue;
      }
      const leaf = this.readLeaf(d);
      const from = startsInside ? 0 : leaf.lowerBound(loText);
      const to = endsInside ? leaf.count : leaf.lowerBound(hiText);
      if (to <= from) continue;
      const [pieceLo, pieceHi] = [leaf.key(from), keySuccessor(leaf.key(to - 1))];
      out.push({ lo: pieceLo, hi: pieceHi, loText: keyString(pieceLo), hiText: keyString(pieceHi), entries: to - from, bytes: leaf.slotBytes(from, to) });
    }
    return out;
  }

  /**
   * Asserts every invariant against the maps themselves (O(n) lookups; tests only): the heap
   * directory equals the stored one, sums included; separators strictly ascending from the empty
   * key; every leaf valid, within its limits, holding exactly the keys of its range, with the sums
   * its directory entry says (recounted); only the first leaf may be empty; the totals equal the
   * sums and the value map; each key's value length matches its stored value.
   */
  check(): void {
    this.load();
    this.flush();
    this.cache.check();
    const stored = readAll(this.maps.directory);
    this.dir.check(stored);
    assert(this.maps.leaves.len() === stored.length, 'leaf map and directory differ in size');
    assert(metaFormat(this.maps.meta.get(META_KEY)!) === META_FORMAT && decodeMeta(this.maps.meta.get(META_KEY)!).nextLeafId === this.nextLeafId, 'stored meta record differs from the heap');
    for (let d = 0; d < stored.length; d++) {
      const sep = this.dir.separator(d);
      assert(this.dir.leafId(d) < this.nextLeafId!, `leaf id ${this.dir.leafId(d)} not below the next id`);
      const leaf = this.readLeaf(d);
      leaf.check();
      assert(leaf.count <= this.limits.leafMaxKeys, `leaf ${d} holds ${leaf.count} entries`);
      assert(leaf.count <= 1 || leaf.storedBytes() <= this.limits.leafMaxBytes, `leaf ${d} is ${leaf.storedBytes()} bytes`);
      assert(leaf.count > 0 || d === 0, `leaf ${d} is empty`);
      const recount = leafSums(leaf);
      const sums = this.dir.sums(d);
      assert(recount.entries === sums.entries && recount.bytes === sums.bytes, `leaf ${d} holds ${recount.entries} entries, ${recount.bytes} bytes; its directory entry says ${sums.entries}, ${sums.bytes}`);
      for (let i = 0; i < leaf.count; i++) {
        assert(compareBytes(leaf.key(i), sep) >= 0, `leaf ${d} key ${i} sorts before its separator`);
        if (d + 1 < stored.length) assert(compareBytes(leaf.key(i), this.dir.separator(d + 1)) < 0, `leaf ${d} key ${i} belongs to the next leaf`);
        assert(this.maps.values.get(leaf.key(i))?.length === leaf.valueLength(i), `leaf ${d} key ${i}: value length differs`);
      }
    }
    assert(this.dir.totals().entries === this.maps.values.len(), `entries: leaves ${this.dir.totals().entries}, values ${this.maps.values.len()}`);
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
    let d = this.dir.indexOf(loText);
    let leaf = this.readLeaf(d);
    let i = leaf.lowerBound(loText);
    for (;;) {
      const end = leaf.count > 0 && leaf.keyText(leaf.count - 1) < hiText ? leaf.count : leaf.lowerBound(hiText);
      const stop = Math.min(end, i + limit - out.length);
      for (; i < stop; i++) out.push(at(leaf, i));
      if (out.length === limit || end < leaf.count) return out;
      d += 1;
      if (d === this.dir.length || this.dir.text(d) >= hiText) return out;
      leaf = this.readLeaf(d);
      i = 0;
    }
  }

  /** Writes a grown leaf back, split into as many leaves as it takes for each to be within the limits. */
  private placeLeaf(d: number, leaf: Leaf, sums: Sums): void {
    if (this.fits(leaf)) {
      this.writeLeaf(d, leaf, sums);
      return;
    }
    const [first, ...rest] = this.splitToFit(leaf);
    const parts = [first, ...rest].map(leafSums);
    assert(parts.reduce((s, p) => s + p.entries, 0) === sums.entries && parts.reduce((s, p) => s + p.bytes, 0) === sums.bytes, 'split leaves do not sum to the leaf');
    this.writeLeaf(d, first, parts[0]);
    let previous = first;
    for (const [k, next] of rest.entries()) {
      const separator = shortestSeparator(previous.key(previous.count - 1), next.key(0));
      const id = this.nextLeafId!;
      this.nextLeafId! += 1;
      this.cache.put(id, next);
      this.dir.insert(d + 1 + k, separator, encodeId(id), parts[k + 1]);
      previous = next;
    }
    this.maps.meta.insert(META_KEY, encodeMeta(this.nextLeafId!));
  }

  /**
   * Halves a leaf by key bytes until every piece fits or holds one entry (a long key alone). A
   * leaf over the byte limit is compacted first: its dead bytes may be all that is too much.
   */
  private splitToFit(leaf: Leaf): Leaf[] {
    if (this.fits(leaf) || leaf.count < 2) return [leaf];
    if (leaf.storedBytes() > this.limits.leafMaxBytes && leaf.deadBytes() > 0) return this.splitToFit(leaf.compacted());
    const [left, right] = leaf.split();
    return [...this.splitToFit(left), ...this.splitToFit(right)];
  }

  /** Writes a shrunk leaf back: dropped when empty, merged with a neighbour when both fit in one. */
  private shrinkLeaf(d: number, leaf: Leaf, sums: Sums): void {
    if (leaf.count === 0 && d > 0) {
      assert(sums.entries === 0 && sums.bytes === 0, `an empty leaf sums to ${sums.entries} entries, ${sums.bytes} bytes`);
      this.dropLeaf(d);
      return;
    }
    if (leaf.count < this.limits.leafMergeBelowKeys && this.dir.length > 1) {
      const [left, right] = d + 1 < this.dir.length ? [d, d + 1] : [d - 1, d];
      const other = this.dir.sums(left === d ? right : left);
      const merged = left === d ? leaf.concat(this.readLeaf(right)) : this.readLeaf(left).concat(leaf);
      if (this.fits(merged)) {
        this.writeLeaf(left, merged, { entries: sums.entries + other.entries, bytes: sums.bytes + other.bytes });
        this.dropLeaf(right);
        return;
      }
    }
    this.writeLeaf(d, leaf, sums);
  }

  private fits(leaf: Leaf): boolean {
    return leaf.count <= this.limits.leafMaxKeys && leaf.storedBytes() <= this.limits.leafMaxBytes;
  }

  private dropLeaf(d: number): void {
    this.cache.drop(this.dir.leafId(d));
    this.dir.remove(d);
  }

  private readLeaf(d: number): Leaf {
    return this.cache.get(this.dir.leafId(d));
  }

  /** Leaf d is now `leaf` with `sums` (the caller computed them from the change; check() recounts): stored at the next flush. */
  private writeLeaf(d: number, leaf: Leaf, sums: Sums): void {
    if (leaf.count !== sums.entries) fail(`leaf of ${leaf.count} entries written with sums of ${sums.entries}`);
    this.cache.put(this.dir.leafId(d), leaf);
    this.dir.setSums(d, sums);
  }

  /** Writes the changed leaves and directory entries to the maps now. */
  flush(): void {
    this.flushPending = false;
    this.cache.flush();
    this.dir.persist();
  }

  /** After a change: flush now, or arrange the deferred flush (early when too many leaves wait). */
  private changed(): void {
    if (this.deferWrites === undefined || this.cache.full()) return this.flush();
    if (this.flushPending) return;
    this.flushPending = true;
    this.deferWrites(() => {
      if (this.flushPending) this.flush();
    });
  }

  /** Loads the directory on first use (upgrading a format-1 store); creates an empty store in empty maps. */
  private load(): void {
    if (this.nextLeafId !== undefined) return;
    const { meta, leaves, directory, values } = this.maps;
    const stored = meta.get(META_KEY);
    if (stored === undefined) {
      assert(values.len() === 0 && leaves.len() === 0 && directory.len() === 0, 'maps hold data but no PagedKv counters');
      const first = encodeId(0);
      const entry = encodeDirectoryValue(first, { entries: 0, bytes: 0 }, new Uint8Array(DIRECTORY_VALUE_BYTES));
      leaves.insert(first, Leaf.empty().encode());
      directory.insert(FIRST_SEPARATOR, entry);
      meta.insert(META_KEY, encodeMeta(1));
      this.dir.load([[FIRST_SEPARATOR, entry]]);
      this.nextLeafId = 1;
      return;
    }
    const entries = metaFormat(stored) === META_FORMAT ? readAll(directory) : upgradeFormat1(this.maps, stored);
    this.dir.load(entries);
    this.nextLeafId = decodeMeta(meta.get(META_KEY)!).nextLeafId;
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

