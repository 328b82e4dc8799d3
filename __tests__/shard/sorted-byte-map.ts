// A ByteMap for Node tests that behaves like Azle's StableBTreeMap<Uint8Array, Uint8Array> with a
// raw-bytes Serializable: byte-wise key order, `items(start, n)` by position, and copies in and out
// (stable memory never aliases the caller's arrays, so neither does this).
import { compareBytes } from '../../lib/model/keys.js';
import type { ByteMap } from '../../lib/shard/paged-store.js';

export class SortedByteMap implements ByteMap {
  private readonly keys: Uint8Array[] = [];
  private readonly values: Uint8Array[] = [];
  /** Calls per method, so tests can see how much work an operation did. */
  readonly calls = { get: 0, insert: 0, remove: 0, len: 0, items: 0 };

  private find(key: Uint8Array): { index: number; found: boolean } {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(this.keys[mid], key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return { index: lo, found: lo < this.keys.length && compareBytes(this.keys[lo], key) === 0 };
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.calls.get++;
    const { index, found } = this.find(key);
    return found ? this.values[index].slice() : undefined;
  }

  insert(key: Uint8Array, value: Uint8Array): Uint8Array | undefined {
    this.calls.insert++;
    const { index, found } = this.find(key);
    if (found) {
      const previous = this.values[index];
      this.values[index] = value.slice();
      return previous;
    }
    this.keys.splice(index, 0, key.slice());
    this.values.splice(index, 0, value.slice());
    return undefined;
  }

  remove(key: Uint8Array): Uint8Array | undefined {
    this.calls.remove++;
    const { index, found } = this.find(key);
    if (!found) return undefined;
    const previous = this.values[index];
    this.keys.splice(index, 1);
    this.values.splice(index, 1);
    return previous;
  }

  len(): number {
    this.calls.len++;
    return this.keys.length;
  }

  items(startIndex: number, length: number): [Uint8Array, Uint8Array][] {
    this.calls.items++;
    const out: [Uint8Array, Uint8Array][] = [];
    for (let i = startIndex; i < Math.min(this.keys.length, startIndex + length); i++) out.push([this.keys[i].slice(), this.values[i].slice()]);
    return out;
  }
}

export function freshMaps(): { values: SortedByteMap; leaves: SortedByteMap; directory: SortedByteMap; meta: SortedByteMap } {
  return { values: new SortedByteMap(), leaves: new SortedByteMap(), directory: new SortedByteMap(), meta: new SortedByteMap() };
}
