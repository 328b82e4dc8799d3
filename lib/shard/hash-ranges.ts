// Walking a store by hash range. Storage keys are keyspace ‖ be64(hash) ‖ rest, so the entries of
// a hash range [start, end) form one contiguous stretch per keyspace (collection or index). These
// walkers jump from stretch to stretch instead of reading every key: streamed copies and pruning
// touch only what they must, and sizes and split points (the byte-weighted median hash) add up
// the store's per-leaf sums instead of reading rows.
import { hashedPrefix, hashOffsetOfStorageKey, prefixEnd } from '../model/keys.js';
import { hashFromBytes, hashToBytes, HASH_SPACE } from '../partition/index.js';
import { keySuccessor, type Entry, type OrderedKv } from '../repository/store.js';
import type { KeyRangeSum, Sums } from './paged-format.js';
import { countAtMost } from './paged-directory.js';
import { assert, keyString } from './paged-leaf.js';

/** Entries read from the store per call while walking. */
export const WALK_PAGE = 256;
/** Every storage key starts with an ASCII collection name, so all keys sort below 0xff. */
const ALL_HI = Uint8Array.of(0xff);

export interface WalkLimits {
  maxEntries: number;
  maxBytes: number;
}

/**
 * Entries whose hash is inside [start, end) (or outside it, with `outside`), in key order,
 * strictly after `after`, within the limits. `next` is the key to continue after; undefined when
 * the walk reached the end of the store.
 */
export function walkHashRange(kv: OrderedKv, range: { start: bigint; end: bigint; outside?: boolean }, after: Uint8Array | undefined, limits: WalkLimits): { entries: Entry[]; next?: Uint8Array } {
  const out: Entry[] = [];
  let bytes = 0;
  let lo = after === undefined ? new Uint8Array(0) : keySuccessor(after);
  let last = after;
  for (;;) {
    const page = kv.range(lo, ALL_HI, WALK_PAGE);
    if (page.length === 0) return { entries: out, next: undefined };
    let jumped = false;
    for (const e of page) {
      const off = hashOffsetOfStorageKey(e[0]);
      const hash = hashFromBytes(e[0].subarray(off, off + 8));
      const inside = hash >= range.start && hash < range.end;
      if (inside === !range.outside) {
        const size = e[0].length + e[1].length;
        if (out.length >= limits.maxEntries || (out.length > 0 && bytes + size > limits.maxBytes)) return { entries: out, next: last };
        out.push(e);
        bytes += size;
        last = e[0];
        continue;
      }
      // Jump over the rest of this keyspace's stretch that does not qualify.
      const keyspace = e[0].subarray(0, off);
      const jump = skipTarget(keyspace, hash, range);
      if (jump !== undefined) {
        lo = jump;
        jumped = true;
        break;
      }
    }
    if (!jumped) {
      if (page.length < WALK_PAGE) return { entries: out, next: undefined };
      lo = keySuccessor(page[page.length - 1][0]);
    }
  }
}

/** Where the next qualifying key of this keyspace can start, past a key with `hash` that does not qualify. */
function skipTarget(keyspace: Uint8Array, hash: bigint, range: { start: bigint; end: bigint; outside?: boolean }): Uint8Array | undefined {
  if (!range.outside) {
    if (hash < range.start) return hashedPrefix(keyspace, range.start);
    return prefixEnd(keyspace); // hash >= end: nothing more in this keyspace
  }
  // Outside walk, at a key inside [start, end): the next outside key is at `end` (if any).
  return range.end >= HASH_SPACE ? prefixEnd(keyspace) : hashedPrefix(keyspace, range.end);
}

/** One keyspace's stretch of a hash range: its keys in [lo, hi) are exactly its entries with a hash in the range. */
export interface Stretch {
  keyspace: Uint8Array;
  lo: Uint8Array;
  hi: Uint8Array;
}

/** The stretches of [start, end) of every keyspace in the store, in key order (one key read per keyspace). */
export function stretchesOf(kv: OrderedKv, start: bigint, end: bigint): Stretch[] {
  const out: Stretch[] = [];
  let from: Uint8Array = new Uint8Array(0);
  for (;;) {
    const [first] = kv.keysInRange(from, ALL_HI, 1);
    if (first === undefined) return out;
    const keyspace = first[0].slice(0, hashOffsetOfStorageKey(first[0]));
    out.push({ keyspace, lo: hashedPrefix(keyspace, start), hi: end >= HASH_SPACE ? prefixEnd(keyspace) : hashedPrefix(keyspace, end) });
    from = prefixEnd(keyspace);
  }
}

