// The request-status log on its own: statuses stay readable until their expiry plus the grace
// period and are pruned after it, whatever order calls expire in; replies are bounded; and sender keys are parsed by
// scheme, with canister signatures refused by name.
import { ED25519_OID, wrapDER } from '@dfinity/agent';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import { Principal } from '@dfinity/principal';
import { hexToBytes } from '@noble/hashes/utils';
import { RequestLog, STATUS_GRACE_NS } from '../../lib/replica/http/request-log.js';
import { parsePublicKey } from '../../lib/replica/http/signatures.js';

const id = (n: number) => new Uint8Array(32).fill(n);
const replied = { status: 'replied', reply: new Uint8Array([7]) } as const;

test('finished statuses are pruned once expiry + grace has passed, in any expiry order', () => {
  const log = new RequestLog();
  const sender = Principal.anonymous();
  const expiries = [500n, 100n, 300n];
  expiries.forEach((expiry, i) => log.accept(id(i), sender, expiry));
  log.accept(id(9), sender, 0n); // never finishes: never pruned
  expiries.forEach((_, i) => log.finish(id(i), replied));
  const tree = log.tree();

  log.prune(100n + STATUS_GRACE_NS); // not yet past the earliest deadline
  expect(log.size).toBe(4);
  expect(log.tree()).toBe(tree);
  log.prune(100n + STATUS_GRACE_NS + 1n);
  expect([log.get(id(1)), log.size]).toEqual([undefined, 3]);
  expect(log.tree().hash()).not.toEqual(tree.hash());
  log.prune(400n + STATUS_GRACE_NS);
  expect([log.get(id(2)), log.get(id(0))?.outcome, log.size]).toEqual([undefined, replied, 2]);

  log.accept(id(3), sender, 50n); // finishes later but expires before id(0)
  log.finish(id(3), replied);
  log.prune(50n + STATUS_GRACE_NS + 1n);
  expect([log.get(id(3)), log.size]).toEqual([undefined, 2]);
  log.prune(10n ** 18n);
  expect([log.get(id(0)), log.get(id(9))?.outcome, log.size]).toEqual([undefined, undefined, 1]);
});

test('over the reply-byte bound the oldest replies are dropped (status done), never the ids; full means 503', () => {
  const log = new RequestLog({ maxStatuses: 3, maxReplyBytes: 10 });
  const sender = Principal.anonymous();
  const reply = (bytes: number) => ({ status: 'replied', reply: new Uint8Array(bytes) }) as const;
  [0, 1, 2].forEach(i => log.accept(id(i), sender, 1_000n));
  log.finish(id(1), reply(6));
  log.finish(id(0), reply(4));
  expect([log.get(id(1))?.phase, log.get(id(0))?.phase]).toEqual(['finished', 'finished']);
  log.finish(id(2), reply(3)); // 13 bytes: the first finished (id 1) loses its reply
  expect([log.get(id(1))?.phase, log.get(id(1))?.outcome, log.get(id(0))?.outcome]).toEqual(['done', undefined, reply(4)]);
  expect(log.tree().witness('all')).toBeDefined();
  expect(() => log.accept(id(3), sender, 1_000n)).toThrow(expect.objectContaining({ status: 503 }));
  log.prune(1_000n + STATUS_GRACE_NS + 1n);
  expect(log.size).toBe(0);
  log.accept(id(3), sender, 1_000n);
});

test('sender keys are parsed by scheme; canister signatures are refused with what to use instead', () => {
  const der = new Uint8Array(Ed25519KeyIdentity.generate().getPublicKey().toDer());
  expect(parsePublicKey(der)).toMatchObject({ scheme: 'ed25519', raw: der.subarray(12) });
  const canisterSigOid = hexToBytes('300c060a2b0601040183b8430102');
  expect(() => parsePublicKey(wrapDER(new Uint8Array(40), canisterSigOid))).toThrow(/Canister signatures .* not supported.*Ed25519, secp256k1 or P-256/);
  expect(() => parsePublicKey(wrapDER(new Uint8Array(31), ED25519_OID))).toThrow(/Unsupported sender public key/);
});
