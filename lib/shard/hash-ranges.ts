// Walking a store by hash range. Storage keys are keyspace ‖ be64(hash) ‖ rest, so the entries of
// a hash range [start, end) form one contiguous stretch per keyspace (collection or index). These
// walkers jump from stretch to stretch instead of reading every key: streamed copies, pruning and
// split points touch only what they must.
import { hashedPrefix, hashOffsetOfStorageKey, prefixEnd } from '../model/keys.js';
import { hashFromBytes, HASH_SPACE } from '../partition/index.js';
import { keySuccessor, type Entry, type OrderedKv } from '../repository/store.js';

/** Entries read from the store per call while walking. */
export const WALK_PAGE = 256;
/** Every storage key starts with an ASCII collection name, so all keys sort below 0xff. */
const ALL_HI = Uint8Array.of(0xff);

export interface WalkLimits {
  maxEntries: number;
  maxBytes: number;
}

/**
 * Entries whose hash is inside [start, end) (or outside it, with `outside`), in key order,
 * strictly after `after`, within the limits. `next` is the key to continue after; undefined when
 * the walk reached the end of the store.
 */
export function walkHashRange(kv: OrderedKv, range: { start: bigint; end: bigint; outside?: boolean }, after: Uint8Array | undefined, limits: WalkLimits): { entries: Entry[]; next?: Uint8Array } {
  const out: Entry[] = [];
  let bytes = 0;
  let lo = after === undefined ? new Uint8Array(0) : keySuccessor(after);
  let last = after;
  for (;;) {
    const page = kv.range(lo, ALL_HI, WALK_PAGE);
    if (page.length === 0) return { entries: out, next: undefined };
    let jumped = false;
    for (const e of page) {
      const off = hashOffsetOfStorageKey(e[0]);
      const hash = hashFromBytes(e[0].subarray(off, off + 8));
      const inside = hash >= range.start && hash < range.end;
      if (inside === !range.outside) {
        const size = e[0].length + e[1].length;
        if (out.length >= limits.maxEntries || (out.length > 0 && bytes + size > limits.maxBytes)) return { entries: out, next: last };
        out.push(e);
        bytes += size;
        last = e[0];
        continue;
      }
      // Jump over the rest of this keyspace's stretch that does not qualify.
      const keyspace = e[0].subarray(0, off);
      const jump = skipTarget(keyspace, hash, range);
      if (jump !== undefined) {
        lo = jump;
        jumped = true;
        break;
      }
    }
    if (!jumped) {
      if (page.length < WALK_PAGE) return { entries: out, next: undefined };
      lo = keySuccessor(page[page.length - 1][0]);
    }
  }
}

/** Where the next qualifying key of this keyspace can start, past a key with `hash` that does not qualify. */
function skipTarget(keyspace: Uint8Array, hash: bigint, range: { start: bigint; end: bigint; outside?: boolean }): Uint8Array | undefined {
  if (!range.outside) {
    if (hash < range.start) return hashedPrefix(keyspace, range.start);
    return prefixEnd(keyspace); // hash >= end: nothing more in this keyspace
  }
  // Outside walk, at a key inside [start, end): the next outside key is at `end` (if any).
  return range.end >= HASH_SPACE ? prefixEnd(keyspace) : hashedPrefix(keyspace, range.end);
}

/** Bytes (keys + values) of the entries in a hash range, and the byte-weighted median hash. */
export function medianHash(kv: OrderedKv, start: bigint, end: bigint): bigint | undefined {
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
