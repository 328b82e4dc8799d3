// PagedKv's costs and edges, by counting ByteMap calls: a point get is one value lookup, a range
// page reads a bounded number of leaves, an upgrade reloads only the directory, leaves stay
// between their limits as the store grows and shrinks, and bad input is refused before any write.
import { PayloadTooLargeError, ValidationError } from '../../lib/model/errors.js';
import { LEAF_MAX_KEYS, MAX_DIRTY_LEAVES, MAX_KEY_BYTES, MAX_VALUE_BYTES, PagedKv, shortestSeparator } from '../../lib/shard/paged-store.js';
import { shuffle, Xoshiro128 } from '../../lib/random/prng.js';
import { MemoryKv } from '../../lib/repository/store.js';
import { freshMaps, type SortedByteMap } from './sorted-byte-map.js';

const ENTRIES = 10_000;

function be32(n: number): Uint8Array {
  return new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

/** Storage-key-like keys: a shared prefix, then a big-endian number. */
function rowKey(n: number): Uint8Array {
  const key = new Uint8Array(12);
  key.set([0x6e, 0x6f, 0x74, 0x65, 0x00, 0x01, 0, 0]);
  key.set(be32(n), 8);
  return key;
}

function totalCalls(maps: Record<string, SortedByteMap>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, map] of Object.entries(maps)) for (const [op, n] of Object.entries(map.calls)) if (n > 0) out[`${name}.${op}`] = n;
  return out;
}

function callsDuring(maps: Record<string, SortedByteMap>, f: () => void): Record<string, number> {
  const before = totalCalls(maps);
  f();
  const after = totalCalls(maps);
  const out: Record<string, number> = {};
  for (const [k, n] of Object.entries(after)) if (n !== (before[k] ?? 0)) out[k] = n - (before[k] ?? 0);
  return out;
}

test('10,000 entries in random order: leaves within limits, point and range costs bounded, upgrade reloads only the directory', () => {
  const maps = freshMaps();
  const kv = new PagedKv({ maps });
  const order = shuffle(new Xoshiro128(7), Array.from({ length: ENTRIES }, (_, i) => i));
  for (const n of order) kv.set(rowKey(n), be32(n * 3));
  kv.check();
  expect(kv.size()).toBe(ENTRIES);
  expect(kv.bytes()).toBe(ENTRIES * 16);
  // Random inserts leave leaves between half and completely full.
  expect(kv.leafCount()).toBeGreaterThanOrEqual(Math.ceil(ENTRIES / LEAF_MAX_KEYS));
  expect(kv.leafCount()).toBeLessThanOrEqual(Math.ceil(ENTRIES / (LEAF_MAX_KEYS / 2)));

  expect(callsDuring(maps, () => expect(kv.get(rowKey(4321))).toEqual(be32(4321 * 3)))).toEqual({ 'values.get': 1 });
  let page: [Uint8Array, Uint8Array][] = [];
  const rangeCalls = callsDuring(maps, () => (page = kv.range(rowKey(5000), rowKey(ENTRIES), 100)));
  expect(page.map(([k]) => k)).toEqual(Array.from({ length: 100 }, (_, i) => rowKey(5000 + i)));
  expect(page[99][1]).toEqual(be32(5099 * 3));
  expect(rangeCalls['values.get']).toBe(100);
  expect(rangeCalls['leaves.get']).toBeUndefined(); // the leaves written are still decoded in the heap
  const keyCalls = callsDuring(maps, () => expect(kv.keysInRange(rowKey(5000), rowKey(5100), 1000)).toEqual(page.map(([k]) => [k, 4])));
  expect(keyCalls['values.get']).toBeUndefined();

  const upgraded = new PagedKv({ maps });
  const loadCalls = callsDuring(maps, () => expect(upgraded.range(rowKey(5000), rowKey(ENTRIES), 100)).toEqual(page));
  expect(loadCalls['directory.items']).toBe(1);
  expect(loadCalls['leaves.get']).toBeLessThanOrEqual(1 + Math.ceil(100 / (LEAF_MAX_KEYS / 2))); // no leaf is read to rebuild the directory
  expect(upgraded.leafCount()).toBe(kv.leafCount());
});

