// One leaf of PagedKv's key index: a sorted run of (key, value length) pairs packed into one byte
// string, so a leaf is one StableBTreeMap value. The layout is a slotted page, because inside an
// Azle canister every JS loop iteration costs thousands of instructions while a typed-array copy
// costs about as much as one statement (bench/store.bench.ts): decoding a leaf is two copies, and
// inserting or removing a key is a handful of native copies with no per-entry loop.
//
//   [count u32] [dead u32] [slot × count] [heap]      slot = [start u32, keyLength u32, valueLength u32]
//
// Slots are in key order; key i is heap[start, start + keyLength) of slot i. Keys sit
// in the heap in the order they arrived (a new key is appended), so the heap is never shifted;
// removed keys leave `dead` bytes behind until the leaf is compacted (bounded by
// LEAF_DEAD_MAX_RATIO). Integers are little-endian (typed arrays in platform order, asserted
// below: Wasm is always little-endian and so is every Node platform we run on).
//
// In the heap a Leaf is mutable and kept decoded between messages (paged-cache.ts): the words
// and the key heap live in buffers with spare room, so an insert shifts slots with one native
// copy and appends its key, and the stored form is built once per flush (encode), not per write.
// Each key's keyString is remembered once a search has built it: a warm leaf is searched by
// native string compares alone.
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
/** Slots and heap bytes a decoded leaf has room for beyond what it holds (grown by doubling past that). */
const SPARE_SLOTS = 16;
const SPARE_HEAP_BYTES = 512;
/** Heap a remembered key text costs beyond its characters (array slot and string header, QuickJS), rounded up. */
const HELD_BYTES_PER_TEXT = 32;

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

export class Leaf {
  /** Header and slots as stored (words[0] count, words[1] dead bytes), with room for more slots. */
  private words: Uint32Array;
  /** Key bytes; heap[0, heapLength) is the stored heap. */
  private heap: Uint8Array;
  private heapLength: number;
  /** keyString of key i once built (undefined until a search or keyText needs it). */
  private texts: (string | undefined)[];

  private constructor(words: Uint32Array, heap: Uint8Array, heapLength: number, texts: (string | undefined)[]) {
    this.words = words;
    this.heap = heap;
    this.heapLength = heapLength;
    this.texts = texts;
  }

  /** A new leaf of `count` entries with `dead` dead bytes and room for `heapBytes` of heap (slots left to the caller). */
  private static allocate(count: number, dead: number, heapBytes: number, texts: (string | undefined)[] = new Array<string | undefined>(count)): Leaf {
    const words = new Uint32Array(SLOT0 + 3 * (count + SPARE_SLOTS));
    words[0] = count;
    words[1] = dead;
    return new Leaf(words, new Uint8Array(heapBytes + SPARE_HEAP_BYTES), 0, texts);
  }

  static empty(): Leaf {
    return Leaf.allocate(0, 0, 0);
  }

