// Split points and owned sizes from the store's per-leaf sums (lib/shard/hash-ranges.ts) against
// the row walk they replaced (median-oracle.ts): random rows in several keyspaces (rows and an
// index), hashes that repeat across leaves, sit at the ends of the hash space or are all one,
// random updates and deletes, random sub-ranges, tiny and default leaves, PagedKv and MemoryKv.
// Also what it costs: PagedKv answers without reading a value and with a few leaf reads, however
// many rows the range holds.
import fc from 'fast-check';
import { keyspacePrefix } from '../../lib/model/keys.js';
import { HASH_SPACE, hashToBytes } from '../../lib/partition/index.js';
import { MemoryKv, type OrderedKv } from '../../lib/repository/store.js';
import { medianHash, sumHashRange } from '../../lib/shard/hash-ranges.js';
import { PagedKv, type LeafLimits } from '../../lib/shard/paged-store.js';
import { Xoshiro128 } from '../../lib/random/prng.js';
import { medianByRowWalk, sumByRowWalk } from './median-oracle.js';
import { freshMaps } from './sorted-byte-map.js';

const KEYSPACES = [keyspacePrefix('notes'), keyspacePrefix('notes', 'byOwner'), keyspacePrefix('pages')];
const TOP = HASH_SPACE - 1n;

function storageKey(keyspace: Uint8Array, hash: bigint, rest: Uint8Array): Uint8Array {
  const key = new Uint8Array(keyspace.length + 8 + rest.length);
  key.set(keyspace);
  key.set(hashToBytes(hash), keyspace.length);
  key.set(rest, keyspace.length + 8);
  return key;
}

// A few hashes are shared by many rows (so one hash spans leaves); the ends of the space occur.
const hash = fc.oneof(
  { arbitrary: fc.bigInt({ min: 0n, max: TOP }), weight: 4 },
  { arbitrary: fc.constantFrom(0n, 1n, 2n ** 63n, TOP - 1n, TOP), weight: 2 },
  { arbitrary: fc.integer({ min: 0, max: 5 }).map((n) => BigInt(n) * 2n ** 61n), weight: 3 }
);
const row = fc.record({
  keyspace: fc.integer({ min: 0, max: KEYSPACES.length - 1 }),
  hash,
  rest: fc.uint8Array({ minLength: 0, maxLength: 6, max: 7 }),
  valueLength: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 60 }), weight: 9 }, { arbitrary: fc.integer({ min: 0, max: 3000 }), weight: 1 })
});
type Row = typeof row extends fc.Arbitrary<infer R> ? R : never;
const step = fc.oneof({ arbitrary: row.map((r) => ({ kind: 'set' as const, r })), weight: 6 }, { arbitrary: fc.nat().map((n) => ({ kind: 'delete' as const, n })), weight: 2 });
const range = fc.tuple(hash, hash).map(([a, b]) => (a <= b ? [a, b + 1n] : [b, a + 1n]) as [bigint, bigint]);

function apply(stores: OrderedKv[], steps: Array<{ kind: 'set'; r: Row } | { kind: 'delete'; n: number }>): void {
  const written: Uint8Array[] = [];
  for (const s of steps) {
    if (s.kind === 'set') {
      const key = storageKey(KEYSPACES[s.r.keyspace], s.r.hash, s.r.rest);
      for (const kv of stores) kv.set(key, new Uint8Array(s.r.valueLength).fill(7));
      written.push(key);
    } else if (written.length > 0) {
      const key = written[s.n % written.length];
      for (const kv of stores) kv.delete(key);
    }
  }
}

function agrees(kv: OrderedKv, ranges: Array<[bigint, bigint]>): void {
  for (const [start, end] of [[0n, HASH_SPACE] as [bigint, bigint], ...ranges]) {
    expect(medianHash(kv, start, end)).toBe(medianByRowWalk(kv, start, end));
    expect(sumHashRange(kv, start, end)).toEqual(sumByRowWalk(kv, start, end));
  }
}

function property(limits: Partial<LeafLimits>, maxRows: number, runs: number): void {
  fc.assert(
    fc.property(fc.array(step, { maxLength: maxRows, size: 'max' }), fc.array(range, { maxLength: 6 }), (steps, ranges) => {
      const paged = new PagedKv({ maps: freshMaps(), limits });
      const memory = new MemoryKv();
      apply([paged, memory], steps);
      paged.check();
      agrees(paged, ranges);
      agrees(memory, ranges);
    }),
    { numRuns: runs }
  );
}

test('the median and sums equal the row walk with tiny leaves (one hash across many leaves)', () => {
  property({ leafMaxKeys: 4, leafMaxBytes: 256, leafMergeBelowKeys: 1 }, 300, 150);
});

test('the median and sums equal the row walk with the default leaves', () => {
  property({}, 1500, 25);
});

test('a range whose rows all share one hash, or hold none, has no split point', () => {
  const kv = new PagedKv({ maps: freshMaps(), limits: { leafMaxKeys: 4, leafMergeBelowKeys: 1 } });
  for (let i = 0; i < 50; i++) kv.set(storageKey(KEYSPACES[i % 2], 42n, Uint8Array.of(i)), new Uint8Array(i));
  expect(medianHash(kv, 0n, HASH_SPACE)).toBeUndefined();
  expect(medianHash(kv, 43n, HASH_SPACE)).toBeUndefined();
  kv.set(storageKey(KEYSPACES[2], 41n, new Uint8Array(0)), new Uint8Array(1));
  expect(medianHash(kv, 0n, HASH_SPACE)).toBe(42n); // the heavy hash is the larger: it is the split point
  expect(medianByRowWalk(kv, 0n, HASH_SPACE)).toBe(42n);
});

test('PagedKv finds the split point of a large range with no value read and a bounded number of leaf reads', () => {
  const reads = (rows: number): { leaves: number; values: number; leafCount: number } => {
    const maps = freshMaps();
    const kv = new PagedKv({ maps });
    const rng = new Xoshiro128(rows);
    for (let i = 0; i < rows; i++) {
      const h = (BigInt(rng.nextU32()) << 32n) | BigInt(rng.nextU32());
      kv.set(storageKey(KEYSPACES[0], h, Uint8Array.of(i & 0xff)), new Uint8Array(100 + (i % 50)));
      if (i % 4 === 0) kv.set(storageKey(KEYSPACES[1], h, Uint8Array.of(i & 0xff)), new Uint8Array(0));
    }
    const [start, end] = [2n ** 60n, 2n ** 63n + 2n ** 61n];
    const expected = medianByRowWalk(kv, start, end);
    const before = { leaves: maps.leaves.calls.get, values: maps.values.calls.get };
    expect(medianHash(kv, start, end)).toBe(expected);
    return { leaves: maps.leaves.calls.get - before.leaves, values: maps.values.calls.get - before.values, leafCount: kv.leafCount() };
  };
  const small = reads(4_000);
  const large = reads(32_000);
  expect(large.leafCount).toBeGreaterThan(6 * small.leafCount);
  for (const r of [small, large]) {
    expect(r.values).toBe(0);
    expect(r.leaves).toBeLessThanOrEqual(24); // keyspaces found (3), range ends (4), cut leaves near the median, next and first hash (4)
  }
});
