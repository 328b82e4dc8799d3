// PagedKv against the model it must equal (MemoryKv, a sorted array): random sets, deletes, gets,
// ranges, key-only ranges and range sums over prefix-heavy, empty and long keys and values up to
// 64 KiB, with every invariant checked after every step (check() recounts each leaf's sums against
// its directory entry) and "upgrades" (a new PagedKv over the same maps, so the heap directory and
// its sums are rebuilt from stable memory) at random points.
import fc from 'fast-check';
import { compareBytes } from '../../lib/model/keys.js';
import { MemoryKv } from '../../lib/repository/store.js';
import { keyString } from '../../lib/shard/paged-leaf.js';
import { PagedKv, MAX_KEY_BYTES, type LeafLimits } from '../../lib/shard/paged-store.js';
import { freshMaps } from './sorted-byte-map.js';

const MAX_TEST_VALUE_BYTES = 64 * 1024;

// Short keys over a tiny alphabet collide, share prefixes and include the empty key; a few are long.
const shortKey = fc.uint8Array({ minLength: 0, maxLength: 5, min: 0, max: 3 });
const longKey = fc.tuple(shortKey, fc.integer({ min: 1, max: MAX_KEY_BYTES }), fc.integer({ min: 0, max: 255 })).map(([prefix, length, fill]) => {
  const key = new Uint8Array(Math.max(length, prefix.length)).fill(fill);
  key.set(prefix);
  return key;
});
const key = fc.oneof({ arbitrary: shortKey, weight: 12 }, { arbitrary: longKey, weight: 1 });
const valueLength = fc.oneof({ arbitrary: fc.integer({ min: 0, max: 24 }), weight: 20 }, { arbitrary: fc.integer({ min: 0, max: MAX_TEST_VALUE_BYTES }), weight: 1 });

type Op =
  | { kind: 'set'; key: Uint8Array; length: number; fill: number }
  | { kind: 'delete'; key: Uint8Array }
  | { kind: 'get'; key: Uint8Array }
  | { kind: 'range' | 'keys'; lo: Uint8Array; hi: Uint8Array; limit: number }
  | { kind: 'sums'; lo: Uint8Array; hi: Uint8Array }
  | { kind: 'upgrade' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('set' as const), key, length: valueLength, fill: fc.integer({ min: 0, max: 255 }) }), weight: 10 },
  { arbitrary: fc.record({ kind: fc.constant('delete' as const), key }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant('get' as const), key }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constantFrom('range' as const, 'keys' as const), lo: key, hi: key, limit: fc.integer({ min: 0, max: 40 }) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('sums' as const), lo: key, hi: key }), weight: 2 },
  { arbitrary: fc.constant({ kind: 'upgrade' as const }), weight: 1 }
);

const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/** sumsInRange against the model: the sums are ordered, disjoint, inside [lo, hi), each exactly the model's keys in its bounds, together all of them. */
function expectSums(kv: PagedKv, model: MemoryKv, lo: Uint8Array, hi: Uint8Array): void {
  const sums = kv.sumsInRange(lo, hi);
  const keysIn = (a: Uint8Array, b: Uint8Array) => model.keysInRange(a, b, NO_LIMIT);
  const bytesOf = (keys: [Uint8Array, number][]) => keys.reduce((t, [k, n]) => t + k.length + n, 0);
  let covered = 0;
  for (const [i, s] of sums.entries()) {
    expect(compareBytes(s.lo, lo) >= 0 && compareBytes(s.hi, hi) <= 0 && compareBytes(s.lo, s.hi) < 0).toBe(true);
    if (i > 0) expect(compareBytes(sums[i - 1].hi, s.lo)).toBeLessThanOrEqual(0);
    const keys = keysIn(s.lo, s.hi);
    expect([s.entries, s.bytes]).toEqual([keys.length, bytesOf(keys)]);
    expect([s.loText, s.hiText]).toEqual([keyString(s.lo), keyString(s.hi)]);
    expect(s.entries).toBeGreaterThan(0);
    covered += s.entries;
  }
  expect(covered).toBe(compareBytes(lo, hi) < 0 ? keysIn(lo, hi).length : 0);
}

function run(ops: Op[], limits: Partial<LeafLimits>): void {
  const maps = freshMaps();
  let kv = new PagedKv({ maps, limits });
  const model = new MemoryKv();
  for (const o of ops) {
    switch (o.kind) {
      case 'set': {
        const value = new Uint8Array(o.length).fill(o.fill);
        expect(kv.set(o.key, value)).toEqual(model.set(o.key, value));
        break;
      }
      case 'delete':
        expect(kv.delete(o.key)).toEqual(model.delete(o.key));
        break;
      case 'get':
        expect(kv.get(o.key)).toEqual(model.get(o.key));
        break;
      case 'range':
        expect(kv.range(o.lo, o.hi, o.limit)).toEqual(model.range(o.lo, o.hi, o.limit));
        break;
      case 'keys':
        expect(kv.keysInRange(o.lo, o.hi, o.limit)).toEqual(model.keysInRange(o.lo, o.hi, o.limit));
        break;
      case 'sums':
        expectSums(kv, model, o.lo, o.hi);
        break;
      case 'upgrade':
        kv = new PagedKv({ maps, limits });
        break;
    }
    kv.check();
    expect([kv.size(), kv.bytes()]).toEqual([model.size(), model.bytes()]);
  }
  // After a final "upgrade" the whole content reads back identically.
  const all = [new Uint8Array(0), new Uint8Array(MAX_KEY_BYTES + 1).fill(255)] as const;
  const before = kv.range(all[0], all[1], Number.MAX_SAFE_INTEGER);
  expect(before).toEqual(model.range(all[0], all[1], Number.MAX_SAFE_INTEGER));
  const upgraded = new PagedKv({ maps, limits });
  expect(upgraded.range(all[0], all[1], Number.MAX_SAFE_INTEGER)).toEqual(before);
  expect(upgraded.keysInRange(all[0], all[1], Number.MAX_SAFE_INTEGER)).toEqual(model.keysInRange(all[0], all[1], Number.MAX_SAFE_INTEGER));
  upgraded.check();
  expectSums(upgraded, model, all[0], all[1]);
}

test('PagedKv equals MemoryKv with tiny leaves (frequent splits, merges and drops)', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 250 }), (ops) => run(ops, { leafMaxKeys: 4, leafMaxBytes: 256, leafMergeBelowKeys: 2 })),
    { numRuns: 150 }
  );
});

test('PagedKv equals MemoryKv with the default leaf limits', () => {
  fc.assert(fc.property(fc.array(op, { maxLength: 400 }), (ops) => run(ops, {})), { numRuns: 40 });
});
