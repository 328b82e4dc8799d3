// The store as the executor sees it on a migration source: every write to the moving range is
// also appended to the delta log (a full image: value or tombstone), so a target that holds an
// older copy — a snapshot or a streamed copy — catches up by replaying the log in order.
import { hashOfStorageKey } from '../model/keys.js';
import type { Entry, KeyEntry, OrderedKv } from '../repository/store.js';
import { entryBytes, type DeltaLogStore } from './delta-log.js';
import type { OutgoingMigration } from './state.js';

export class LoggedKv implements OrderedKv {
  constructor(
    private readonly inner: OrderedKv,
    private readonly log: DeltaLogStore,
    private readonly outgoing: () => OutgoingMigration | undefined,
  ) {}

  private record(key: Uint8Array, value: Uint8Array | undefined): void {
    const out = this.outgoing();
    if (out === undefined) return;
    const h = hashOfStorageKey(key);
    if (h < out.plan.start || h >= out.plan.end) return;
    const entry = { seq: out.nextSeq, key, ...(value === undefined ? {} : { value }) };
    this.log.put(entry);
    out.nextSeq++;
    out.logBytes += entryBytes(entry);
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.inner.get(key);
  }

  set(key: Uint8Array, value: Uint8Array): Uint8Array | undefined {
    this.record(key, value);
    return this.inner.set(key, value);
  }

  delete(key: Uint8Array): Uint8Array | undefined {
    const previous = this.inner.delete(key);
    if (previous !== undefined) this.record(key, undefined);
    return previous;
  }

  range(lo: Uint8Array, hi: Uint8Array, limit: number): Entry[] {
    return this.inner.range(lo, hi, limit);
  }

  keysInRange(lo: Uint8Array, hi: Uint8Array, limit: number): KeyEntry[] {
    return this.inner.keysInRange(lo, hi, limit);
  }

  size(): number {
    return this.inner.size();
  }

  bytes(): number {
    return this.inner.bytes();
  }
}