/** A store that sums key ranges without reading the rows (PagedKv: per-leaf sums in its directory). */
interface SummingKv extends OrderedKv {
  sumsInRange(lo: Uint8Array, hi: Uint8Array): KeyRangeSum[];
}

/**
 * Sums of the keys in [lo, hi), in key order: PagedKv's per-leaf sums, or one sum per key from
 * `keysInRange` for stores without them (MemoryKv: in the heap, where a key walk is cheap).
 */
export function rangeSums(kv: OrderedKv, lo: Uint8Array, hi: Uint8Array): KeyRangeSum[] {
  if (typeof (kv as Partial<SummingKv>).sumsInRange === 'function') return (kv as SummingKv).sumsInRange(lo, hi);
  const out: KeyRangeSum[] = [];
  let from = lo;
  for (;;) {
    const page = kv.keysInRange(from, hi, WALK_PAGE);
    for (const [key, valueLength] of page) {
      const text = keyString(key);
      out.push({ lo: key, hi: keySuccessor(key), loText: text, hiText: `${text}\u0000`, entries: 1, bytes: key.length + valueLength });
    }
    if (page.length < WALK_PAGE) return out;
    from = keySuccessor(page[page.length - 1][0]);
  }
}

/** Entries and bytes (keys + values) with a hash in [start, end), over every keyspace, from the store's sums. */
export function sumHashRange(kv: OrderedKv, start: bigint, end: bigint): Sums {
  const out = { entries: 0, bytes: 0 };
  for (const stretch of stretchesOf(kv, start, end)) {
    for (const s of rangeSums(kv, stretch.lo, stretch.hi)) {
      out.entries += s.entries;
      out.bytes += s.bytes;
    }
  }
  return out;
}

// ---- the byte-weighted median hash -------------------------------------------------------
//
// The answer, defined over the rows (the row walk in __tests__/shard/median-oracle.ts is the
// oracle): with W(x) = bytes of the rows whose hash is <= x, let h be the smallest row hash with
// 2·W(h) >= total; the split point is the next row hash above h (so [start, mid) holds at least
// half the bytes), or h itself when h is the largest; none when every row has one hash.
//
// It is found without reading the rows. Each stretch's sums (one per leaf) are pieces with hash
// bounds [a, b] taken from their key bounds; within a stretch a0 <= b0 <= a1 <= b1 ..., so for any
// x the pieces with b <= x count whole, those with a > x not at all, and at most one is cut by x.
// A binary search over the hash space decides 2·W(x) >= total from those bounds, and reads a cut
// piece's keys (one leaf) only when the bounds cannot decide: near the median.

/**
 * A sum with the hash bounds of its keys; `points` once its keys were read. Hashes are compared
 * as 8-character keyStrings (paged-leaf.ts: native string order is byte order), which QuickJS
 * compares far more cheaply than it builds BigInts.
 */
interface Piece {
  /** Where the hash starts in this piece's keys (its keyspace's length). */
  off: number;
  a: string;
  b: string;
  sum: KeyRangeSum;
  points?: { hashes: string[]; below: number[] };
}

interface WeightedStretch {
  stretch: Stretch;
  pieces: Piece[];
  /** The pieces' upper bounds (ascending). */
  uppers: string[];
  /** before[i] = bytes of pieces[0..i). */
  before: number[];
}