test('deleting most entries merges leaves; deleting all leaves one empty leaf', () => {
  const maps = freshMaps();
  const kv = new PagedKv({ maps });
  for (let n = 0; n < 4000; n++) kv.set(rowKey(n), new Uint8Array(n % 50));
  const full = kv.leafCount();
  for (let n = 0; n < 4000; n++) if (n % 10 !== 0) kv.delete(rowKey(n));
  kv.check();
  expect(kv.size()).toBe(400);
  expect(kv.leafCount()).toBeLessThan(full / 3);
  expect(kv.keysInRange(rowKey(0), rowKey(31), 10)).toEqual([0, 10, 20, 30].map((n) => [rowKey(n), n % 50]));
  for (let n = 0; n < 4000; n += 10) expect(kv.delete(rowKey(n))).toEqual(new Uint8Array(n % 50));
  kv.check();
  expect([kv.size(), kv.bytes(), kv.leafCount(), maps.leaves.len(), maps.values.len()]).toEqual([0, 0, 1, 1, 0]);
  expect(kv.delete(rowKey(1))).toBeUndefined();
});

test('overwriting a value of the same length writes only the value; another length rewrites its leaf', () => {
  const maps = freshMaps();
  const kv = new PagedKv({ maps, cacheBytes: 0 }); // no leaf kept between calls: each call reads its leaf
  for (let n = 0; n < 300; n++) kv.set(rowKey(n), new Uint8Array(8));
  expect(callsDuring(maps, () => kv.set(rowKey(7), new Uint8Array(8).fill(1)))).toEqual({ 'values.insert': 1 });
  // The leaf's sums live in its directory entry, rewritten with the leaf: no store-wide record is written.
  expect(callsDuring(maps, () => kv.set(rowKey(7), new Uint8Array(9)))).toEqual({ 'values.insert': 1, 'leaves.get': 1, 'leaves.insert': 1, 'directory.insert': 1 });
  expect(kv.bytes()).toBe(300 * 20 + 1);
  kv.check();
});

test('a new key without a leaf split costs three inserts, as before the sums moved into the directory', () => {
  const maps = freshMaps();
  const kv = new PagedKv({ maps, cacheBytes: 0 });
  for (let n = 0; n < 10; n++) kv.set(rowKey(2 * n), new Uint8Array(8));
  expect(callsDuring(maps, () => kv.set(rowKey(5), new Uint8Array(3)))).toEqual({ 'values.insert': 1, 'leaves.get': 1, 'leaves.insert': 1, 'directory.insert': 1 });
  expect(callsDuring(maps, () => kv.delete(rowKey(5)))).toEqual({ 'values.remove': 1, 'leaves.get': 1, 'leaves.insert': 1, 'directory.insert': 1 });
  // With leaves kept in the heap (the default) a warm leaf is not read again.
  const warm = new PagedKv({ maps });
  warm.set(rowKey(7), new Uint8Array(1));
  expect(callsDuring(maps, () => warm.set(rowKey(9), new Uint8Array(3)))).toEqual({ 'values.insert': 1, 'leaves.insert': 1, 'directory.insert': 1 });
});

