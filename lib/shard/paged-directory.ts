// PagedKv's directory as the heap holds it: one entry per leaf, in key order — the separator (as
// bytes and as a keyString, searched natively), the leaf's id, and the leaf's entry and byte sums —
// plus the totals over all leaves, which are the store's size() and bytes(). A changed entry is
// written to the `directory` byte map by persist(), which PagedKv calls when it flushes its leaves
// (a removed one at once; paged-format.ts has the layout), so the heap copy is only a cache: after
// an upgrade it is one ordered read of the map.
import { compareBytes } from '../model/keys.js';
import { assert, fail, keyString } from './paged-leaf.js';
import { decodeDirectoryValue, decodeId, DIRECTORY_VALUE_BYTES, encodeDirectoryValue, type ByteMap, type Sums } from './paged-format.js';

export class LeafDirectory {
  private separators: Uint8Array[] = [];
  private texts: string[] = [];
  private leafKeys: Uint8Array[] = [];
  private leafIds: number[] = [];
  private entries: number[] = [];
  private bytes: number[] = [];
  /** Sums over every leaf: kept equal to the per-leaf sums by every change below (check() recounts). */
  private readonly all: Sums = { entries: 0, bytes: 0 };
  /** A directory value's stored form, reused for every write (ByteMap.insert copies). */
  private readonly buffer = new Uint8Array(DIRECTORY_VALUE_BYTES);
  /** Separators (as texts) of the entries changed since the last persist(). */
  private readonly changed = new Set<string>();

  constructor(private readonly map: ByteMap) {}

  /** Takes the stored directory (format 2), in key order. */
  load(stored: [Uint8Array, Uint8Array][]): void {
    this.separators = stored.map(([separator]) => separator);
    this.texts = this.separators.map(keyString);
    const values = stored.map(([, value]) => decodeDirectoryValue(value));
    this.leafKeys = values.map((v) => v.leafKey);
    this.leafIds = this.leafKeys.map(decodeId);
    this.entries = values.map((v) => v.entries);
    this.bytes = values.map((v) => v.bytes);
    this.all.entries = this.entries.reduce((s, n) => s + n, 0);
    this.all.bytes = this.bytes.reduce((s, n) => s + n, 0);
    assert(this.separators.length > 0 && this.separators[0].length === 0, 'directory has no first (empty) separator');
  }

  get length(): number {
    return this.leafKeys.length;
  }

  totals(): Sums {
    return { entries: this.all.entries, bytes: this.all.bytes };
  }

  separator(d: number): Uint8Array {
    return this.separators[d];
  }

  text(d: number): string {
    return this.texts[d];
  }

  leafKey(d: number): Uint8Array {
    return this.leafKeys[d];
  }

  leafId(d: number): number {
    return this.leafIds[d];
  }

  entryCount(d: number): number {
    return this.entries[d];
  }

  byteCount(d: number): number {
    return this.bytes[d];
  }

  sums(d: number): Sums {
    return { entries: this.entries[d], bytes: this.bytes[d] };
  }

  /** Position of the leaf whose range holds the key: the last separator <= it. */
  indexOf(text: string): number {
    return countAtMost(this.texts, text, 1) - 1;
  }

  /** Leaf d now holds `sums` (its leaf was just changed): stored by the next persist(). */
  setSums(d: number, sums: Sums): void {
    this.all.entries += sums.entries - this.entries[d];
    this.all.bytes += sums.bytes - this.bytes[d];
    this.entries[d] = sums.entries;
    this.bytes[d] = sums.bytes;
    this.changed.add(this.texts[d]);
  }

  /** Writes every entry changed since the last call to the map. */
  persist(): void {
    for (const text of this.changed) {
      const d = this.indexOf(text);
      assert(this.texts[d] === text, 'a changed directory entry is gone');
      this.map.insert(this.separators[d], encodeDirectoryValue(this.leafKeys[d], { entries: this.entries[d], bytes: this.bytes[d] }, this.buffer));
    }
    this.changed.clear();
  }

  /** A new leaf at position d (its separator sorts between those of d - 1 and d). */
  insert(d: number, separator: Uint8Array, leafKey: Uint8Array, sums: Sums): void {
    if (!(d > 0 && compareBytes(this.separators[d - 1], separator) < 0 && (d === this.length || compareBytes(separator, this.separators[d]) < 0))) fail(`separator for directory position ${d} out of order`);
    this.separators.splice(d, 0, separator);
    this.texts.splice(d, 0, keyString(separator));
    this.leafKeys.splice(d, 0, leafKey);
    this.leafIds.splice(d, 0, decodeId(leafKey));
    this.entries.splice(d, 0, 0);
    this.bytes.splice(d, 0, 0);
    this.setSums(d, sums);
  }

  remove(d: number): void {
    assert(d > 0, 'the first leaf is never dropped');
    this.all.entries -= this.entries[d];
    this.all.bytes -= this.bytes[d];
    this.map.remove(this.separators[d]);
    this.changed.delete(this.texts[d]);
    for (const list of [this.separators, this.texts, this.leafKeys, this.leafIds, this.entries, this.bytes] as unknown[][]) list.splice(d, 1);
  }

  /** Asserts the heap copy equals the stored directory, sums included, and the totals equal the sums. */
  check(stored: [Uint8Array, Uint8Array][]): void {
    assert(this.changed.size === 0, 'directory checked before persist()');
    assert(stored.length === this.length, `directory holds ${stored.length} entries, heap ${this.length}`);
    for (let d = 0; d < stored.length; d++) {
      const value = decodeDirectoryValue(stored[d][1]);
      assert(compareBytes(stored[d][0], this.separators[d]) === 0 && compareBytes(value.leafKey, this.leafKeys[d]) === 0 && decodeId(value.leafKey) === this.leafIds[d], `directory entry ${d} differs from the heap`);
      assert(value.entries === this.entries[d] && value.bytes === this.bytes[d], `directory entry ${d}: stored sums differ from the heap's`);
      assert(this.texts[d] === keyString(this.separators[d]), `heap directory ${d}: separator text differs`);
      assert(d === 0 ? this.separators[d].length === 0 : compareBytes(this.separators[d - 1], this.separators[d]) < 0, `separator ${d} out of order`);
    }
    const entries = this.entries.reduce((s, n) => s + n, 0);
    const bytes = this.bytes.reduce((s, n) => s + n, 0);
    assert(entries === this.all.entries && bytes === this.all.bytes, `totals ${this.all.entries} entries, ${this.all.bytes} bytes; leaves sum to ${entries}, ${bytes}`);
  }
}

/** How many of `sorted` (ascending, from position `from` on) are <= x, plus `from`: a binary search. */
export function countAtMost(sorted: readonly string[], x: string, from = 0): number {
  let lo = from;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
