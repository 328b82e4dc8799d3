// One leaf of PagedKv's key index: a sorted run of (key, value length) pairs packed into one
// byte string, so a leaf is one StableBTreeMap value. The layout is columnar so that reading a
// leaf costs no per-entry work in QuickJS (two typed-array views over the bytes) and writing one
// is mostly native copies:
//
//   [count u32] [keyEnd u32 × count] [valueLength u32 × count] [key bytes, concatenated]
//
// keyEnd[i] is the end offset of key i inside the key bytes (key i = keys[keyEnd[i-1], keyEnd[i])).
// Integers are little-endian (typed arrays in the platform order, asserted below: Wasm is always
// little-endian and so is every Node platform we run on).
import { compareBytes } from '../model/keys.js';

export const LEAF_HEADER_BYTES = 4;
/** Bytes a leaf spends per entry besides the key itself (keyEnd + valueLength). */
export const LEAF_ENTRY_OVERHEAD_BYTES = 8;

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
if (!littleEndian) throw new Error('PagedKv leaves are little-endian; this platform is not');

/** A run of entries of one leaf: [from, to) of `leaf`, or one new entry. */
type Segment = { leaf: Leaf; from: number; to: number } | { key: Uint8Array; valueLength: number };

export class Leaf {
  readonly count: number;
  private readonly ends: Uint32Array;
  private readonly lengths: Uint32Array;
  private readonly keys: Uint8Array;

  /** Views `bytes` (copied only when not 4-byte aligned); a leaf is immutable once built. */
  constructor(readonly bytes: Uint8Array) {
    if (bytes.byteOffset % 4 !== 0) bytes = this.bytes = bytes.slice();
    assert(bytes.length >= LEAF_HEADER_BYTES, `leaf of ${bytes.length} bytes has no header`);
    const count = new Uint32Array(bytes.buffer, bytes.byteOffset, 1)[0];
    const keysAt = LEAF_HEADER_BYTES + LEAF_ENTRY_OVERHEAD_BYTES * count;
    assert(bytes.length >= keysAt, `leaf of ${bytes.length} bytes is too short for ${count} entries`);
    this.count = count;
    this.ends = new Uint32Array(bytes.buffer, bytes.byteOffset + LEAF_HEADER_BYTES, count);
    this.lengths = new Uint32Array(bytes.buffer, bytes.byteOffset + LEAF_HEADER_BYTES + 4 * count, count);
    this.keys = bytes.subarray(keysAt);
    assert(this.keys.length === (count === 0 ? 0 : this.ends[count - 1]), 'leaf key bytes do not match its last key end');
  }

  static empty(): Leaf {
    return Leaf.build([]);
  }

  /** Concatenates runs of existing leaves and new entries into a new leaf (callers keep order). */
  static build(segments: Segment[]): Leaf {
    let count = 0;
    let keyBytes = 0;
    for (const s of segments) {
      if ('leaf' in s) {
        count += s.to - s.from;
        keyBytes += s.leaf.keyStart(s.to) - s.leaf.keyStart(s.from);
      } else {
        count += 1;
        keyBytes += s.key.length;
      }
    }
    const keysAt = LEAF_HEADER_BYTES + LEAF_ENTRY_OVERHEAD_BYTES * count;
    const bytes = new Uint8Array(keysAt + keyBytes);
    new Uint32Array(bytes.buffer, 0, 1)[0] = count;
    const ends = new Uint32Array(bytes.buffer, LEAF_HEADER_BYTES, count);
    const lengths = new Uint32Array(bytes.buffer, LEAF_HEADER_BYTES + 4 * count, count);
    let at = 0; // entries written
    let keyAt = 0; // key bytes written
    for (const s of segments) {
      if ('leaf' in s) {
        const { leaf, from, to } = s;
        const start = leaf.keyStart(from);
        const shift = keyAt - start;
        if (shift === 0) ends.set(leaf.ends.subarray(from, to), at);
        else for (let j = from; j < to; j++) ends[at + j - from] = leaf.ends[j] + shift;
        lengths.set(leaf.lengths.subarray(from, to), at);
        const end = leaf.keyStart(to);
        bytes.set(leaf.keys.subarray(start, end), keysAt + keyAt);
        keyAt += end - start;
        at += to - from;
      } else {
        bytes.set(s.key, keysAt + keyAt);
        keyAt += s.key.length;
        ends[at] = keyAt;
        lengths[at] = s.valueLength;
        at += 1;
      }
    }
    return new Leaf(bytes);
  }