test('deferred writes: a batch writes each changed leaf and directory entry once, reads see the changes first, and the maps hold them after the flush', () => {
  const maps = freshMaps();
  const pending: (() => void)[] = [];
  const kv = new PagedKv({ maps, deferWrites: (flush) => pending.push(flush) });
  for (let n = 0; n < 1000; n++) kv.set(rowKey(n), new Uint8Array(4));
  pending.splice(0).forEach((flush) => flush());
  const leaves = kv.leafCount();
  const calls = callsDuring(maps, () => {
    for (let n = 0; n < 1000; n += 2) kv.set(rowKey(n), new Uint8Array(5)); // every leaf, many times each
    kv.delete(rowKey(1));
    expect(kv.range(rowKey(0), rowKey(4), 10)).toEqual([[rowKey(0), new Uint8Array(5)], [rowKey(2), new Uint8Array(5)], [rowKey(3), new Uint8Array(4)]]);
    expect(pending.length).toBe(1); // one flush arranged for the whole batch
  });
  expect([calls['leaves.insert'], calls['directory.insert'], calls['leaves.get']]).toEqual([undefined, undefined, undefined]);
  pending.splice(0).forEach((flush) => flush());
  const reopened = new PagedKv({ maps });
  expect(reopened.range(rowKey(0), rowKey(4), 10)).toEqual([[rowKey(0), new Uint8Array(5)], [rowKey(2), new Uint8Array(5)], [rowKey(3), new Uint8Array(4)]]);
  expect(reopened.bytes()).toBe(kv.bytes());
  reopened.check();
  const flushed = callsDuring(maps, () => {
    for (let n = 0; n < 1000; n += 2) kv.set(rowKey(n), new Uint8Array(6));
    pending.splice(0).forEach((flush) => flush());
  });
  expect([flushed['leaves.insert'], flushed['directory.insert']]).toEqual([leaves, leaves]);
  kv.check();
});

test('a batch that changes more than MAX_DIRTY_LEAVES leaves writes them out early and stays correct', () => {
  const maps = freshMaps();
  const pending: (() => void)[] = [];
  const kv = new PagedKv({ maps, limits: { leafMaxKeys: 4, leafMaxBytes: 4096, leafMergeBelowKeys: 1 }, deferWrites: (flush) => pending.push(flush) });
  const model = new MemoryKv();
  const written = callsDuring(maps, () => {
    for (let n = 0; n < 6 * MAX_DIRTY_LEAVES; n++) {
      expect(kv.set(rowKey(n), be32(n))).toEqual(model.set(rowKey(n), be32(n)));
    }
  });
  expect(kv.leafCount()).toBeGreaterThan(MAX_DIRTY_LEAVES);
  expect(written['leaves.insert']).toBeGreaterThanOrEqual(MAX_DIRTY_LEAVES); // before the job's flush ran
  expect(kv.range(rowKey(0), rowKey(10), 20)).toEqual(model.range(rowKey(0), rowKey(10), 20));
  pending.splice(0).forEach((flush) => flush());
  kv.check();
  const reopened = new PagedKv({ maps });
  expect(reopened.range(rowKey(0), rowKey(6 * MAX_DIRTY_LEAVES), 10 * MAX_DIRTY_LEAVES)).toEqual(model.range(rowKey(0), rowKey(6 * MAX_DIRTY_LEAVES), 10 * MAX_DIRTY_LEAVES));
});

test('the leaf cache keeps at most its byte bound between flushes and reads evicted leaves again', () => {
  const maps = freshMaps();
  const kv = new PagedKv({ maps, cacheBytes: 4096 });
  for (let n = 0; n < 3000; n++) kv.set(rowKey(n), new Uint8Array(2));
  kv.check(); // also checks the cache's byte count and that each cached leaf equals its stored bytes
  const calls = callsDuring(maps, () => expect(kv.keysInRange(rowKey(0), rowKey(3000), 3000).length).toBe(3000));
  expect(calls['leaves.get']).toBeGreaterThan(kv.leafCount() / 2); // most leaves had been dropped
});

