// CandidCodec against @dfinity/candid: for random shard requests and responses, encode is
// byte-identical to IDL.encode and decode equals IDL.decode; messages with another (compatible)
// type table, and malformed ones, take the full decoder's path and its answer.
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import fc from 'fast-check';
import { opToCandid, Reply, resultToCandid, ShardRequestIdl, ShardResponseIdl, type Op, type OpResult } from 'shardorm';
import { CandidCodec } from '../../lib/canister/fast-candid.js';

// Plain objects: @dfinity/candid calls hasOwnProperty on records.
const rec = <T extends object>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> => fc.record(model, { noNullPrototype: true }) as unknown as fc.Arbitrary<T>;
const bytes = fc.uint8Array({ maxLength: 40 });
const text = fc.string({ maxLength: 12 });
const hash = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const principal = fc.uint8Array({ minLength: 0, maxLength: 29 }).map((b) => Principal.fromUint8Array(b));

const op: fc.Arbitrary<Op> = fc.oneof(
  rec({ kind: fc.constant('get' as const), collection: text, hash, key: bytes }),
  rec({ kind: fc.constant('delete' as const), collection: text, hash, key: bytes }),
  rec({ kind: fc.constant('put' as const), collection: text, hash, key: bytes, value: bytes, mode: fc.constantFrom('insert' as const, 'upsert' as const) }),
  rec({ kind: fc.constant('update' as const), collection: text, hash, key: bytes, patch: bytes }),
  rec({ kind: fc.constant('scan' as const), collection: text, hash: fc.option(hash, { nil: undefined }), prefix: bytes, after: fc.option(bytes, { nil: undefined }), limit: fc.nat({ max: 2 ** 32 - 1 }) }),
  rec({ kind: fc.constant('count' as const), collection: text }),
  fc.constant({ kind: 'map' as const }),
);
const request = rec({ ops: fc.array(op, { maxLength: 6 }).map((ops) => ops.map(opToCandid)), hops: fc.nat({ max: 255 }), origin: fc.option(principal, { nil: undefined }).map((p) => (p === undefined ? [] : [p])) });

const result: fc.Arbitrary<OpResult> = fc.oneof(
  rec({ kind: fc.constant('value' as const), value: fc.option(bytes, { nil: undefined }) }),
  rec({ kind: fc.constant('deleted' as const), existed: fc.boolean() }),
  rec({ kind: fc.constant('rows' as const), rows: fc.array(fc.tuple(bytes, bytes), { maxLength: 3 }) }),
  rec({ kind: fc.constant('count' as const), count: fc.nat() }),
  fc.constant({ kind: 'moved' as const }),
  rec({ kind: fc.constant('retry' as const), reason: text }),
  rec({ kind: fc.constant('error' as const), error: rec({ code: text, message: text }) }),
);
const ReplyIdl = Reply(ShardResponseIdl);
const reply = fc.oneof(
  rec({ results: fc.array(result, { maxLength: 6 }).map((rs) => rs.map(resultToCandid)), epoch: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), newer_at: fc.option(principal, { nil: undefined }).map((p) => (p === undefined ? [] : [p])) }).map((ok) => ({ ok })),
  rec({ code: text, message: text }).map((err) => ({ err })),
);

const normal = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? Array.from(x) : x?._isPrincipal ? x.toText() : x)));

test.each([
  ['ShardRequest', ShardRequestIdl, request],
  ['Reply(ShardResponse)', ReplyIdl, reply],
] as const)('%s: encode is IDL.encode byte for byte, decode is IDL.decode', (_name, type, values) => {
  const codec = new CandidCodec([type]);
  fc.assert(
    fc.property(values as fc.Arbitrary<unknown>, (v) => {
      const reference = new Uint8Array(IDL.encode([type], [v]));
      expect(codec.encode([v])).toEqual(reference);
      expect(normal(codec.decode(reference))).toEqual(normal(IDL.decode([type], reference)));
    }),
    { numRuns: 300, seed: 7 },
  );
  expect(codec.stats).toEqual({ fast: 300, full: 0 }); // every canonical message took the fast path
});

test('another type table (a compatible subtype) and malformed messages take the full decoder', () => {
  const codec = new CandidCodec([ShardRequestIdl]);
  // A client that sends one more record field: still a valid ShardRequest by Candid subtyping.
  const wider = IDL.Record({ ...Object.fromEntries((ShardRequestIdl as IDL.RecordClass)._fields), extra: IDL.Text });
  const value = { ops: [opToCandid({ kind: 'count', collection: 'c' })], hops: 1, origin: [] };
  const message = new Uint8Array(IDL.encode([wider], [{ ...value, extra: 'x' }]));
  expect(normal(codec.decode(message))).toEqual(normal([value]));
  expect(codec.stats.full).toBe(1);
  // A type mismatch is refused as the full decoder refuses it.
  const wrong = new Uint8Array(IDL.encode([IDL.Record({ ops: IDL.Text, hops: IDL.Nat8 })], [{ ops: 'x', hops: 0 }]));
  expect(() => codec.decode(wrong)).toThrow();
  const canonical = codec.encode([{ ops: [opToCandid({ kind: 'count', collection: 'c' })], hops: 1, origin: [] }]);
  for (const cut of [1, 3, 7]) {
    const truncated = canonical.slice(0, canonical.length - cut);
    expect(() => codec.decode(truncated)).toThrow();
  }
  expect(() => codec.decode(Uint8Array.of(...canonical, 0))).toThrow(); // trailing bytes
});
