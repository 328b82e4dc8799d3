// Ingress over HTTP runs in rounds on real Wasm (the http_probe Azle canister), through a stock
// agent: canister_inspect_message runs once per call, and calls that arrive together execute in
// one round whose single signed state certifies all their replies.
import { Cbor, polling } from '@dfinity/agent';
import { IDL } from '@dfinity/candid';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import { serveProbe, type ServedProbe } from './probe-canister.js';

const CONCURRENT_CALLS = 8;
/** Rounds start at most this often here (a block time), so calls sent together meet in one round. */
const ROUND_INTERVAL_MS = 1_000;
const inspected: string[] = [];
let served: ServedProbe;

beforeAll(async () => {
  served = await serveProbe({
    server: { roundIntervalMs: ROUND_INTERVAL_MS },
    onCanisterLog: (_id, line) => {
      if (line.includes('inspect_message')) inspected.push(line);
    }
  });
}, 180_000);
afterAll(() => served.close());

test('canister_inspect_message runs once per update call, v3 and v2 + polling alike', async () => {
  const agent = await served.agentFor(Ed25519KeyIdentity.generate());
  const actor = await served.actorFor(Ed25519KeyIdentity.generate());
  inspected.length = 0;
  await actor.inc();
  expect(inspected).toEqual([expect.stringContaining('inspect_message inc')]);

  inspected.length = 0;
  const { requestId } = await agent.call(served.canisterId, { methodName: 'inc', arg: IDL.encode([], []), callSync: false });
  await polling.pollForResponse(agent, served.canisterId, requestId, { strategy: polling.strategy.conditionalDelay(async () => true, 10) });
  expect(inspected).toEqual([expect.stringContaining('inspect_message inc')]);

  inspected.length = 0;
  await actor.get(); // queries are not inspected
  await expect(actor.refusedByInspect()).rejects.toThrow(/rejected the message/);
  expect(inspected).toEqual([expect.stringContaining('inspect_message refusedByInspect')]);
});

test('calls arriving together execute in one round and share its one signed certificate', async () => {
  const agents = await Promise.all(Array.from({ length: CONCURRENT_CALLS }, () => served.agentFor(Ed25519KeyIdentity.generate())));
  const actor = await served.actorFor();
  await actor.inc(); // a round has just run: the next starts ROUND_INTERVAL_MS after it
  const before = await actor.get();
  const responses = await Promise.all(agents.map(agent => agent.call(served.canisterId, { methodName: 'inc', arg: IDL.encode([], []) })));
  const certificates = responses.map(({ response }) => (response.body as unknown as { certificate: Uint8Array }).certificate);
  const signatures = new Set(certificates.map(certificate => Buffer.from(Cbor.decode<{ signature: Uint8Array }>(certificate).signature).toString('hex')));
  expect(signatures.size).toBe(1);
  expect(await (await served.actorFor()).get()).toBe(before + BigInt(CONCURRENT_CALLS));
});
