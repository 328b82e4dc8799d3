// Malformed, unauthenticated and mistimed requests get a 4xx with a reason, and the server keeps
// serving. Envelopes are built by hand (the agent would refuse to send most of these).
import { Cbor, Certificate, requestIdOf, type SignIdentity } from '@dfinity/agent';
import { IDL } from '@dfinity/candid';
import { DelegationChain, DelegationIdentity, ECDSAKeyIdentity, Ed25519KeyIdentity } from '@dfinity/identity';
import { Secp256k1KeyIdentity } from '@dfinity/identity-secp256k1';
import { Principal } from '@dfinity/principal';
import { startHttpServer, type HttpServerHandle } from '../../lib/replica/http/index.js';
import { FakeBackend } from './fake-backend.js';

let backend: FakeBackend;
let server: HttpServerHandle;
let canister: Principal;
const nowMs = 1_800_000_000_000;

beforeAll(async () => {
  backend = new FakeBackend(nowMs);
  // Not live: replica time stays at nowMs, so expiry checks are deterministic.
  server = await startHttpServer(backend, { port: 0, live: false });
  const created = await backend.submitIngress({
    sender: Principal.anonymous(),
    canisterId: Principal.managementCanister(),
    effectiveCanisterId: Principal.managementCanister(),
    methodName: 'provisional_create_canister_with_cycles',
    arg: new Uint8Array()
  });
  canister = Principal.fromText([...backend.canisters.keys()][0]);
  expect(created.status).toBe('replied');
});
afterAll(() => server.close());

const post = async (path: string, body: Uint8Array | string) => {
  const response = await fetch(server.url + path, { method: 'POST', body: typeof body === 'string' ? body : Buffer.from(body), headers: { 'Content-Type': 'application/cbor' } });
  return { status: response.status, text: await response.text() };
};

function content(sender: Principal, overrides: Record<string, unknown> = {}) {
  return {
    request_type: 'call',
    canister_id: canister,
    method_name: 'inc',
    arg: new Uint8Array(IDL.encode([], [])),
    sender,
    ingress_expiry: BigInt(nowMs + 120_000) * 1_000_000n,
    ...overrides
  };
}

async function signed(identity: SignIdentity | DelegationIdentity, body: Record<string, unknown>) {
  const { body: envelope } = (await identity.transformRequest({ request: {}, endpoint: 'call', body } as never)) as { body: Record<string, unknown> };
  return envelope;
}

const callPath = () => `/api/v3/canister/${canister.toText()}/call`;

test('a well-formed signed call succeeds (the baseline the other cases break)', async () => {
  const identity = Ed25519KeyIdentity.generate();
  const reply = await post(callPath(), Cbor.encode(await signed(identity, content(identity.getPrincipal()))));
  expect(reply.status).toBe(200);
});

test.each([
  ['malformed CBOR', () => new Uint8Array([0xd9, 0xd9, 0xf7, 0xff, 0x00]), 400, /CBOR/],
  ['an envelope without content', () => Cbor.encode({ hello: 1 }), 400, /"content" map/],
  ['a query on the call endpoint', () => Cbor.encode({ content: content(Principal.anonymous(), { request_type: 'query' }) }), 400, /request_type "call"/],
  ['a missing method name', () => Cbor.encode({ content: content(Principal.anonymous(), { method_name: undefined }) }), 400, /method_name/],
  ['an expired request', () => Cbor.encode({ content: content(Principal.anonymous(), { ingress_expiry: BigInt(nowMs - 120_000) * 1_000_000n }) }), 400, /^Invalid request expiry/],
  ['a request expiring in an hour', () => Cbor.encode({ content: content(Principal.anonymous(), { ingress_expiry: BigInt(nowMs + 3_600_000) * 1_000_000n }) }), 400, /^Invalid request expiry/],
  ['an anonymous sender with a signature', () => Cbor.encode({ content: content(Principal.anonymous()), sender_pubkey: new Uint8Array(44), sender_sig: new Uint8Array(64) }), 403, /anonymous/],
  ['a signed sender without a signature', () => Cbor.encode({ content: content(Ed25519KeyIdentity.generate().getPrincipal()) }), 403, /sender_pubkey and sender_sig/]
] as const)('%s is refused', async (_name, body, status, reason) => {
  const reply = await post(callPath(), body());
  expect(reply.status).toBe(status);
  expect(reply.text).toMatch(reason);
});

test.each([
  ['Ed25519', async () => Ed25519KeyIdentity.generate()],
  ['secp256k1', async () => Secp256k1KeyIdentity.generate()],
  ['ECDSA P-256', async () => ECDSAKeyIdentity.generate()]
] as const)('a %s signature over other content is refused with 403', async (_name, make) => {
  const identity = (await make()) as SignIdentity;
  const envelope = await signed(identity, content(identity.getPrincipal()));
  (envelope.content as Record<string, unknown>).method_name = 'get';
  const reply = await post(callPath(), Cbor.encode(envelope));
  expect(reply).toMatchObject({ status: 403, text: expect.stringMatching(/^Invalid signature/) });
});