  /** Offset of key i in the key bytes (i may be `count`: the end). */
  private keyStart(i: number): number {
    return i === 0 ? 0 : this.ends[i - 1];
  }

  /** Key i, a view into the leaf (copy it before handing it out). */
  key(i: number): Uint8Array {
    return this.keys.subarray(this.keyStart(i), this.ends[i]);
  }

  valueLength(i: number): number {
    return this.lengths[i];
  }

  /** Sum of key lengths. */
  keyBytes(): number {
    return this.keys.length;
  }

  /** Sum of value lengths (O(count); for check()). */
  valueBytes(): number {
    let sum = 0;
    for (let i = 0; i < this.count; i++) sum += this.lengths[i];
    return sum;
  }

  /** Index of the first key >= `key` (binary search, keys compared in place). */
  lowerBound(key: Uint8Array): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compareKey(mid, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of `key`, or -1. */
  indexOf(key: Uint8Array): number {
    const i = this.lowerBound(key);
    return i < this.count && this.compareKey(i, key) === 0 ? i : -1;
  }

  /** compareBytes(key(i), other) without making a view. */
  compareKey(i: number, other: Uint8Array): number {
    const start = this.keyStart(i);
    const length = this.ends[i] - start;
    const n = Math.min(length, other.length);
    const keys = this.keys;
    for (let j = 0; j < n; j++) {
      const d = keys[start + j] - other[j];
      if (d !== 0) return d;
    }
    return length - other.length;
  }

  withInserted(i: number, key: Uint8Array, valueLength: number): Leaf {
    return Leaf.build([{ leaf: this, from: 0, to: i }, { key, valueLength }, { leaf: this, from: i, to: this.count }]);
  }

  withRemoved(i: number): Leaf {
    return Leaf.build([{ leaf: this, from: 0, to: i }, { leaf: this, from: i + 1, to: this.count }]);
  }

  withValueLength(i: number, valueLength: number): Leaf {
    const copy = new Leaf(this.bytes.slice());
    copy.lengths[i] = valueLength;
    return copy;
  }

  slice(from: number, to: number): Leaf {
    return Leaf.build([{ leaf: this, from, to }]);
  }

  concat(next: Leaf): Leaf {
    return Leaf.build([{ leaf: this, from: 0, to: this.count }, { leaf: next, from: 0, to: next.count }]);
  }

  /**
   * Where to split a leaf in two: the first index whose keys start at or after half of the key
   * bytes, kept inside [1, count - 1] so both halves hold at least one entry.
   */
  splitIndex(): number {
    assert(this.count >= 2, `cannot split a leaf of ${this.count} entries`);
    const half = this.keys.length / 2;
    let i = 1;
    while (i < this.count - 1 && this.ends[i - 1] < half) i++;
    return i;
  }

  /** Asserts the leaf's own invariants: key ends ascending, keys strictly ascending. */
  check(): void {
    for (let i = 0; i < this.count; i++) {
      assert(this.ends[i] >= this.keyStart(i), `leaf key ${i} ends before it starts`);
      if (i > 0) assert(compareBytes(this.key(i - 1), this.key(i)) < 0, `leaf keys ${i - 1} and ${i} are not strictly ascending`);
    }
  }
}

/** Our own invariant: a failure is a bug in PagedKv (or a corrupted store), never bad input. */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`PagedKv invariant violated: ${message}`);
}
