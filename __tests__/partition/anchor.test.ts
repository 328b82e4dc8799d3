import fc from 'fast-check';
import {
  AnchorHashPartitioner,
  HASH_SPACE,
  MAX_ANCHOR_CAPACITY,
  PartitionError,
  partitionerFromJSON,
  type PartitionChange,
} from '../../lib/partition/index.js';
import { assign, keyHashes, LONG, loads, maxOverMean } from './keys.js';

const HASHES = [...keyHashes(LONG ? 20_000 : 2_000), 0n, 1n, HASH_SPACE - 1n, (1n << 32n) - 1n, 1n << 32n];
const ids = (n: number, p = 's') => Array.from({ length: n }, (_, i) => `${p}${i}`);

/** Rebuilds a partitioner from its creation and change log through the public add/remove calls. */
function replay(capacity: number, shards: string[], log: PartitionChange[]): AnchorHashPartitioner {
  return log.reduce((p, c) => (c.op === 'add' ? p.addShard(c.shard) : p.removeShard(c.shard)), AnchorHashPartitioner.create({ capacity, shards }));
}

type Op = { kind: 'add' } | { kind: 'remove'; pick: number };
const opArb: fc.Arbitrary<Op> = fc.oneof(fc.constant({ kind: 'add' as const }), fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }));

describe('AnchorHashPartitioner properties', () => {
  test('add moves keys only to the new shard, remove moves only the removed shard keys, in any order; the log replays', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 48 }), fc.nat(), fc.array(opArb, { maxLength: LONG ? 80 : 30 }), (capacity, w, ops) => {
        const initial = ids(1 + (w % capacity));
        let p = AnchorHashPartitioner.create({ capacity, shards: initial });
        let next = 0;
        for (const op of ops) {
          const before = assign(p, HASHES);
          const shards = p.shards();
          if (op.kind === 'add') {
            const fresh = `n${next++}`;
            if (shards.length === capacity) {
              expect(() => p.addShard(fresh)).toThrow(expect.objectContaining({ code: 'capacity-full' }));
              continue;
            }
            const q = p.addShard(fresh);
            const after = assign(q, HASHES);
            expect(after.filter((s, i) => s !== before[i] && s !== fresh)).toEqual([]);
            expect(q.shards().sort()).toEqual([...shards, fresh].sort());
            expect(q.epoch).toBe(p.epoch + 1);
            p = q;
          } else {
            const gone = shards[op.pick % shards.length];
            if (shards.length === 1) {
              expect(() => p.removeShard(gone)).toThrow(expect.objectContaining({ code: 'last-shard' }));
              continue;
            }
            const q = p.removeShard(gone);
            const after = assign(q, HASHES);
            expect(after.filter((s, i) => (before[i] === gone ? s === gone : s !== before[i]))).toEqual([]);
            expect(q.shards().sort()).toEqual(shards.filter((s) => s !== gone).sort());
            p = q;
          }
        }
        const expected = assign(p, HASHES);
        const replayed = replay(capacity, initial, p.changeLog());
        expect(replayed.toJSON()).toEqual(p.toJSON());
        expect(assign(replayed, HASHES)).toEqual(expected);
        const shipped = partitionerFromJSON(JSON.parse(JSON.stringify(p.toJSON())));
        expect(shipped.epoch).toBe(p.epoch);
        expect(assign(shipped, HASHES)).toEqual(expected);
      }),
      { numRuns: LONG ? 400 : 40 },
    );
  });

  test('remove then add restores the mapping exactly (LIFO bucket reuse), under the new name', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 40 }), fc.nat(), (n, pick) => {
        const p = AnchorHashPartitioner.create({ capacity: 2 * n, shards: ids(n) });
        const gone = `s${pick % n}`;
        const before = assign(p, HASHES);
        const back = assign(p.removeShard(gone).addShard('fresh'), HASHES);
        expect(back).toEqual(before.map((s) => (s === gone ? 'fresh' : s)));
      }),
      { numRuns: LONG ? 200 : 20 },
    );
  });

  test('immutable: operations leave the original untouched', () => {
    const p = AnchorHashPartitioner.create({ capacity: 8, shards: ['a', 'b'] });
    const before = assign(p, HASHES);
    p.addShard('c').removeShard('a');
    expect(assign(p, HASHES)).toEqual(before);
    expect(p.epoch).toBe(0);
    expect(p.changeLog()).toEqual([]);
  });

  // Balance, stated: with M ≥ 2,000·N uniformly hashed keys, every shard's load is within 12% of the
  // mean (max/mean ≤ 1.12, min/mean ≥ 0.88: about 5σ of the binomial), whatever add/remove
  // history led to the N working shards (AnchorHash is exactly uniform given a uniform hash).
  test.each([
    [2, 8, 0],
    [5, 5, 0],
    [16, 64, 12],
    [64, 256, 40],
  ])('balance: %i shards, capacity %i, %i churn steps', (n, capacity, churn) => {
    const hashes = keyHashes(2_000 * n, `bal${n}`);
    let p = AnchorHashPartitioner.create({ capacity, shards: ids(n) });
    for (let i = 0; i < churn; i++) {
      const victim = p.shards()[(i * 7919) % p.shards().length];
      p = i % 2 === 0 ? p.removeShard(victim).addShard(`c${i}`) : p.addShard(`c${i}`).removeShard(victim);
    }
    expect(p.shards()).toHaveLength(n);
    const owners = assign(p, hashes);
    expect(maxOverMean(owners, p.shards())).toBeLessThanOrEqual(1.12);
    const counts = loads(owners);
    expect(Math.min(...p.shards().map((s) => counts.get(s) ?? 0)) / (hashes.length / n)).toBeGreaterThanOrEqual(0.88);
  });
});

