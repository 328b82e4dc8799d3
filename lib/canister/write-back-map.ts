// A ByteMap that writes each key it changed once per message: the leaves, directory and meta
// maps of a shard's PagedKv are rewritten by nearly every write (a leaf per key, the counters
// always), and each StableBTreeMap operation is a few hundred stable-memory reads and writes
// (bench: cluster-client). Within one message the latest value of every key touched is kept in
// the heap and written out by a microtask the first touch schedules: Azle drains microtasks
// before an execution ends, and a trap rolls back heap and stable memory together, so what is
// durable is exactly what it was without the cache. No Azle import: it is tested in Node.
import type { ByteMap } from '../shard/paged-store.js';

/** Bytes of changed values a WriteBackMap holds before it writes them out at once (bounds the heap). */
export const MAX_DEFERRED_WRITE_BYTES = 16 * 1024 * 1024;

/** A key as a map key of the heap (String.fromCharCode: one native call). */
function keyText(key: Uint8Array): string {
  return String.fromCharCode.apply(null, key as unknown as number[]);
}

interface Touched {
  key: Uint8Array;
  /** The value now (undefined: absent, or removed in this message). */
  value: Uint8Array | undefined;
  changed: boolean;
}

/**
 * A ByteMap over another that keeps the keys it touched in this message (values read, and the
 * latest value of keys changed) and writes the changed ones at the end of the current job.
 * Semantics are the inner map's: `insert` and `remove` return the previous value, `len` and
 * `items` see every change (they write out first).
 */
export class WriteBackMap implements ByteMap {
  private touched = new Map<string, Touched>();
  private changedBytes = 0;
  private scheduled = false;

  constructor(private readonly inner: ByteMap) {}

  private entry(key: Uint8Array): { text: string; entry: Touched } {
    const text = keyText(key);
    let entry = this.touched.get(text);
    if (entry === undefined) {
      entry = { key: key.slice(), value: this.inner.get(key), changed: false };
      this.touched.set(text, entry);
      this.schedule();
    }
    return { text, entry };
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    void Promise.resolve().then(() => this.flush());
  }

  private change(entry: Touched, value: Uint8Array | undefined): Uint8Array | undefined {
    const previous = entry.value;
    entry.value = value;
    entry.changed = true;
    this.changedBytes += entry.key.length + (value?.length ?? 0);
    if (this.changedBytes > MAX_DEFERRED_WRITE_BYTES) this.flush();
    return previous;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.entry(key).entry.value;
  }

  insert(key: Uint8Array, value: Uint8Array): Uint8Array | undefined {
    return this.change(this.entry(key).entry, value.slice()); // copied: callers reuse buffers
  }

  remove(key: Uint8Array): Uint8Array | undefined {
    return this.change(this.entry(key).entry, undefined);
  }

  len(): number {
    this.flush();
    return this.inner.len();
  }

  items(startIndex: number, length: number): [Uint8Array, Uint8Array][] {
    this.flush();
    return this.inner.items(startIndex, length);
  }

  /** Writes every changed key to the inner map and forgets what this message touched. */
  flush(): void {
    const touched = this.touched;
    this.touched = new Map();
    this.changedBytes = 0;
    this.scheduled = false;
    for (const e of touched.values()) {
      if (!e.changed) continue;
      if (e.value === undefined) this.inner.remove(e.key);
      else this.inner.insert(e.key, e.value);
    }
  }
}