test('per-leaf sums stay equal to a recount through random sets, updates and deletes, leaf splits, merges, drops and reopens', () => {
  const maps = freshMaps();
  const limits = { leafMaxKeys: 6, leafMaxBytes: 300, leafMergeBelowKeys: 2 };
  let kv = new PagedKv({ maps, limits });
  const model = new MemoryKv();
  const rng = new Xoshiro128(11);
  let leavesSeen = 0;
  for (let step = 1; step <= 6_000; step++) {
    const key = rowKey(rng.nextU32() % 700);
    const roll = rng.nextU32() % 10;
    if (roll < 6) {
      const value = new Uint8Array(rng.nextU32() % (roll === 0 ? 400 : 30));
      expect(kv.set(key, value)).toEqual(model.set(key, value));
    } else {
      expect(kv.delete(key)).toEqual(model.delete(key));
    }
    if (step % 250 === 0) {
      kv.check(); // recounts every leaf's entries and bytes against its directory entry
      leavesSeen = Math.max(leavesSeen, kv.leafCount());
    }
    if (step % 1_000 === 0) kv = new PagedKv({ maps, limits }); // the sums come back from the stored directory
    expect([kv.size(), kv.bytes()]).toEqual([model.size(), model.bytes()]);
  }
  kv.check();
  expect(leavesSeen).toBeGreaterThan(50);
  for (let n = 0; n < 700; n++) kv.delete(rowKey(n));
  kv.check();
  expect([kv.size(), kv.bytes(), kv.leafCount()]).toEqual([0, 0, 1]);
});

/** Rewrites a current store in the format-1 layout: 4-byte directory values, totals in the meta record. */
function downgradeToFormat1(maps: ReturnType<typeof freshMaps>, kv: PagedKv): void {
  const next = new Uint32Array(maps.meta.get(new Uint8Array([0]))!.slice().buffer)[1];
  for (const [separator, value] of maps.directory.items(0, maps.directory.len())) maps.directory.insert(separator, value.slice(0, 4));
  const bytes = kv.bytes();
  maps.meta.insert(new Uint8Array([0]), new Uint8Array(new Uint32Array([1, kv.size(), bytes % 2 ** 32, Math.floor(bytes / 2 ** 32), next]).buffer));
}

test('a format-1 store (totals in meta, no per-leaf sums) is upgraded in place on first use and keeps every entry', () => {
  const maps = freshMaps();
  const kv = new PagedKv({ maps });
  for (let n = 0; n < 2_000; n++) kv.set(rowKey(n), new Uint8Array(n % 37));
  const everything = kv.range(rowKey(0), rowKey(ENTRIES), ENTRIES);
  const [size, bytes, leaves] = [kv.size(), kv.bytes(), kv.leafCount()];
  downgradeToFormat1(maps, kv);
  const upgraded = new PagedKv({ maps });
  const calls = callsDuring(maps, () => expect([upgraded.size(), upgraded.bytes(), upgraded.leafCount()]).toEqual([size, bytes, leaves]));
  expect(calls['leaves.get']).toBe(leaves); // each leaf read once to count it
  expect(calls['directory.insert']).toBe(leaves);
  upgraded.check();
  expect(upgraded.range(rowKey(0), rowKey(ENTRIES), ENTRIES)).toEqual(everything);
  // Once upgraded, a reopen reads no leaf.
  const again = new PagedKv({ maps });
  expect(callsDuring(maps, () => again.size())['leaves.get']).toBeUndefined();
  again.set(rowKey(5_000), new Uint8Array(1));
  again.check();
});

test('a format-1 store whose totals disagree with its leaves, or an unknown format, is refused, not rewritten', () => {
  const maps = freshMaps();
  const kv = new PagedKv({ maps });
  for (let n = 0; n < 300; n++) kv.set(rowKey(n), new Uint8Array(4));
  downgradeToFormat1(maps, kv);
  const meta = new Uint32Array(maps.meta.get(new Uint8Array([0]))!.slice().buffer);
  meta[1] += 1;
  maps.meta.insert(new Uint8Array([0]), new Uint8Array(meta.buffer));
  expect(() => new PagedKv({ maps }).size()).toThrow(/format-1 counters say 301 entries/);
  expect(maps.directory.items(0, maps.directory.len()).every(([, v]) => v.length === 4)).toBe(true);
  meta[0] = 9;
  maps.meta.insert(new Uint8Array([0]), new Uint8Array(meta.buffer));
  expect(() => new PagedKv({ maps }).size()).toThrow(/PagedKv format 9 .* is neither 1 nor 2/);
});

