// PagedKv's leaves as the heap holds them between messages: decoded, changed in place, and written
// back to the `leaves` map once per flush. Reading a leaf from a StableBTreeMap and decoding it
// costs about as much as the search and the change together (bench: cluster-upsert, bulk), and a
// batch of writes touches most of its leaves several times, so a leaf is read once while it stays
// cached and written once per message however often it changed.
//
// Sound on the IC because the heap and stable memory commit together: a trap rolls both back, a
// query's changes to both are dropped, an upgrade starts with an empty cache, and every read and
// write of a leaf goes through this cache (one PagedKv owns its maps). What is durable after a
// flush is exactly what writing each leaf through would have left.
import { compareBytes } from '../model/keys.js';
import { encodeId, type ByteMap } from './paged-format.js';
import { assert, fail, Leaf } from './paged-leaf.js';

/** Heap bytes of leaves kept decoded (beyond it the oldest clean ones are dropped). */
export const MAX_CACHED_LEAF_BYTES = 8 * 1024 * 1024;
/** Changed leaves held before they are written out mid-message (bounds a message's heap). */
export const MAX_DIRTY_LEAVES = 1024;

interface Cached {
  leaf: Leaf;
  /** heldBytes() when last counted (at load and at flush). */
  held: number;
}

export class LeafCache {
  private readonly cached = new Map<number, Cached>();
  private readonly dirty = new Set<number>();
  private heldBytes = 0;

  constructor(
    private readonly map: ByteMap,
    private readonly maxBytes: number,
  ) {}

  /** The leaf with this id, read from the map on a miss. */
  get(id: number): Leaf {
    const hit = this.cached.get(id);
    if (hit !== undefined) return hit.leaf;
    const bytes = this.map.get(encodeId(id));
    if (bytes === undefined) fail(`leaf ${id} is in the directory but not stored`);
    const leaf = Leaf.decode(bytes);
    this.keep(id, leaf);
    return leaf;
  }

  /** Leaf `id` is now `leaf` (changed in place or replaced): written at the next flush. */
  put(id: number, leaf: Leaf): void {
    this.dirty.add(id); // first: keep() may evict, but never a changed leaf
    const entry = this.cached.get(id);
    if (entry === undefined) this.keep(id, leaf);
    else entry.leaf = leaf;
  }

  /** Whether too many changed leaves wait for a flush. */
  full(): boolean {
    return this.dirty.size >= MAX_DIRTY_LEAVES;
  }

  /** Leaf `id` is gone: removed from the map now, forgotten here. */
  drop(id: number): void {
    const entry = this.cached.get(id);
    if (entry !== undefined) this.heldBytes -= entry.held;
    this.cached.delete(id);
    this.dirty.delete(id);
    this.map.remove(encodeId(id));
  }

  /** Writes every changed leaf to the map, then keeps the cache within its byte bound. */
  flush(): void {
    for (const id of this.dirty) {
      const entry = this.cached.get(id);
      if (entry === undefined) fail(`changed leaf ${id} is not cached`); // hot: the message is built only on failure
      this.map.insert(encodeId(id), entry.leaf.encode());
      const held = entry.leaf.heldBytes();
      this.heldBytes += held - entry.held;
      entry.held = held;
    }
    this.dirty.clear();
    this.evict();
  }

  /** Past the byte bound, drops the oldest clean leaves until within it (changed ones stay until written). */
  private evict(): void {
    if (this.heldBytes <= this.maxBytes) return;
    for (const [id, entry] of this.cached) {
      if (this.heldBytes <= this.maxBytes) break;
      if (this.dirty.has(id)) continue;
      this.cached.delete(id);
      this.heldBytes -= entry.held;
    }
  }

  /** Asserts every cached leaf equals its stored bytes once flushed (tests only). */
  check(): void {
    assert(this.dirty.size === 0, 'leaf cache checked before a flush');
    let held = 0;
    for (const [id, entry] of this.cached) {
      const stored = this.map.get(encodeId(id));
      assert(stored !== undefined && compareBytes(stored, entry.leaf.encode()) === 0, `cached leaf ${id} differs from the stored one`);
      held += entry.held;
    }
    assert(held === this.heldBytes, `leaf cache counts ${this.heldBytes} bytes, its leaves ${held}`);
  }

  private keep(id: number, leaf: Leaf): void {
    const held = leaf.heldBytes();
    this.cached.set(id, { leaf, held });
    this.heldBytes += held;
    this.evict();
  }
}
