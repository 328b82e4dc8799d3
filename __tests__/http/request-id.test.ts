// The replica's request-id hash agrees with @dfinity/agent's `requestIdOf` on every content shape
// an envelope can carry, and refuses values the hash does not define.
import { requestIdOf } from '@dfinity/agent';
import fc from 'fast-check';
import { HttpInterfaceError } from '../../lib/replica/http/errors.js';
import { hashOfMap } from '../../lib/replica/http/request-id.js';

const value = fc.letrec(tie => ({
  leaf: fc.oneof(fc.string(), fc.uint8Array({ maxLength: 40 }), fc.nat(), fc.bigInt({ min: 0n, max: 2n ** 70n })),
  any: fc.oneof({ depthSize: 'small' }, tie('leaf'), fc.array(tie('any'), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 8 }), tie('any'), { maxKeys: 4 }))
})).any;

test('hashOfMap equals the agent\'s requestIdOf', () => {
  fc.assert(
    fc.property(fc.dictionary(fc.string({ maxLength: 12 }), value, { maxKeys: 8 }), map => {
      expect(Buffer.from(hashOfMap(map))).toEqual(Buffer.from(requestIdOf(map as never)));
    }),
    { numRuns: process.env.SHARDORM_LONG ? 5000 : 300, seed: 11 }
  );
  const call = { request_type: 'call', canister_id: new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1, 1, 1]), method_name: 'inc', arg: new Uint8Array(), sender: new Uint8Array([4]), ingress_expiry: 1_800_000_000_000_000_000n, nonce: undefined };
  expect(Buffer.from(hashOfMap(call))).toEqual(Buffer.from(requestIdOf(call as never)));
});

test.each([['a boolean', true], ['null', null], ['a negative number', -1], ['a float', 1.5]])('%s is refused with 400 naming the field', (_name, bad) => {
  expect(() => hashOfMap({ ok: 'x', field: bad })).toThrow(HttpInterfaceError);
  expect(() => hashOfMap({ ok: 'x', field: bad })).toThrow(/Field "field"/);
});
