// One leaf of PagedKv's key index: a sorted run of (key, value length) pairs packed into one byte
// string, so a leaf is one StableBTreeMap value. The layout is a slotted page, because inside an
// Azle canister every JS loop iteration costs thousands of instructions while a typed-array copy
// costs about as much as one statement (bench/store.bench.ts): reading a leaf is one typed-array
// view, and inserting or removing a key is a handful of native copies with no per-entry loop.
//
//   [count u32] [dead u32] [slot × count] [heap]      slot = [start u32, keyLength u32, valueLength u32]
//
// Slots are in key order; key i is heap[start, start + keyLength) of slot i. Keys sit
// in the heap in the order they arrived (a new key is appended), so the heap is never shifted;
// removed keys leave `dead` bytes behind until the leaf is compacted (bounded by
// LEAF_DEAD_MAX_RATIO). Integers are little-endian (typed arrays in platform order, asserted
// below: Wasm is always little-endian and so is every Node platform we run on).
import { compareBytes } from '../model/keys.js';

export const LEAF_HEADER_BYTES = 8;
/** Bytes a leaf spends per entry besides the key itself (start, keyLength, valueLength). */
export const LEAF_ENTRY_OVERHEAD_BYTES = 12;
/** A leaf is compacted when its dead heap bytes exceed this many times its live key bytes... */
export const LEAF_DEAD_MAX_RATIO = 2;
/** ...plus this many bytes (so small leaves are not compacted over a few bytes). */
export const LEAF_DEAD_SLACK_BYTES = 1024;
/** Keys longer than this are turned into strings in pieces (a bound on one apply's arguments). */
const KEY_STRING_CHUNK_BYTES = 4096;

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
if (!littleEndian) throw new Error('PagedKv leaves are little-endian; this platform is not');

/**
 * A key as a string of char codes 0–255. JS compares such strings in byte order natively; in
 * QuickJS that is far cheaper than a byte loop, so every search compares strings.
 */
export function keyString(key: Uint8Array): string {
  if (key.length <= KEY_STRING_CHUNK_BYTES) return String.fromCharCode.apply(null, key as unknown as number[]);
  let out = '';
  for (let i = 0; i < key.length; i += KEY_STRING_CHUNK_BYTES) out += String.fromCharCode.apply(null, key.subarray(i, i + KEY_STRING_CHUNK_BYTES) as unknown as number[]);
  return out;
}

/** Words of the header and slots; slot i starts at word SLOT0 + 3i. */
const SLOT0 = 2;

/** A new leaf: `count` entries, `heapBytes` of heap, header filled in (slots and heap left to the caller). */
function allocate(count: number, dead: number, heapBytes: number): Leaf {
  const bytes = new Uint8Array(LEAF_HEADER_BYTES + LEAF_ENTRY_OVERHEAD_BYTES * count + heapBytes);
  const words = new Uint32Array(bytes.buffer, 0, SLOT0 + 3 * count);
  words[0] = count;
  words[1] = dead;
  return new Leaf(bytes, words);
}

export class Leaf {
  readonly count: number;
  readonly bytes: Uint8Array;
  private readonly words: Uint32Array;
  /** Offset of the heap in `bytes`. */
  private readonly heapAt: number;

