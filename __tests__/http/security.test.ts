// The HTTP interface's security properties on real Wasm (the http_probe Azle canister) through a
// stock @dfinity/agent: no signed request runs twice within its expiry, whatever else arrives;
// read_state never reveals other senders' statuses; delegation chains with a repeated key,
// bodies with bytes after the envelope, floats, wrong methods and dropped clients all get a clear
// answer (or none) without executing anything or reaching the engine-error log.
import { Cbor, type HttpAgentOptions, requestIdOf } from '@dfinity/agent';
import { IDL } from '@dfinity/candid';
import { DelegationChain, DelegationIdentity, Ed25519KeyIdentity } from '@dfinity/identity';
import { Principal } from '@dfinity/principal';
import { connect } from 'node:net';
import { serveProbe, type ServedProbe } from './probe-canister.js';

const MAX_STATUSES = 30;
const SECOND_MS = 1_000;
/** How far the replay test's replica clock runs ahead of the wall clock. */
let clockOffsetMs = 0;
const engineErrors: unknown[] = [];
let served: ServedProbe;

beforeAll(async () => {
  served = await serveProbe({ server: { onEngineError: error => engineErrors.push(error) } });
}, 180_000);
afterAll(() => served.close());
afterEach(() => expect(engineErrors).toEqual([]));

const post = async (path: string, body: Uint8Array, to = served) => {
  const response = await fetch(to.server.url + path, { method: 'POST', body: Buffer.from(body), headers: { 'Content-Type': 'application/cbor' } });
  return { status: response.status, text: response.headers.get('content-type')?.startsWith('text/') ? await response.text() : '' };
};
const callPath = (to = served) => `/api/v3/canister/${to.canisterId.toText()}/call`;

/** An agent that records the body of every call it sends. */
function recordingAgentOptions(bodies: Uint8Array[]): Partial<HttpAgentOptions> {
  return {
    retryTimes: 0,
    fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
      if (String(input).endsWith('/call')) bodies.push(new Uint8Array(init!.body as Uint8Array));
      return fetch(input, init);
    }) as typeof fetch
  };
}

/** A signed call envelope for `inc`, built by the agent's identity, expiring `ttlMs` after replica time. */
async function signedInc(identity: Ed25519KeyIdentity, to = served, ttlMs = 120 * SECOND_MS): Promise<Uint8Array> {
  const content = {
    request_type: 'call',
    canister_id: to.canisterId,
    method_name: 'inc',
    arg: new Uint8Array(IDL.encode([], [])),
    sender: identity.getPrincipal(),
    ingress_expiry: BigInt(Date.now() + clockOffsetMs + ttlMs) * 1_000_000n,
    nonce: crypto.getRandomValues(new Uint8Array(16))
  };
  const { body } = (await identity.transformRequest({ request: {}, endpoint: 'call', body: content } as never)) as { body: unknown };
  return Cbor.encode(body);
}

test('a replayed signed call never runs twice, even once the status store is full; when full, new calls get 503', async () => {
  // Its own replica: a small status store, and a clock this test moves 7 minutes ahead.
  const small = await serveProbe({ server: { clock: () => Date.now() + clockOffsetMs, requestLog: { maxStatuses: MAX_STATUSES }, onEngineError: error => engineErrors.push(error) } });
  try {
    const bodies: Uint8Array[] = [];
    const actor = await small.actorFor(small.owner, recordingAgentOptions(bodies));
    const first = await actor.inc();
    const replayed = bodies[0];
    expect((await post(callPath(small), replayed, small)).status).toBe(200);
    expect(await actor.get()).toBe(first);

    // Fill the store with other calls (deploying took 2 statuses, the first inc 1).
    const others = MAX_STATUSES - 3;
    for (let i = 0; i < others; i++) await actor.inc();
    expect(await actor.get()).toBe(first + BigInt(others));
    await expect(actor.inc()).rejects.toThrow(/503/);
    const full = await post(callPath(small), await signedInc(small.owner, small), small);
    expect(full).toMatchObject({ status: 503, text: expect.stringMatching(/holds 30 request ids.*retry/) });

    // The replay is still recognised: answered from the stored status, not executed.
    expect((await post(callPath(small), replayed, small)).status).toBe(200);
    expect(await actor.get()).toBe(first + BigInt(others));

    // Once the expiry (+ grace) of the stored requests has passed they are forgotten, and the
    // replay is refused as expired instead.
    clockOffsetMs = 7 * 60 * SECOND_MS;
    expect(await post(callPath(small), replayed, small)).toMatchObject({ status: 400, text: expect.stringMatching(/^Invalid request expiry/) });
    expect((await post(callPath(small), await signedInc(small.owner, small), small)).status).toBe(200);
  } finally {
    clockOffsetMs = 0;
    await small.close();
  }
}, 120_000);

