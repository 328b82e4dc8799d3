// The test oracle for split points and owned sizes: the byte-weighted median hash and the sums of
// a hash range computed the obvious way, by walking every row of the range (what the shard did
// before the store kept per-leaf sums). lib/shard/hash-ranges.ts must give the same answers.
import { hashOffsetOfStorageKey } from '../../lib/model/keys.js';
import { hashFromBytes } from '../../lib/partition/index.js';
import type { OrderedKv } from '../../lib/repository/store.js';
import { walkHashRange } from '../../lib/shard/hash-ranges.js';

/** Bytes per distinct hash of the rows in [start, end), by walking them. */
function weightsByHash(kv: OrderedKv, start: bigint, end: bigint): Map<bigint, number> {
  const weights = new Map<bigint, number>();
  let after: Uint8Array | undefined;
  do {
    const step = walkHashRange(kv, { start, end }, after, { maxEntries: 4096, maxBytes: Number.MAX_SAFE_INTEGER });
    for (const [k, v] of step.entries) {
      const off = hashOffsetOfStorageKey(k);
      const h = hashFromBytes(k.subarray(off, off + 8));
      weights.set(h, (weights.get(h) ?? 0) + k.length + v.length);
    }
    after = step.next;
  } while (after !== undefined);
  return weights;
}

/** The first hash at which the bytes strictly below reach half the total (the last hash if none does); undefined for fewer than two hashes. */
export function medianByRowWalk(kv: OrderedKv, start: bigint, end: bigint): bigint | undefined {
  const weights = weightsByHash(kv, start, end);
  if (weights.size < 2) return undefined;
  const hashes = [...weights.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const total = hashes.reduce((t, h) => t + (weights.get(h) as number), 0);
  let below = 0;
  for (let i = 1; i < hashes.length; i++) {
    below += weights.get(hashes[i - 1]) as number;
    if (below * 2 >= total) return hashes[i];
  }
  return hashes[hashes.length - 1];
}

/** Entries and bytes of the rows in [start, end), by walking them. */
export function sumByRowWalk(kv: OrderedKv, start: bigint, end: bigint): { entries: number; bytes: number } {
  const out = { entries: 0, bytes: 0 };
  let after: Uint8Array | undefined;
  do {
    const step = walkHashRange(kv, { start, end }, after, { maxEntries: 4096, maxBytes: Number.MAX_SAFE_INTEGER });
    for (const [k, v] of step.entries) (out.entries++, (out.bytes += k.length + v.length));
    after = step.next;
  } while (after !== undefined);
  return out;
}
