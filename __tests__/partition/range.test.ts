import fc from 'fast-check';
import { HASH_SPACE, PartitionError, partitionerFromJSON, RangePartitioner, type ShardRange } from '../../lib/partition/index.js';
import { assign, keyHashes, LONG, loads, maxOverMean } from './keys.js';

const HASHES = keyHashes(LONG ? 20_000 : 2_000);

/** Every range edge and its neighbours, so boundary keys are always exercised. */
function edgeHashes(p: RangePartitioner): bigint[] {
  return p.ranges().flatMap((r) => [r.start, r.start + 1n, r.end - 1n]).filter((h) => h >= 0n && h < HASH_SPACE);
}

/** Sorted, contiguous, covering [0, 2^64), and shardFor agrees with a linear scan. */
function expectWellFormed(p: RangePartitioner, hashes: readonly bigint[]): void {
  const rs = p.ranges();
  expect(rs[0].start).toBe(0n);
  expect(rs[rs.length - 1].end).toBe(HASH_SPACE);
  for (let i = 0; i < rs.length; i++) {
    expect(rs[i].start < rs[i].end).toBe(true);
    if (i > 0) expect(rs[i].start).toBe(rs[i - 1].end);
    expect(p.rangeOf(rs[i].shard)).toEqual(rs[i]);
  }
  expect(new Set(p.shards()).size).toBe(rs.length);
  const scan = (h: bigint) => rs.find((r: ShardRange) => r.start <= h && h < r.end)!.shard;
  expect(assign(p, hashes)).toEqual(hashes.map(scan));
}

type Op = { kind: 'split'; pick: number; at: bigint } | { kind: 'merge'; pick: number; right: boolean };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('split' as const), pick: fc.nat(), at: fc.bigInt({ min: 0n, max: HASH_SPACE }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('merge' as const), pick: fc.nat(), right: fc.boolean() }) },
);

describe('RangePartitioner properties', () => {
  test('split moves only the split shard keys, only to the new shard; merge moves only the merged shard keys', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: LONG ? 60 : 25 }), (ops) => {
        let p = RangePartitioner.single('s0');
        let next = 1;
        for (const op of ops) {
          const probe = [...HASHES, ...edgeHashes(p)];
          const before = assign(p, probe);
          const shards = p.shards();
          const shard = shards[op.pick % shards.length];
          let q: RangePartitioner;
          if (op.kind === 'split') {
            const { start, end } = p.rangeOf(shard);
            if (end - start < 2n) continue;
            const at = start + 1n + (op.at % (end - start - 1n)); // strictly inside
            const fresh = `s${next++}`;
            q = p.split(shard, at, fresh);
            const after = assign(q, [...probe, at - 1n, at]);
            const expected = probe.map((h, i) => (before[i] !== shard ? before[i] : h >= at ? fresh : shard));
            expect(after).toEqual([...expected, shard, fresh]);
          } else {
            if (shards.length < 2) continue;
            const i = shards.indexOf(shard);
            const into = shards[op.right ? (i + 1 < shards.length ? i + 1 : i - 1) : i > 0 ? i - 1 : i + 1];
            q = p.merge(shard, into);
            expect(assign(q, probe)).toEqual(before.map((s) => (s === shard ? into : s)));
            expect(q.shards()).not.toContain(shard);
          }
          expect(q.epoch).toBe(p.epoch + 1);
          expectWellFormed(q, probe);
          p = q;
        }
        const back = RangePartitioner.fromJSON(JSON.parse(JSON.stringify(p.toJSON())));
        expect(back.ranges()).toEqual(p.ranges());
        expect(back.epoch).toBe(p.epoch);
        expect(assign(partitionerFromJSON(p.toJSON()), HASHES)).toEqual(assign(p, HASHES));
      }),
      { numRuns: LONG ? 500 : 60 },
    );
  });

  test('operations are immutable: the old partitioner keeps its ranges and epoch', () => {
    const p = RangePartitioner.single('a');
    const q = p.split('a', 1n << 63n, 'b');
    expect(p.ranges()).toEqual([{ start: 0n, end: HASH_SPACE, shard: 'a' }]);
    expect(p.epoch).toBe(0);
    expect(q.epoch).toBe(1);
    expect(q.merge('b', 'a').ranges()).toEqual(p.ranges());
  });

  // Balance, stated: equal-width ranges give max/mean ≤ 1.12 when each shard expects ≥ 2,000 keys
  // (5σ of the binomial); growing by "split the fullest shard at its median" keeps max/min ≤ 2.
  test('balance: even() within 1.12 of the mean; median splits within 2x', () => {
    const hashes = keyHashes(64 * 2_000, 'balance');
    for (const n of [2, 7, 16, 64]) {
      const p = RangePartitioner.even(Array.from({ length: n }, (_, i) => `e${i}`));
      expect(maxOverMean(assign(p, hashes), p.shards())).toBeLessThanOrEqual(1.12);
    }
    const sample = hashes.slice(0, 32_000);
    let p = RangePartitioner.single('m0');
    for (let n = 1; n < 16; n++) {
      const load = loads(assign(p, sample));
      const fullest = [...load.entries()].sort((a, b) => b[1] - a[1])[0][0];
      const mine = sample.filter((h) => p.shardFor(h) === fullest).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      p = p.split(fullest, mine[mine.length >> 1], `m${n}`);
      const counts = [...loads(assign(p, sample)).values()];
      expect(counts.length).toBe(n + 1);
      expect(Math.max(...counts)).toBeLessThanOrEqual(2 * Math.min(...counts) + 1);
    }
  });

  test('even() splits the space into equal widths and single() owns everything', () => {
    expect(RangePartitioner.even(['a', 'b']).ranges()).toEqual([
      { start: 0n, end: 1n << 63n, shard: 'a' },
      { start: 1n << 63n, end: HASH_SPACE, shard: 'b' },
    ]);
    expect(RangePartitioner.single('x').shardFor(HASH_SPACE - 1n)).toBe('x');
  });
});