test('bad input is refused with a typed error before anything is written', () => {
  const maps = freshMaps();
  const kv = new PagedKv({ maps });
  kv.set(rowKey(1), new Uint8Array(1));
  const before = totalCalls(maps);
  expect(() => kv.set(new Uint8Array(MAX_KEY_BYTES + 1), new Uint8Array(1))).toThrow(ValidationError);
  expect(() => kv.set(rowKey(2), new Uint8Array(MAX_VALUE_BYTES + 1))).toThrow(PayloadTooLargeError);
  expect(() => kv.set('k' as unknown as Uint8Array, new Uint8Array(1))).toThrow(ValidationError);
  expect(() => kv.range(rowKey(0), rowKey(9), -1)).toThrow(ValidationError);
  expect(() => kv.keysInRange(rowKey(0), rowKey(9), 1.5)).toThrow(ValidationError);
  expect(totalCalls(maps)).toEqual(before);
  expect(kv.set(new Uint8Array(MAX_KEY_BYTES), new Uint8Array(0))).toBeUndefined(); // the limit itself is fine
  expect(() => new PagedKv({ maps: freshMaps(), limits: { leafMaxKeys: 1 } })).toThrow(ValidationError);
  expect(() => new PagedKv({ maps: freshMaps(), limits: { leafMaxKeys: 8, leafMergeBelowKeys: 5 } })).toThrow(ValidationError);
  kv.check();
});

test('an empty or inverted range reads nothing; lo is inclusive and hi exclusive', () => {
  const kv = new PagedKv({ maps: freshMaps() });
  for (const k of [[], [0], [0, 0], [1], [1, 0], [2]]) kv.set(new Uint8Array(k), new Uint8Array([k.length]));
  const keys = (lo: number[], hi: number[], limit = 10): number[][] => kv.keysInRange(new Uint8Array(lo), new Uint8Array(hi), limit).map(([k]) => [...k]);
  expect(keys([], [])).toEqual([]);
  expect(keys([2], [1])).toEqual([]);
  expect(keys([], [0, 0])).toEqual([[], [0]]);
  expect(keys([0], [1, 0])).toEqual([[0], [0, 0], [1]]);
  expect(keys([0], [3], 2)).toEqual([[0], [0, 0]]);
  expect(keys([0], [3], 0)).toEqual([]);
});

test('shortestSeparator is the shortest key above the left key and at most the right one', () => {
  const s = (a: number[], b: number[]): number[] => [...shortestSeparator(new Uint8Array(a), new Uint8Array(b))];
  expect(s([1, 2, 3], [1, 2, 4, 0])).toEqual([1, 2, 4]);
  expect(s([1, 2], [1, 2, 0])).toEqual([1, 2, 0]);
  expect(s([], [0])).toEqual([0]);
  expect(s([5, 9, 9], [6])).toEqual([6]);
  expect(() => s([1], [1])).toThrow(/invariant/);
});

test('maps holding data without counters are refused as corrupted, not silently reset', () => {
  const maps = freshMaps();
  maps.values.insert(rowKey(1), new Uint8Array(1));
  expect(() => new PagedKv({ maps }).size()).toThrow(/invariant violated: maps hold data but no PagedKv counters/);
});

test('an emptied leaf that is not the first is dropped', () => {
  const maps = freshMaps();
  const kv = new PagedKv({ maps, limits: { leafMaxKeys: 4, leafMergeBelowKeys: 1 } });
  for (let n = 1; n <= 5; n++) kv.set(rowKey(n), new Uint8Array(1));
  expect(kv.leafCount()).toBe(2);
  for (const n of [3, 4, 5]) kv.delete(rowKey(n));
  kv.check();
  expect([kv.leafCount(), maps.leaves.len(), maps.directory.len()]).toEqual([1, 1, 1]);
  expect(kv.keysInRange(rowKey(0), rowKey(9), 9)).toEqual([rowKey(1), rowKey(2)].map((k) => [k, 1]));
});