  /** Reads a stored leaf (copied: the leaf is then changed in place). */
  static decode(bytes: Uint8Array): Leaf {
    // Hot path: the message is built only on failure (a template literal costs real instructions).
    if (bytes.length < LEAF_HEADER_BYTES) fail(`leaf of ${bytes.length} bytes has no header`);
    const count = (bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24)) >>> 0;
    const heapAt = LEAF_HEADER_BYTES + LEAF_ENTRY_OVERHEAD_BYTES * count;
    if (bytes.length < heapAt) fail(`leaf of ${bytes.length} bytes is too short for ${count} entries`);
    const aligned = (bytes.byteOffset & 3) === 0 ? bytes : bytes.slice();
    const leaf = Leaf.allocate(count, 0, bytes.length - heapAt);
    leaf.words.set(new Uint32Array(aligned.buffer, aligned.byteOffset, SLOT0 + 3 * count));
    leaf.heap.set(aligned.subarray(heapAt));
    leaf.heapLength = bytes.length - heapAt;
    return leaf;
  }

  /** The stored form (one allocation and two copies). */
  encode(): Uint8Array {
    const n = SLOT0 + 3 * this.count;
    const out = new Uint8Array(4 * n + this.heapLength);
    new Uint32Array(out.buffer, 0, n).set(this.words.subarray(0, n));
    out.set(this.heap.subarray(0, this.heapLength), 4 * n);
    return out;
  }

  get count(): number {
    return this.words[0];
  }

  /** Length of the stored form, in bytes (what the leaf byte limit bounds). */
  storedBytes(): number {
    return LEAF_HEADER_BYTES + LEAF_ENTRY_OVERHEAD_BYTES * this.count + this.heapLength;
  }

  /** Bytes of heap this leaf keeps (what the leaf cache counts): its buffers, and its key texts once all are built. */
  heldBytes(): number {
    return this.words.byteLength + this.heap.byteLength + this.keyBytes() + HELD_BYTES_PER_TEXT * this.texts.length;
  }

  /** Heap bytes no entry refers to any more. */
  deadBytes(): number {
    return this.words[1];
  }

  /** Sum of key lengths. */
  keyBytes(): number {
    return this.heapLength - this.words[1];
  }

  private keyView(i: number): Uint8Array {
    const start = this.words[SLOT0 + 3 * i];
    return this.heap.subarray(start, start + this.words[SLOT0 + 3 * i + 1]);
  }

  /** A copy of key i. */
  key(i: number): Uint8Array {
    const start = this.words[SLOT0 + 3 * i];
    return this.heap.slice(start, start + this.words[SLOT0 + 3 * i + 1]);
  }

  /** Key i as a keyString (built once). */
  keyText(i: number): string {
    let text = this.texts[i];
    if (text === undefined) this.texts[i] = text = keyString(this.keyView(i));
    return text;
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
    const texts = this.texts;
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      let probe = texts[mid];
      if (probe === undefined) texts[mid] = probe = keyString(this.keyView(mid)); // keys are at most MAX_KEY_BYTES
      if (probe < text) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the key whose keyString is `text`, or -1. */
  indexOf(text: string): number {
    const i = this.lowerBound(text);
    return i < this.count && this.keyText(i) === text ? i : -1;
  }

  /** Inserts (key, valueLength) at position i (`text` is the key's keyString); the key is appended to the heap. */
  insert(i: number, key: Uint8Array, valueLength: number, text: string): void {
    const count = this.count;
    const end = SLOT0 + 3 * count;
    if (end + 3 > this.words.length) this.words = grown(this.words, end + 3, end) as Uint32Array;
    if (this.heapLength + key.length > this.heap.length) this.heap = grown(this.heap, this.heapLength + key.length, this.heapLength) as Uint8Array;
    const w = SLOT0 + 3 * i;
    this.words.copyWithin(w + 3, w, end);
    this.words[w] = this.heapLength;
    this.words[w + 1] = key.length;
    this.words[w + 2] = valueLength;
    this.words[0] = count + 1;
    this.heap.set(key, this.heapLength);
    this.heapLength += key.length;
    this.texts.splice(i, 0, text);
  }

  /** Removes entry i (its key bytes become dead; see compactedIfDead). */
  remove(i: number): void {
    const w = SLOT0 + 3 * i;
    this.words[1] += this.words[w + 1];
    this.words.copyWithin(w, w + 3, SLOT0 + 3 * this.count);
    this.words[0] = this.count - 1;
    this.texts.splice(i, 1);
  }

  setValueLength(i: number, valueLength: number): void {
    this.words[SLOT0 + 3 * i + 2] = valueLength;
  }

  /** Copies slots [from, to) to slot position `at` of `target`. */
  private copySlots(target: Leaf, at: number, from: number, to: number): void {
    target.words.set(this.words.subarray(SLOT0 + 3 * from, SLOT0 + 3 * to), SLOT0 + 3 * at);
  }

  /** Copies this leaf's heap into `target` at heap offset `at`. */
  private copyHeap(target: Leaf, at: number): void {
    target.heap.set(this.heap.subarray(0, this.heapLength), at);
    target.heapLength = Math.max(target.heapLength, at + this.heapLength);
  }

  /**
   * Splits in two at the first entry whose keys start at or after half of the live key bytes
   * (both halves keep at least one entry). Each half keeps the whole heap (one native copy);
   * the other half's keys are dead bytes to it.
   */
  split(): [Leaf, Leaf] {
    if (this.count < 2) fail(`cannot split a leaf of ${this.count} entries`);
    const half = this.keyBytes() / 2;
    let s = 1;
    let leftBytes = this.words[SLOT0 + 1];
    while (s < this.count - 1 && leftBytes < half) leftBytes += this.words[SLOT0 + 3 * s++ + 1];
    const rightBytes = this.keyBytes() - leftBytes;
    return [this.part(0, s, this.words[1] + rightBytes), this.part(s, this.count, this.words[1] + leftBytes)];
  }

  private part(from: number, to: number, dead: number): Leaf {
    const out = Leaf.allocate(to - from, dead, this.heapLength, this.texts.slice(from, to));
    this.copySlots(out, 0, from, to);
    this.copyHeap(out, 0);
    return out.compactedIfDead();
  }

  /** This leaf's entries followed by `next`'s; the heap of the leaf with fewer entries goes second. */
  concat(next: Leaf): Leaf {
    const out = Leaf.allocate(this.count + next.count, this.words[1] + next.words[1], this.heapLength + next.heapLength, this.texts.concat(next.texts));
    this.copySlots(out, 0, 0, this.count);
    next.copySlots(out, this.count, 0, next.count);
    const [first, second, secondAt] = this.count >= next.count ? [this, next, this.count] : [next, this, 0];
    first.copyHeap(out, 0);
    second.copyHeap(out, first.heapLength);
    for (let j = secondAt; j < secondAt + second.count; j++) out.words[SLOT0 + 3 * j] += first.heapLength;
    return out.compactedIfDead();
  }

  /** The same entries with no dead heap bytes, keys in key order (one copy per entry). */
  compacted(): Leaf {
    const out = Leaf.allocate(this.count, 0, this.keyBytes(), this.texts.slice());
    this.copySlots(out, 0, 0, this.count);
    let at = 0;
    for (let i = 0; i < this.count; i++) {
      out.heap.set(this.keyView(i), at);
      out.words[SLOT0 + 3 * i] = at;
      at += out.words[SLOT0 + 3 * i + 1];
    }
    out.heapLength = at;
    return out;
  }

  /** This leaf, or a compacted copy when its dead bytes are past the bound (after removals). */
  compactedIfDead(): Leaf {
    return this.words[1] > LEAF_DEAD_MAX_RATIO * this.keyBytes() + LEAF_DEAD_SLACK_BYTES ? this.compacted() : this;
  }

  /** Asserts the leaf's own invariants: keys inside the heap, strictly ascending, dead bytes counted, texts right. */
  check(): void {
    assert(this.words.length >= SLOT0 + 3 * this.count && this.heap.length >= this.heapLength && this.texts.length === this.count, 'leaf header, slots and texts disagree');
    let live = 0;
    for (let i = 0; i < this.count; i++) {
      const keyLength = this.words[SLOT0 + 3 * i + 1];
      assert(this.words[SLOT0 + 3 * i] + keyLength <= this.heapLength, `leaf key ${i} lies outside the heap`);
      live += keyLength;
      if (i > 0) assert(compareBytes(this.key(i - 1), this.key(i)) < 0, `leaf keys ${i - 1} and ${i} are not strictly ascending`);
      assert(this.texts[i] === undefined || this.texts[i] === keyString(this.key(i)), `leaf key ${i}: remembered text differs`);
    }
    assert(live + this.words[1] === this.heapLength, `leaf heap of ${this.heapLength} bytes holds ${live} live and ${this.words[1]} dead`);
    assert(this.words[1] <= LEAF_DEAD_MAX_RATIO * live + LEAF_DEAD_SLACK_BYTES, `leaf has ${this.words[1]} dead bytes for ${live} live`);
  }
}

/** A copy of `array` with room for at least `need` elements (doubling), holding its first `used`. */
function grown(array: Uint32Array | Uint8Array, need: number, used: number): Uint32Array | Uint8Array {
  const out = new (array.constructor as Uint8ArrayConstructor | Uint32ArrayConstructor)(Math.max(need, 2 * array.length));
  out.set(array.subarray(0, used));
  return out;
}

/** Our own invariant: a failure is a bug in PagedKv (or a corrupted store), never bad input. */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) fail(message);
}

/** A broken invariant, for hot paths that test the condition inline and build the message only here. */
export function fail(message: string): never {
  throw new Error(`PagedKv invariant violated: ${message}`);
}