describe('RangePartitioner errors say what to do', () => {
  const p = RangePartitioner.even(['a', 'b', 'c']);
  const codeOf = (f: () => unknown) => {
    try { f(); } catch (e) { expect(e).toBeInstanceOf(PartitionError); return [(e as PartitionError).code, (e as Error).message]; }
    throw new Error('expected a PartitionError');
  };

  test('split point outside or on the edge of the range', () => {
    const { start, end } = p.rangeOf('b');
    for (const at of [start, end, start - 1n, end + 5n, 0n]) {
      const [code, msg] = codeOf(() => p.split('b', at, 'd'));
      expect(code).toBe('bad-split-point');
      expect(msg).toMatch(/pick a point in/);
    }
  });

  test('merging non-neighbours names the neighbours', () => {
    const [code, msg] = codeOf(() => p.merge('a', 'c'));
    expect(code).toBe('not-neighbours');
    expect(msg).toMatch(/merge into a neighbour of 'a' \(left: none, right: 'b'\)/);
    expect(codeOf(() => p.merge('a', 'a'))[0]).toBe('invalid-argument');
  });

  test('unknown shards, duplicate ids, out-of-range hashes', () => {
    expect(codeOf(() => p.rangeOf('zz'))).toEqual(['unknown-shard', expect.stringMatching(/refresh the partition map/)]);
    expect(codeOf(() => p.split('zz', 5n, 'd'))[0]).toBe('unknown-shard');
    expect(codeOf(() => p.merge('a', 'zz'))[0]).toBe('unknown-shard');
    expect(codeOf(() => p.split('a', 5n, 'b'))).toEqual(['duplicate-shard', expect.stringMatching(/use a fresh shard id/)]);
    expect(codeOf(() => p.shardFor(HASH_SPACE))[0]).toBe('hash-out-of-range');
    expect(codeOf(() => p.shardFor(-1n))[0]).toBe('hash-out-of-range');
    expect(codeOf(() => RangePartitioner.single(''))[0]).toBe('invalid-argument');
  });

  test('fromJSON rejects gaps, overlaps, bad numbers and wrong kinds', () => {
    const good = p.toJSON();
    const gap = { ...good, ranges: good.ranges.map((r, i) => (i === 1 ? { ...r, start: (BigInt(r.start) + 1n).toString() } : r)) };
    const short = { ...good, ranges: good.ranges.slice(0, 2) };
    const notNum = { ...good, ranges: good.ranges.map((r, i) => (i === 0 ? { ...r, end: '0x10' } : r)) };
    const dup = { ...good, ranges: good.ranges.map((r) => ({ ...r, shard: 'a' })) };
    for (const bad of [gap, short, notNum, dup, { ...good, kind: 'nope' }, { ...good, epoch: -1 }, null]) {
      expect(codeOf(() => RangePartitioner.fromJSON(bad as never))[0]).toBe('invalid-json');
    }
    expect(codeOf(() => partitionerFromJSON({ kind: 'x' } as never))[0]).toBe('invalid-json');
  });
});
