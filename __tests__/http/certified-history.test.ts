// Certificates cut from the request statuses' persistent trie (lib/replica/http/label-trie.ts) on
// real Wasm, checked by the stock agent with BLS verification on: a v3 reply's certificate, signed
// for its round, still verifies and still shows its reply after later rounds changed the statuses;
// a later read_state of that request id, answered from a later round's tree, verifies as well;
// and an id never sent is provably absent (not merely unknown).
import { Certificate, lookupResultToBuffer, LookupPathStatus, type HttpAgent } from '@dfinity/agent';
import { IDL } from '@dfinity/candid';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import { serveProbe, type ServedProbe } from './probe-canister.js';

/** Rounds run between the first call and the checks (each changes the statuses' trie). */
const LATER_ROUNDS = 6;
const CALLS_PER_ROUND = 4;
let served: ServedProbe;

beforeAll(async () => {
  served = await serveProbe();
}, 180_000);
afterAll(() => served.close());

const utf8 = (text: string) => new TextEncoder().encode(text);
const inc = (agent: HttpAgent) => agent.call(served.canisterId, { methodName: 'inc', arg: IDL.encode([], []) });

async function verified(agent: HttpAgent, certificate: Uint8Array): Promise<Certificate> {
  return Certificate.create({ certificate, rootKey: agent.rootKey!, canisterId: served.canisterId });
}

test('a reply certificate stays valid after later rounds, and read_state of its id answered from a later tree verifies and shows the same reply', async () => {
  const agent = await served.agentFor(Ed25519KeyIdentity.generate());
  const first = await inc(agent);
  const firstCertificate = (first.response.body as unknown as { certificate: Uint8Array }).certificate;
  const replyPath = [utf8('request_status'), new Uint8Array(first.requestId), utf8('reply')];
  const reply = lookupResultToBuffer((await verified(agent, firstCertificate)).lookup_path(replyPath));
  expect(reply).toBeDefined();

  const others = await Promise.all(Array.from({ length: CALLS_PER_ROUND }, () => served.agentFor(Ed25519KeyIdentity.generate())));
  for (let round = 0; round < LATER_ROUNDS; round++) await Promise.all(others.map(inc));

  // The old certificate is still a valid witness of the state its round signed.
  expect(lookupResultToBuffer((await verified(agent, firstCertificate)).lookup_path(replyPath))).toEqual(reply);
  // A fresh read_state: another round's signature over a tree holding many more statuses.
  const { certificate } = await agent.readState(served.canisterId, { paths: [[utf8('request_status'), new Uint8Array(first.requestId)]] });
  expect(Buffer.from(certificate).equals(Buffer.from(firstCertificate))).toBe(false);
  const later = await verified(agent, certificate);
  expect(lookupResultToBuffer(later.lookup_path(replyPath))).toEqual(reply);
  expect(new TextDecoder().decode(lookupResultToBuffer(later.lookup_path([utf8('request_status'), new Uint8Array(first.requestId), utf8('status')])))).toBe('replied');

  // An id nobody sent: the witness proves it absent. (Its first byte is all zeros, so it sorts
  // before every stored id, a case the agent's byte-wise label comparison gets right.)
  const unsent = new Uint8Array(32);
  const { certificate: absence } = await agent.readState(served.canisterId, { paths: [[utf8('request_status'), unsent]] });
  expect((await verified(agent, absence)).lookup_path([utf8('request_status'), unsent, utf8('status')]).status).toBe(LookupPathStatus.Absent);
});
