// The checker against histories that are linearizable by construction (a sequential reference
// store, stretched over concurrent clients, some outcomes unknown): every one must be accepted.
// And the same histories with one read corrupted must be rejected — so the acceptance above is
// not a checker that says yes to everything.
import fc from 'fast-check';
import { checkLinearizable, syntheticHistory, type History } from 'shardorm/testing';
import { Xoshiro128 } from '../../lib/random/prng.js';

const LONG = !!process.env.SHARDORM_LONG;

const params = fc.record({
  seed: fc.integer({ min: 0, max: 0x7fffffff }),
  operations: fc.integer({ min: 1, max: 80 }),
  clients: fc.integer({ min: 1, max: 8 }),
  keys: fc.integer({ min: 1, max: 4 }),
  unknownRate: fc.constantFrom(0, 0.05, 0.2),
});

function generate(p: { seed: number; operations: number; clients: number; keys: number; unknownRate: number }): History {
  return syntheticHistory({ ...p, random: new Xoshiro128(p.seed) });
}

test('thousands of concurrent histories stretched from a sequential run are all accepted', () => {
  fc.assert(
    fc.property(params, (p) => {
      const r = checkLinearizable(generate(p));
      if (r.ok !== true) throw new Error(r.ok === false ? r.explanation : r.explanation);
    }),
    { numRuns: LONG ? 50_000 : 3000 },
  );
});

test.each([
  ['without shrinking', false, 80, LONG ? 10_000 : 500],
  ['with the shrunk witness holding the read', true, 30, LONG ? 2000 : 100],
])('a read corrupted to a value nobody wrote is always caught (%s)', (_, shrink, operations, numRuns) => {
  fc.assert(
    fc.property(params.map((p) => ({ ...p, operations: Math.min(p.operations, operations) })), fc.nat(), (p, pick) => {
      const h = generate({ ...p, unknownRate: 0 });
      const reads = h.events.filter((e) => e.type === 'complete' && e.outcome === 'ok' && h.events.some((i) => i.type === 'invoke' && i.id === e.id && i.op === 'get'));
      fc.pre(reads.length > 0);
      const victim = reads[pick % reads.length];
      if (victim.type !== 'complete') throw new Error('unreachable');
      const original = victim.result;
      victim.result = { k: 'k0', x: -1, v: { $bigint: '1' } };
      const r = checkLinearizable(h, { shrink });
      expect(r.ok).toBe(false);
      if (r.ok === false) expect(r.ops.some((o) => o.id === victim.id)).toBe(true);
      victim.result = original;
      expect(checkLinearizable(h).ok).toBe(true);
    }),
    { numRuns },
  );
});

test('an acknowledged write turned into a lost one is caught when a later read is sequential to it', () => {
  // Sequential history (one client): every write is followed by reads that must see it.
  fc.assert(
    fc.property(params, (p) => {
      const h = generate({ ...p, clients: 1, unknownRate: 0 });
      const getOk = h.events.filter((e) => e.type === 'complete' && e.outcome === 'ok' && e.result !== null && typeof e.result === 'object');
      const reads = getOk.filter((e) => h.events.some((i) => i.type === 'invoke' && i.id === e.id && i.op === 'get'));
      fc.pre(reads.length > 0);
      const victim = reads[0];
      if (victim.type === 'complete') victim.result = null;
      expect(checkLinearizable(h, { shrink: false }).ok).toBe(false);
    }),
    { numRuns: LONG ? 5000 : 300 },
  );
});