  /**
   * Views stored `bytes` (copied only when not 4-byte aligned). `words` is passed only by this
   * module for a leaf it has just laid out, which skips re-reading the header. A leaf is immutable
   * once its builder returns it.
   */
  constructor(bytes: Uint8Array, words?: Uint32Array) {
    if (words === undefined) {
      if ((bytes.byteOffset & 3) !== 0) bytes = bytes.slice();
      // Hot path: the message is built only on failure (a template literal costs real instructions).
      if (bytes.length < LEAF_HEADER_BYTES) fail(`leaf of ${bytes.length} bytes has no header`);
      const count = (bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24)) >>> 0;
      if (bytes.length < LEAF_HEADER_BYTES + LEAF_ENTRY_OVERHEAD_BYTES * count) fail(`leaf of ${bytes.length} bytes is too short for ${count} entries`);
      words = new Uint32Array(bytes.buffer, bytes.byteOffset, SLOT0 + 3 * count);
    }
    this.bytes = bytes;
    this.words = words;
    this.count = words[0];
    this.heapAt = LEAF_HEADER_BYTES + LEAF_ENTRY_OVERHEAD_BYTES * this.count;
  }

  static empty(): Leaf {
    return allocate(0, 0, 0);
  }

  private heapBytes(): number {
    return this.bytes.length - this.heapAt;
  }

  /** Heap bytes no entry refers to any more. */
  deadBytes(): number {
    return this.words[1];
  }

  /** Sum of key lengths. */
  keyBytes(): number {
    return this.heapBytes() - this.words[1];
  }

  private keyView(i: number): Uint8Array {
    const start = this.heapAt + this.words[SLOT0 + 3 * i];
    return this.bytes.subarray(start, start + this.words[SLOT0 + 3 * i + 1]);
  }

  /** A copy of key i. */
  key(i: number): Uint8Array {
    const start = this.heapAt + this.words[SLOT0 + 3 * i];
    return this.bytes.slice(start, start + this.words[SLOT0 + 3 * i + 1]);
  }

  /** Key i as a keyString. */
  keyText(i: number): string {
    return keyString(this.keyView(i));
  }

  valueLength(i: number): number {
    return this.words[SLOT0 + 3 * i + 2];
  }

  /** Sum of value lengths (O(count); for check()). */
  valueBytes(): number {
    let sum = 0;
    for (let i = 0; i < this.count; i++) sum += this.valueLength(i);
    return sum;
  }

  /** Bytes (keys plus values) of entries [from, to): what part of a leaf holds. */
  slotBytes(from: number, to: number): number {
    let sum = 0;
    for (let i = from; i < to; i++) sum += this.words[SLOT0 + 3 * i + 1] + this.words[SLOT0 + 3 * i + 2];
    return sum;
  }

  /** Index of the first key >= `text` (a keyString). Inlined: this loop is the hottest code of an insert. */
  lowerBound(text: string): number {
    const { words, bytes, heapAt } = this;
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const start = heapAt + words[SLOT0 + 3 * mid];
      // Leaf keys are at most MAX_KEY_BYTES (checked before insert), within one apply's bound.
      if (String.fromCharCode.apply(null, bytes.subarray(start, start + words[SLOT0 + 3 * mid + 1]) as unknown as number[]) < text) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the key whose keyString is `text`, or -1. */
  indexOf(text: string): number {
    const i = this.lowerBound(text);
    return i < this.count && this.keyText(i) === text ? i : -1;
  }

  /** Copies slots [from, to) to slot position `at` of `target`. */
  private copySlots(target: Leaf, at: number, from: number, to: number): void {
    target.words.set(this.words.subarray(SLOT0 + 3 * from, SLOT0 + 3 * to), SLOT0 + 3 * at);
  }

  private setSlot(i: number, start: number, keyLength: number, valueLength: number): void {
    const w = SLOT0 + 3 * i;
    this.words[w] = start;
    this.words[w + 1] = keyLength;
    this.words[w + 2] = valueLength;
  }

  /** Copies this leaf's heap into `target` at heap offset `at`. */
  private copyHeap(target: Leaf, at: number): void {
    target.bytes.set(this.bytes.subarray(this.heapAt), target.heapAt + at);
  }

  /** The leaf with (key, valueLength) at position i; the key is appended to the heap. */
  withInserted(i: number, key: Uint8Array, valueLength: number): Leaf {
    const heap = this.heapBytes();
    const out = allocate(this.count + 1, this.words[1], heap + key.length);
    this.copySlots(out, 0, 0, i);
    out.setSlot(i, heap, key.length, valueLength);
    this.copySlots(out, i + 1, i, this.count);
    this.copyHeap(out, 0);
    out.bytes.set(key, out.heapAt + heap);
    return out;
  }

  /** The leaf without entry i (its key bytes become dead; compacted past the dead-byte bound). */
  withRemoved(i: number): Leaf {
    const out = allocate(this.count - 1, this.words[1] + this.words[SLOT0 + 3 * i + 1], this.heapBytes());
    this.copySlots(out, 0, 0, i);
    this.copySlots(out, i, i + 1, this.count);
    this.copyHeap(out, 0);
    return out.compactedIfDead();
  }

  withValueLength(i: number, valueLength: number): Leaf {
    const copy = new Leaf(this.bytes.slice());
    copy.words[SLOT0 + 3 * i + 2] = valueLength;
    return copy;
  }

  /**
   * Splits in two at the first entry whose keys start at or after half of the live key bytes
   * (both halves keep at least one entry). Each half keeps the whole heap (one native copy);
   * the other half's keys are dead bytes to it.
   */
  split(): [Leaf, Leaf] {
    assert(this.count >= 2, `cannot split a leaf of ${this.count} entries`);
    const half = this.keyBytes() / 2;
    let s = 1;
    let leftBytes = this.words[SLOT0 + 1];
    while (s < this.count - 1 && leftBytes < half) leftBytes += this.words[SLOT0 + 3 * s++ + 1];
    const rightBytes = this.keyBytes() - leftBytes;
    return [this.part(0, s, this.words[1] + rightBytes), this.part(s, this.count, this.words[1] + leftBytes)];
  }

  private part(from: number, to: number, dead: number): Leaf {
    const out = allocate(to - from, dead, this.heapBytes());
    this.copySlots(out, 0, from, to);
    this.copyHeap(out, 0);
    return out.compactedIfDead();
  }

  /** This leaf's entries followed by `next`'s; the heap of the leaf with fewer entries goes second. */
  concat(next: Leaf): Leaf {
    const out = allocate(this.count + next.count, this.words[1] + next.words[1], this.heapBytes() + next.heapBytes());
    this.copySlots(out, 0, 0, this.count);
    next.copySlots(out, this.count, 0, next.count);
    const [first, second, secondAt] = this.count >= next.count ? [this, next, this.count] : [next, this, 0];
    first.copyHeap(out, 0);
    second.copyHeap(out, first.heapBytes());
    for (let j = secondAt; j < secondAt + second.count; j++) out.words[SLOT0 + 3 * j] += first.heapBytes();
    return out.compactedIfDead();
  }

  /** The same entries with no dead heap bytes, keys in key order (one copy per entry). */
  compacted(): Leaf {
    const out = allocate(this.count, 0, this.keyBytes());
    this.copySlots(out, 0, 0, this.count);
    let at = 0;
    for (let i = 0; i < this.count; i++) {
      out.bytes.set(this.keyView(i), out.heapAt + at);
      out.words[SLOT0 + 3 * i] = at;
      at += out.words[SLOT0 + 3 * i + 1];
    }
    return out;
  }

  private compactedIfDead(): Leaf {
    return this.words[1] > LEAF_DEAD_MAX_RATIO * this.keyBytes() + LEAF_DEAD_SLACK_BYTES ? this.compacted() : this;
  }

  /** Asserts the leaf's own invariants: keys inside the heap, strictly ascending, dead bytes counted. */
  check(): void {
    assert(this.bytes.length >= this.heapAt && this.words.length === SLOT0 + 3 * this.count, 'leaf header and slots disagree');
    let live = 0;
    for (let i = 0; i < this.count; i++) {
      const keyLength = this.words[SLOT0 + 3 * i + 1];
      assert(this.words[SLOT0 + 3 * i] + keyLength <= this.heapBytes(), `leaf key ${i} lies outside the heap`);
      live += keyLength;
      if (i > 0) assert(compareBytes(this.key(i - 1), this.key(i)) < 0, `leaf keys ${i - 1} and ${i} are not strictly ascending`);
    }
    assert(live + this.words[1] === this.heapBytes(), `leaf heap of ${this.heapBytes()} bytes holds ${live} live and ${this.words[1]} dead`);
    assert(this.words[1] <= LEAF_DEAD_MAX_RATIO * live + LEAF_DEAD_SLACK_BYTES, `leaf has ${this.words[1]} dead bytes for ${live} live`);
  }
}

/** Our own invariant: a failure is a bug in PagedKv (or a corrupted store), never bad input. */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) fail(message);
}

/** A broken invariant, for hot paths that test the condition inline and build the message only here. */
export function fail(message: string): never {
  throw new Error(`PagedKv invariant violated: ${message}`);
}
