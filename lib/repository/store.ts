// The ordered key-value store under a shard. Keys and values are bytes; order is byte-wise
// lexicographic (what StableBTreeMap<Uint8Array, Uint8Array> gives inside a canister). A store
// answers ranges in batches (not iterators) because the stable-memory implementation pages by index.
import { compareBytes } from '../model/keys.js';

export type Entry = [key: Uint8Array, value: Uint8Array];
/** A key and the length of its value, read without the value (counting, medians, pruning). */
export type KeyEntry = [key: Uint8Array, valueLength: number];

export interface OrderedKv {
  get(key: Uint8Array): Uint8Array | undefined;
  /** Writes a value; returns the previous one. */
  set(key: Uint8Array, value: Uint8Array): Uint8Array | undefined;
  /** Removes a key; returns the previous value. */
  delete(key: Uint8Array): Uint8Array | undefined;
  /** Up to `limit` entries with lo <= key < hi, ascending. */
  range(lo: Uint8Array, hi: Uint8Array, limit: number): Entry[];
  /** Like `range`, but keys and value lengths only: the values are not read. */
  keysInRange(lo: Uint8Array, hi: Uint8Array, limit: number): KeyEntry[];
  /** Number of entries. */
  size(): number;
  /** Sum of key and value lengths (what splitting decisions are based on). */
  bytes(): number;
}

/** Smallest key after `key` in byte order (for "strictly after" range starts). */
export function keySuccessor(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
}

/** In-memory OrderedKv: a sorted array with binary search (MemoryCluster, client caches, tests). */
export class MemoryKv implements OrderedKv {
  private readonly keys: Uint8Array[] = [];
  private readonly values: Uint8Array[] = [];
  private totalBytes = 0;

  /** Index of the first key >= `key`. */
  private lowerBound(key: Uint8Array): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(this.keys[mid], key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    const i = this.lowerBound(key);
    return i < this.keys.length && compareBytes(this.keys[i], key) === 0 ? this.values[i] : undefined;
  }

  set(key: Uint8Array, value: Uint8Array): Uint8Array | undefined {
    const i = this.lowerBound(key);
    if (i < this.keys.length && compareBytes(this.keys[i], key) === 0) {
      const previous = this.values[i];
      this.values[i] = value;
      this.totalBytes += value.length - previous.length;
      return previous;
    }
    this.keys.splice(i, 0, key);
    this.values.splice(i, 0, value);
    this.totalBytes += key.length + value.length;
    return undefined;
  }

  delete(key: Uint8Array): Uint8Array | undefined {
    const i = this.lowerBound(key);
    if (i >= this.keys.length || compareBytes(this.keys[i], key) !== 0) return undefined;
    const previous = this.values[i];
    this.totalBytes -= key.length + previous.length;
    this.keys.splice(i, 1);
    this.values.splice(i, 1);
    return previous;
  }

  range(lo: Uint8Array, hi: Uint8Array, limit: number): Entry[] {
    return this.collect(lo, hi, limit, (i) => [this.keys[i], this.values[i]]);
  }

  keysInRange(lo: Uint8Array, hi: Uint8Array, limit: number): KeyEntry[] {
    return this.collect(lo, hi, limit, (i) => [this.keys[i], this.values[i].length]);
  }

  private collect<T>(lo: Uint8Array, hi: Uint8Array, limit: number, at: (index: number) => T): T[] {
    const out: T[] = [];
    for (let i = this.lowerBound(lo); i < this.keys.length && out.length < limit; i++) {
      if (compareBytes(this.keys[i], hi) >= 0) break;
      out.push(at(i));
    }
    return out;
  }

  size(): number {
    return this.keys.length;
  }

  bytes(): number {
    return this.totalBytes;
  }
}