test('read_state of the bare /request_status path is refused; a sender still reads its own status', async () => {
  const bodies: Uint8Array[] = [];
  const identity = Ed25519KeyIdentity.generate();
  const agent = await served.agentFor(identity, recordingAgentOptions(bodies));
  const { requestId } = await agent.call(served.canisterId, { methodName: 'inc', arg: IDL.encode([], []) });
  const label = new TextEncoder().encode('request_status');
  const own = await agent.readState(served.canisterId, { paths: [[label, new Uint8Array(requestId)]] });
  expect(own.certificate.byteLength).toBeGreaterThan(0);
  await expect(agent.readState(served.canisterId, { paths: [[label]] })).rejects.toThrow(/403|needs a request id/);
  const stranger = await served.agentFor(Ed25519KeyIdentity.generate(), { retryTimes: 0 });
  await expect(stranger.readState(served.canisterId, { paths: [[label]] })).rejects.toThrow(/403/);
  await expect(stranger.readState(served.canisterId, { paths: [[label, new Uint8Array(requestId)]] })).rejects.toThrow(/403/);
});

test('delegation chains in which a key appears twice are refused with 403; a proper chain works', async () => {
  const expiry = new Date(Date.now() + 60 * SECOND_MS);
  const [a, b, c] = [Ed25519KeyIdentity.generate(), Ed25519KeyIdentity.generate(), Ed25519KeyIdentity.generate()];
  const viaChain = async (signer: Ed25519KeyIdentity, chain: DelegationChain) => served.actorFor(DelegationIdentity.fromDelegation(signer, chain), { retryTimes: 0 });
  const ab = await DelegationChain.create(a, b.getPublicKey(), expiry);
  const abc = await DelegationChain.create(b, c.getPublicKey(), expiry, { previous: ab });
  const before = await (await viaChain(c, abc)).inc();

  const self = await DelegationChain.create(a, a.getPublicKey(), expiry);
  await expect((await viaChain(a, self)).inc()).rejects.toThrow(/403|already appears earlier in the chain/);
  const cycle = await DelegationChain.create(b, a.getPublicKey(), expiry, { previous: ab });
  await expect((await viaChain(a, cycle)).inc()).rejects.toThrow(/403|already appears earlier in the chain/);
  const back = await DelegationChain.create(b, b.getPublicKey(), expiry, { previous: ab });
  await expect((await viaChain(b, back)).inc()).rejects.toThrow(/403|already appears earlier in the chain/);
  expect(await (await served.actorFor()).get()).toBe(before);
});

test('a body with bytes after the envelope, or two envelopes, is refused with 400 and runs nothing', async () => {
  const actor = await served.actorFor();
  const before = await actor.get();
  const envelope = await signedInc(served.owner);
  const twice = await post(callPath(), Buffer.concat([envelope, envelope]));
  expect(twice).toMatchObject({ status: 400, text: expect.stringMatching(/bytes follow the CBOR request envelope/) });
  expect((await post(callPath(), Buffer.concat([envelope, Buffer.from([0])]))).status).toBe(400);
  expect(await actor.get()).toBe(before);
  expect((await post(callPath(), envelope)).status).toBe(200);
  expect(await actor.get()).toBe(before + 1n);
});

test('a CBOR float gets a readable 400; a wrong method on an endpoint gets 405', async () => {
  // {content: {ingress_expiry: 1.5}} with the self-describe tag; 0xfb starts a float64.
  const float = Buffer.concat([Buffer.from('d9d9f7a167636f6e74656e74a16e696e67726573735f657870697279fb', 'hex'), Buffer.alloc(8, 0x3f)]);
  expect(await post(callPath(), float)).toMatchObject({ status: 400, text: expect.stringMatching(/floating-point number at byte \d+: .*no floats/) });
  const get = await fetch(served.server.url + callPath());
  expect([get.status, get.headers.get('allow'), await get.text()]).toEqual([405, 'POST, OPTIONS', expect.stringContaining('does not support GET')]);
  expect((await fetch(served.server.url + '/api/v2/status', { method: 'POST' })).status).toBe(405);
});

test('a client that disconnects mid-body is dropped quietly and the server keeps serving', async () => {
  const { port } = served.server;
  await new Promise<void>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`POST ${callPath()} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/cbor\r\nContent-Length: 1000\r\n\r\n`);
      socket.write(Buffer.alloc(10));
      setTimeout(() => socket.destroy(), 50);
    });
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
  await new Promise(resolve => setTimeout(resolve, 100));
  expect(engineErrors).toEqual([]);
  expect(await (await served.actorFor()).get()).toBeGreaterThan(0n);
});

test('requestIdOf agrees with the server on the id of a recorded call (the replay key)', async () => {
  const bodies: Uint8Array[] = [];
  const agent = await served.agentFor(undefined, recordingAgentOptions(bodies));
  const { requestId } = await agent.call(served.canisterId, { methodName: 'inc', arg: IDL.encode([], []) });
  const { content } = Cbor.decode<{ content: Record<string, unknown> }>(bodies[0]);
  expect(Buffer.from(requestIdOf(content))).toEqual(Buffer.from(requestId));
  expect(Principal.from(content.sender).isAnonymous()).toBe(true);
});