/** The byte-weighted median hash of the entries with a hash in [start, end); undefined when they have fewer than two distinct hashes. */
export function medianHash(kv: OrderedKv, start: bigint, end: bigint): bigint | undefined {
  if (start >= end) return undefined;
  const weighted = stretchesOf(kv, start, end).map((stretch) => weigh(kv, stretch, start, end)).filter((w) => w.pieces.length > 0);
  const total = weighted.reduce((t, w) => t + w.before[w.pieces.length], 0);
  if (total === 0) return undefined;
  let lo = start;
  let hi = end - 1n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1n;
    if (halfAtMost(kv, weighted, hashText(mid), total)) hi = mid;
    else lo = mid + 1n;
  }
  const h = lo;
  const next = smallest(weighted.map((w) => (h + 1n < end ? firstHash(kv, w.stretch.keyspace, hashedPrefix(w.stretch.keyspace, h + 1n), w.stretch.hi) : undefined)));
  if (next !== undefined) return next;
  const least = smallest(weighted.map((w) => firstHash(kv, w.stretch.keyspace, w.stretch.lo, w.stretch.hi)));
  return least !== undefined && least < h ? h : undefined;
}

/** Whether 2·W(x) >= total: from the pieces' bounds, reading the cut pieces only if those cannot tell. */
function halfAtMost(kv: OrderedKv, weighted: WeightedStretch[], x: string, total: number): boolean {
  let low = 0;
  let cut = 0;
  const open: Piece[] = [];
  for (const w of weighted) {
    const i = countAtMost(w.uppers, x); // pieces wholly at or below x
    low += w.before[i];
    const piece = w.pieces[i];
    if (piece === undefined || piece.a > x) continue;
    if (piece.points !== undefined) low += piece.points.below[countAtMost(piece.points.hashes, x)];
    else (open.push(piece), (cut += piece.sum.bytes));
  }
  if (2 * low >= total) return true;
  if (2 * (low + cut) < total) return false;
  for (const piece of open) {
    const points = readPoints(kv, piece);
    low += points.below[countAtMost(points.hashes, x)];
  }
  return 2 * low >= total;
}

/** A stretch's sums as pieces with hash bounds, in order. */
function weigh(kv: OrderedKv, stretch: Stretch, start: bigint, end: bigint): WeightedStretch {
  const off = stretch.keyspace.length;
  const keyspace = keyString(stretch.keyspace);
  const [first, last] = [hashText(start), hashText(end - 1n)];
  const pieces: Piece[] = [];
  const before = [0];
  for (const sum of rangeSums(kv, stretch.lo, stretch.hi)) {
    // No key >= lo has a smaller hash than lo's hash bytes (zero-padded), no key < hi a larger one than hi's.
    const a = sum.loText.substring(off, off + 8).padEnd(8, '\u0000');
    const b = sum.hiText.startsWith(keyspace) ? sum.hiText.substring(off, off + 8).padEnd(8, '\u0000') : last;
    pieces.push({ off, a: a < first ? first : a, b: b > last ? last : b, sum });
    before.push(before[before.length - 1] + sum.bytes);
  }
  return { stretch, pieces, uppers: pieces.map((p) => p.b), before };
}

/** A hash as the keyString of its 8 big-endian bytes. */
function hashText(hash: bigint): string {
  return keyString(hashToBytes(hash));
}

/** Reads a piece's keys (one leaf) into hashes and running byte sums. */
function readPoints(kv: OrderedKv, piece: Piece): NonNullable<Piece['points']> {
  const off = piece.off;
  const keys = kv.keysInRange(piece.sum.lo, piece.sum.hi, piece.sum.entries);
  const hashes: string[] = [];
  const below = [0];
  for (const [key, valueLength] of keys) {
    hashes.push(keyString(key.subarray(off, off + 8)));
    below.push(below[below.length - 1] + key.length + valueLength);
  }
  assert(keys.length === piece.sum.entries && below[below.length - 1] === piece.sum.bytes, `a sum of ${piece.sum.entries} entries, ${piece.sum.bytes} bytes reads back as ${keys.length}, ${below[below.length - 1]}`);
  piece.points = { hashes, below };
  return piece.points;
}

/** The hash of the first key in [lo, hi), if any. */
function firstHash(kv: OrderedKv, keyspace: Uint8Array, lo: Uint8Array, hi: Uint8Array): bigint | undefined {
  const [first] = kv.keysInRange(lo, hi, 1);
  return first === undefined ? undefined : hashFromBytes(first[0].subarray(keyspace.length, keyspace.length + 8));
}

function smallest(values: Array<bigint | undefined>): bigint | undefined {
  let out: bigint | undefined;
  for (const v of values) if (v !== undefined && (out === undefined || v < out)) out = v;
  return out;
}
