// A ByteMap for Node tests that behaves like Azle's StableBTreeMap<Uint8Array, Uint8Array> with a
// raw-bytes Serializable: byte-wise key order, `items(start, n)` by position, and copies in and out
// (stable memory never aliases the caller's arrays, so neither does this). Built on MemoryKv.
import { MemoryKv } from '../../lib/repository/store.js';
import { MAX_KEY_BYTES, type ByteMap } from '../../lib/shard/paged-store.js';

/** Sorts after every key PagedKv may store (keys are at most MAX_KEY_BYTES). */
const ABOVE_ALL_KEYS = new Uint8Array(MAX_KEY_BYTES + 1).fill(0xff);
const copy = (bytes: Uint8Array | undefined): Uint8Array | undefined => bytes?.slice();

export class SortedByteMap implements ByteMap {
  private readonly kv = new MemoryKv();
  /** Calls per method, so tests can see how much work an operation did. */
  readonly calls = { get: 0, insert: 0, remove: 0, len: 0, items: 0 };

  get(key: Uint8Array): Uint8Array | undefined {
    this.calls.get++;
    return copy(this.kv.get(key));
  }

  insert(key: Uint8Array, value: Uint8Array): Uint8Array | undefined {
    this.calls.insert++;
    return this.kv.set(key.slice(), value.slice());
  }

  remove(key: Uint8Array): Uint8Array | undefined {
    this.calls.remove++;
    return this.kv.delete(key);
  }

  len(): number {
    this.calls.len++;
    return this.kv.size();
  }

  items(startIndex: number, length: number): [Uint8Array, Uint8Array][] {
    this.calls.items++;
    return this.kv.range(new Uint8Array(0), ABOVE_ALL_KEYS, startIndex + length).slice(startIndex).map(([k, v]) => [k.slice(), v.slice()]);
  }
}

export function freshMaps(): { values: SortedByteMap; leaves: SortedByteMap; directory: SortedByteMap; meta: SortedByteMap } {
  return { values: new SortedByteMap(), leaves: new SortedByteMap(), directory: new SortedByteMap(), meta: new SortedByteMap() };
}
