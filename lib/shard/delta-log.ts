// The delta log of a split or merge source: every write to the moving range, in order, from
// `prepare` until cutover, so the target (a snapshot clone or a streamed copy) can catch up.
// Entries are full row images (value or tombstone) of raw store keys — rows and index entries
// alike — so replaying them in order over any older copy ends in the source's state. Bounded: a
// full log refuses new writes to the moving range with a retryable answer.
import type { DeltaEntry } from '../protocol/housekeeping.js';
import { MAX_BATCH_BYTES, MAX_MIGRATION_BATCH_ENTRIES } from '../protocol/housekeeping.js';

/** Bytes the log may hold before writes to the moving range are refused (retryable). */
export const MAX_DELTA_LOG_BYTES = 64 * 1024 * 1024;

/** Sequence-number-keyed storage of log entries (a StableBTreeMap in a canister). */
export interface DeltaLogStore {
  get(seq: bigint): DeltaEntry | undefined;
  put(entry: DeltaEntry): void;
  delete(seq: bigint): void;
}

export function entryBytes(e: DeltaEntry): number {
  return e.key.length + (e.value?.length ?? 0);
}

/** Entries with seq in (after, before), at most one batch (MAX_MIGRATION_BATCH_ENTRIES, MAX_BATCH_BYTES). */
export function readBatch(log: DeltaLogStore, after: bigint, before: bigint): DeltaEntry[] {
  const out: DeltaEntry[] = [];
  let bytes = 0;
  for (let seq = after + 1n; seq < before && out.length < MAX_MIGRATION_BATCH_ENTRIES; seq++) {
    const e = log.get(seq);
    if (e === undefined) throw new Error(`delta log: entry ${seq} is missing (log corrupted)`);
    if (out.length > 0 && bytes + entryBytes(e) > MAX_BATCH_BYTES) break;
    out.push(e);
    bytes += entryBytes(e);
  }
  return out;
}

/** Removes entries in [from, to) and returns their bytes. */
export function dropEntries(log: DeltaLogStore, from: bigint, to: bigint): number {
  let bytes = 0;
  for (let seq = from; seq < to; seq++) {
    const e = log.get(seq);
    if (e === undefined) continue;
    bytes += entryBytes(e);
    log.delete(seq);
  }
  return bytes;
}

/** In-memory log (MemoryCluster, tests). */
export class MemoryDeltaLog implements DeltaLogStore {
  private readonly entries = new Map<bigint, DeltaEntry>();

  get(seq: bigint): DeltaEntry | undefined {
    return this.entries.get(seq);
  }

  put(entry: DeltaEntry): void {
    this.entries.set(entry.seq, entry);
  }

  delete(seq: bigint): void {
    this.entries.delete(seq);
  }

  clone(): MemoryDeltaLog {
    const c = new MemoryDeltaLog();
    for (const e of this.entries.values()) c.put(e);
    return c;
  }
}