describe('AnchorHashPartitioner errors say what to do', () => {
  const p = AnchorHashPartitioner.create({ capacity: 3, shards: ['a', 'b'] });
  const err = (f: () => unknown): PartitionError => {
    try { f(); } catch (e) { expect(e).toBeInstanceOf(PartitionError); return e as PartitionError; }
    throw new Error('expected a PartitionError');
  };

  test('capacity full, last shard, unknown and duplicate shards', () => {
    expect(err(() => p.addShard('c').addShard('d'))).toMatchObject({ code: 'capacity-full', message: expect.stringMatching(/remove a shard first/) });
    expect(err(() => p.removeShard('a').removeShard('b'))).toMatchObject({ code: 'last-shard', message: expect.stringMatching(/add another shard first/) });
    expect(err(() => p.removeShard('zz'))).toMatchObject({ code: 'unknown-shard', message: expect.stringMatching(/refresh the partition map/) });
    expect(err(() => p.removeShard('a').removeShard('a')).code).toBe('unknown-shard');
    expect(err(() => p.addShard('b'))).toMatchObject({ code: 'duplicate-shard', message: expect.stringMatching(/fresh shard id/) });
    expect(err(() => p.shardFor(HASH_SPACE)).code).toBe('hash-out-of-range');
  });

  test('bad creation arguments', () => {
    for (const capacity of [0, 1.5, MAX_ANCHOR_CAPACITY + 1, NaN]) {
      expect(err(() => AnchorHashPartitioner.create({ capacity, shards: ['a'] })).code).toBe('invalid-argument');
    }
    expect(err(() => AnchorHashPartitioner.create({ capacity: 1, shards: ['a', 'b'] })).code).toBe('invalid-argument');
    expect(err(() => AnchorHashPartitioner.create({ capacity: 4, shards: [] })).code).toBe('invalid-argument');
    expect(err(() => AnchorHashPartitioner.create({ capacity: 4, shards: ['a', 'a'] })).code).toBe('duplicate-shard');
  });

  test('fromJSON rejects corrupt logs', () => {
    const good = p.addShard('c').removeShard('a').toJSON();
    expect(AnchorHashPartitioner.fromJSON(good).shards().sort()).toEqual(['b', 'c']);
    const cases = [
      { ...good, epoch: 5 },
      { ...good, changes: [...good.changes, { op: 'remove', shard: 'nope' }], epoch: 3 },
      { ...good, changes: [{ op: 'rename', shard: 'x' }], epoch: 1 },
      { ...good, capacity: 1 },
      { ...good, kind: 'range' },
      null,
    ];
    for (const bad of cases) expect(err(() => AnchorHashPartitioner.fromJSON(bad as never)).code).toBe('invalid-json');
  });
});
