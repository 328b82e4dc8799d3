// IngressQueue on its own: calls accepted together form one round within the IC's per-round
// limits, the round is certified once, late outcomes are certified when they come, and an engine
// that throws leaves its calls processing (reported, never crashing the server).
import { Principal } from '@dfinity/principal';
import { CertifiedState } from '../../lib/replica/http/certificate.js';
import type { AuthenticatedRequest } from '../../lib/replica/http/envelope.js';
import { IngressQueue, MAX_CERTIFICATION_WAIT_MS } from '../../lib/replica/http/ingress-queue.js';
import { deriveReplicaKeys } from '../../lib/replica/http/keys.js';
import { RequestLog } from '../../lib/replica/http/request-log.js';
import { stateContent, subnetTrees } from '../../lib/replica/http/state-tree.js';
import { type CallOutcome, type IngressBackend, type IngressMessage, MAX_INGRESS_BYTES, MAX_INGRESS_BYTES_PER_ROUND, MAX_INGRESS_MESSAGES_PER_ROUND } from '../../lib/replica/ingress.js';

const replied: CallOutcome = { status: 'replied', reply: new Uint8Array([1]) };
const canister = Principal.fromText('rwlgt-iiaaa-aaaaa-aaaaa-cai');
const nextTurn = () => new Promise(resolve => setImmediate(resolve));

function setup(execute: IngressBackend['executeIngress']) {
  const backend = { executeIngress: execute, canisterIds: () => [], canisterInfo: () => undefined, timeNs: () => 1_000n } as unknown as IngressBackend;
  const log = new RequestLog({ maxStatuses: 10_000 });
  const keys = deriveReplicaKeys('ingress-queue');
  const certified = new CertifiedState(stateContent(backend, subnetTrees(keys), log), keys.blsSecretKey, () => 1_000n);
  /** Every distinct BLS signature the queue had made. */
  const signatures = new Set<Uint8Array>();
  const certify = certified.certify.bind(certified);
  certified.certify = () => {
    const result = certify();
    signatures.add(result.signature);
    return result;
  };
  const errors: unknown[] = [];
  const queue = new IngressQueue({ backend, log, certified, onEngineError: error => errors.push(error) });
  let n = 0;
  const submit = (argBytes = 0, sender = Principal.anonymous()): AuthenticatedRequest => {
    const requestId = new Uint8Array(32);
    new DataView(requestId.buffer).setUint32(0, ++n);
    const request: AuthenticatedRequest = { requestType: 'call', requestId, sender, ingressExpiryNs: 10n ** 12n, canisterId: canister, methodName: 'm', arg: new Uint8Array(argBytes) };
    const message: IngressMessage = { sender: request.sender, canisterId: canister, methodName: 'm', arg: request.arg!, effectiveCanisterId: canister };
    queue.accept(request, message);
    return request;
  };
  return { queue, log, submit, errors, signatures };
}

test('calls accepted together run as one round, split at the per-round message and byte limits', async () => {
  const batches: number[] = [];
  const { submit } = setup((messages, settle) => {
    batches.push(messages.length);
    messages.forEach((_, i) => settle(i, replied));
  });
  for (let i = 0; i < MAX_INGRESS_MESSAGES_PER_ROUND + 500; i++) submit();
  await nextTurn();
  await nextTurn();
  expect(batches).toEqual([MAX_INGRESS_MESSAGES_PER_ROUND, 500]);

  batches.length = 0;
  const perRound = MAX_INGRESS_BYTES_PER_ROUND / MAX_INGRESS_BYTES;
  for (let i = 0; i < perRound + 1; i++) submit(MAX_INGRESS_BYTES);
  await nextTurn();
  await nextTurn();
  expect(batches).toEqual([perRound, 1]);
});

test('a round is certified once, after every outcome of it is recorded; late outcomes when they come', async () => {
  let late: (() => void) | undefined;
  const { submit, queue, log, signatures } = setup((messages, settle) => {
    messages.forEach((message, i) => (message.arg.length === 0 ? settle(i, replied) : (late = () => settle(i, replied))));
  });
  const [a, b, slow] = [submit(), submit(), submit(1)];
  const waits = [a, b].map(request => queue.waitForCertified(request.requestId, 1_000));
  expect(await Promise.all(waits)).toEqual([true, true]);
  expect([log.get(a.requestId)?.phase, log.get(slow.requestId)?.phase]).toEqual(['finished', 'processing']);
  expect(signatures.size).toBe(1);
  const waitingSlow = queue.waitForCertified(slow.requestId, 1_000);
  late!();
  expect(await waitingSlow).toBe(true);
  expect([log.get(slow.requestId)?.phase, signatures.size]).toEqual(['finished', 2]);
});

test('an engine that throws is reported; its calls stay processing and waiting times out', async () => {
  const { submit, queue, log, errors } = setup(() => {
    throw new Error('engine exploded');
  });
  const request = submit();
  expect(await queue.waitForCertified(request.requestId, 50)).toBe(false);
  expect(errors).toEqual([expect.objectContaining({ message: 'engine exploded' })]);
  expect(log.get(request.requestId)?.phase).toBe('processing');
});

test('calls that arrive while a round runs form the next round, and one signature covers both', async () => {
  const batches: number[] = [];
  let arriving = 1;
  const { submit, queue, signatures } = setup((messages, settle) => {
    batches.push(messages.length);
    messages.forEach((_, i) => settle(i, replied));
    if (arriving-- > 0) submit(); // a call that came in over the network meanwhile
  });
  const first = [submit(), submit()];
  expect(await Promise.all(first.map(request => queue.waitForCertified(request.requestId, 1_000)))).toEqual([true, true]);
  expect([batches, signatures.size]).toEqual([[2, 1], 1]);
});

test('a certification waits, within its bound, until every caller seen lately has a call in it', async () => {
  const { submit, queue, signatures } = setup((messages, settle) => messages.forEach((_, i) => settle(i, replied)));
  const [alice, bob] = [1, 2].map(n => Principal.selfAuthenticating(new Uint8Array(32).fill(n)));
  const both = [submit(0, alice), submit(0, bob)]; // both callers are active now
  expect(await Promise.all(both.map(request => queue.waitForCertified(request.requestId, 1_000)))).toEqual([true, true]);
  const signed = signatures.size;
  // Alice calls again; bob is probably sending his next call: her certificate waits for it ...
  const again = submit(0, alice);
  expect(await queue.waitForCertified(again.requestId, MAX_CERTIFICATION_WAIT_MS / 5)).toBe(false);
  const late = submit(0, bob);
  // ... and one signature covers both.
  expect(await Promise.all([again, late].map(request => queue.waitForCertified(request.requestId, 1_000)))).toEqual([true, true]);
  expect(signatures.size).toBe(signed + 1);
  // Bob stopped calling: alice's next call is certified without him once the wait ends.
  const alone = submit(0, alice);
  expect(await queue.waitForCertified(alone.requestId, 1_000)).toBe(true);
  expect(signatures.size).toBe(signed + 2);
});