test('a public key that is not the sender is refused with 403', async () => {
  const [identity, other] = [Ed25519KeyIdentity.generate(), Ed25519KeyIdentity.generate()];
  const envelope = await signed(identity, content(other.getPrincipal()));
  const reply = await post(callPath(), Cbor.encode(envelope));
  expect(reply).toMatchObject({ status: 403, text: expect.stringContaining('does not match sender_pubkey') });
});

test('an expired delegation is refused with 403', async () => {
  const [root, session] = [Ed25519KeyIdentity.generate(), Ed25519KeyIdentity.generate()];
  const chain = await DelegationChain.create(root, session.getPublicKey(), new Date(nowMs - 1_000));
  const identity = DelegationIdentity.fromDelegation(session, chain);
  const reply = await post(callPath(), Cbor.encode(await signed(identity, content(identity.getPrincipal()))));
  expect(reply).toMatchObject({ status: 403, text: expect.stringContaining('expired') });
});

test('a URL whose effective canister id is not the target is refused', async () => {
  const reply = await post('/api/v3/canister/rwlgt-iiaaa-aaaaa-aaaaa-cai/call', Cbor.encode({ content: content(Principal.anonymous()) }));
  expect(reply).toMatchObject({ status: 400, text: expect.stringContaining('does not match canister_id') });
  expect((await post('/api/v3/canister/not-a-principal/call', new Uint8Array())).status).toBe(400);
});

test('only the sender may read a request status, and only permitted paths are readable', async () => {
  const [owner, stranger] = [Ed25519KeyIdentity.generate(), Ed25519KeyIdentity.generate()];
  const call = content(owner.getPrincipal());
  expect((await post(callPath(), Cbor.encode(await signed(owner, call)))).status).toBe(200);
  const readState = (sender: Principal, paths: Uint8Array[][]) => ({
    request_type: 'read_state',
    sender,
    paths,
    ingress_expiry: BigInt(nowMs + 60_000) * 1_000_000n
  });
  const statusPath = [[new TextEncoder().encode('request_status'), requestIdOf(call)]];
  const readPath = `/api/v2/canister/${canister.toText()}/read_state`;
  expect((await post(readPath, Cbor.encode(await signed(owner, readState(owner.getPrincipal(), statusPath))))).status).toBe(200);
  const refused = await post(readPath, Cbor.encode(await signed(stranger, readState(stranger.getPrincipal(), statusPath))));
  expect(refused).toMatchObject({ status: 403, text: expect.stringContaining('Only the sender') });
  const certifiedData = [[new TextEncoder().encode('canister'), canister.toUint8Array(), new TextEncoder().encode('certified_data')]];
  expect((await post(readPath, Cbor.encode({ content: readState(Principal.anonymous(), certifiedData) }))).status).toBe(403);
  const elsewhere = [[new TextEncoder().encode('canister'), Principal.fromText('rwlgt-iiaaa-aaaaa-aaaaa-cai').toUint8Array(), new TextEncoder().encode('controllers')]];
  expect((await post(readPath, Cbor.encode({ content: readState(Principal.anonymous(), elsewhere) }))).status).toBe(403);
});

test('oversized bodies get 413, unknown endpoints 404, and the server keeps serving', async () => {
  expect((await post(callPath(), new Uint8Array(3 * 1024 * 1024))).status).toBe(413);
  expect((await post('/api/v9/anything', new Uint8Array())).status).toBe(404);
  const status = await fetch(server.url + '/api/v2/status');
  expect(status.status).toBe(200);
  expect(Cbor.decode<{ root_key: Uint8Array }>(new Uint8Array(await status.arrayBuffer())).root_key).toEqual(server.keys.rootKeyDer);
});

test('subnet read_state certifies the subnet key and refuses per-canister paths', async () => {
  const subnet = server.keys.subnetId;
  const enc = (text: string) => new TextEncoder().encode(text);
  const read = (paths: Uint8Array[][]) =>
    fetch(`${server.url}/api/v2/subnet/${subnet.toText()}/read_state`, {
      method: 'POST',
      body: Buffer.from(Cbor.encode({ content: { request_type: 'read_state', sender: Principal.anonymous(), paths, ingress_expiry: BigInt(nowMs + 60_000) * 1_000_000n } }))
    });
  const response = await read([[enc('subnet'), subnet.toUint8Array(), enc('public_key')]]);
  expect(response.status).toBe(200);
  const { certificate } = Cbor.decode<{ certificate: Uint8Array }>(new Uint8Array(await response.arrayBuffer()));
  const verified = await Certificate.create({ certificate, rootKey: server.keys.rootKeyDer, canisterId: subnet, disableTimeVerification: true });
  expect(verified.lookup_path(['subnet', subnet.toUint8Array(), 'public_key'])).toMatchObject({ status: 'Found', value: server.keys.rootKeyDer });
  expect((await read([[enc('request_status'), new Uint8Array(32)]])).status).toBe(403);
});
