// The HTTP interface against @dfinity/agent with default verification (root key fetched, BLS
// certificates and query node signatures checked), over a fake engine so only the HTTP layer is
// under test. The real-engine tests (replica-cli.test.ts) cover the same paths end to end.
import { Actor, AnonymousIdentity, Certificate, CanisterStatus, HttpAgent, polling, type Identity } from '@dfinity/agent';
import { IDL } from '@dfinity/candid';
import { DelegationChain, DelegationIdentity, ECDSAKeyIdentity, Ed25519KeyIdentity } from '@dfinity/identity';
import { Secp256k1KeyIdentity } from '@dfinity/identity-secp256k1';
import { Principal } from '@dfinity/principal';
import { startHttpServer, type HttpServerHandle } from '../../lib/replica/http/index.js';
import { counterIdl, FakeBackend, managementIdl } from './fake-backend.js';

let backend: FakeBackend;
let server: HttpServerHandle;

beforeAll(async () => {
  backend = new FakeBackend();
  server = await startHttpServer(backend, { port: 0, seed: 'agent-fake' });
});
afterAll(() => server.close());

async function agentFor(identity: Identity = new AnonymousIdentity()): Promise<HttpAgent> {
  return HttpAgent.create({ host: server.url, shouldFetchRootKey: true, identity, retryTimes: 0 });
}

async function createCounter(agent: HttpAgent): Promise<Principal> {
  const management = Actor.createActor(managementIdl, {
    agent,
    canisterId: Principal.managementCanister(),
    effectiveCanisterId: Principal.fromText('rwlgt-iiaaa-aaaaa-aaaaa-cai')
  });
  const { canister_id } = (await management.provisional_create_canister_with_cycles({ amount: [], settings: [] })) as { canister_id: Principal };
  return canister_id;
}

test('status serves the seeded root key; the agent fetches it and verifies certificates with it', async () => {
  const agent = await agentFor();
  expect(Buffer.from(agent.rootKey!)).toEqual(Buffer.from(server.keys.rootKeyDer));
  const again = await startHttpServer(new FakeBackend(), { port: 0, seed: 'agent-fake' });
  const other = await startHttpServer(new FakeBackend(), { port: 0, seed: 'other' });
  try {
    expect(Buffer.from(again.keys.rootKeyDer)).toEqual(Buffer.from(server.keys.rootKeyDer));
    expect(Buffer.from(other.keys.rootKeyDer)).not.toEqual(Buffer.from(server.keys.rootKeyDer));
  } finally {
    await Promise.all([again.close(), other.close()]);
  }
});

test('deploy, update through v3 with a certified reply, query with node signatures', async () => {
  const agent = await agentFor();
  const id = await createCounter(agent);
  const counter = Actor.createActor(counterIdl, { agent, canisterId: id });
  expect(await counter.inc()).toBe(1n);
  expect(await counter.inc()).toBe(2n);
  expect(await counter.get()).toBe(2n);
  const status = await CanisterStatus.request({ agent, canisterId: id, paths: ['controllers', 'module_hash', 'time', 'subnet'] });
  expect((status.get('controllers') as Principal[]).map(p => p.toText())).toEqual([Principal.anonymous().toText()]);
  expect(status.get('module_hash')).toBe('07'.repeat(32));
  expect(Math.abs((status.get('time') as Date).getTime() - Date.now())).toBeLessThan(60_000);
  expect((status.get('subnet') as { nodeKeys: Map<string, Uint8Array> }).nodeKeys.get(server.keys.nodeId.toText())).toBeDefined();
});

test('the v2 call + read_state polling fallback returns the certified reply', async () => {
  const agent = await agentFor();
  const id = await createCounter(agent);
  const { requestId, response } = await agent.call(id, { methodName: 'inc', arg: IDL.encode([], []), callSync: false });
  expect(response.status).toBe(202);
  const { reply, certificate } = await polling.pollForResponse(agent, id, requestId, { strategy: polling.strategy.conditionalDelay(async () => true, 5) });
  expect(IDL.decode([IDL.Nat], reply)[0]).toBe(1n);
  expect(certificate).toBeInstanceOf(Certificate);
});

test('a v3 call outlasting the sync timeout is answered 202, and the agent polls for the certified reply', async () => {
  const slowBackend = new FakeBackend();
  const slowServer = await startHttpServer(slowBackend, { port: 0, syncCallTimeoutMs: 20 });
  try {
    const agent = await HttpAgent.create({ host: slowServer.url, shouldFetchRootKey: true, retryTimes: 0 });
    const management = Actor.createActor(managementIdl, { agent, canisterId: Principal.managementCanister(), effectiveCanisterId: Principal.fromText('rwlgt-iiaaa-aaaaa-aaaaa-cai') });
    const { canister_id } = (await management.provisional_create_canister_with_cycles({ amount: [], settings: [] })) as { canister_id: Principal };
    const counter = Actor.createActor(counterIdl, { agent, canisterId: canister_id });
    const pending = counter.slow();
    await new Promise(resolve => setTimeout(resolve, 200));
    slowBackend.release();
    expect(await pending).toBe(1n);
  } finally {
    await slowServer.close();
  }
});

test('a trap is a certified reject with its code, and its state change is not visible', async () => {
  const agent = await agentFor();
  const id = await createCounter(agent);
  const counter = Actor.createActor(counterIdl, { agent, canisterId: id });
  await counter.inc();
  await expect(counter.boom()).rejects.toMatchObject({ message: expect.stringContaining('IC0503') });
  await expect(counter.boom()).rejects.toMatchObject({ cause: { code: { rejectCode: 5, rejectErrorCode: 'IC0503' } } });
  expect(await counter.get()).toBe(1n);
});

test('canister_inspect_message refusals reach the client uncertified and execute nothing', async () => {
  const agent = await agentFor();
  const id = await createCounter(agent);
  const counter = Actor.createActor(counterIdl, { agent, canisterId: id });
  const before = backend.submitted;
  await expect(counter.forbidden()).rejects.toMatchObject({ message: expect.stringContaining('inspect_message') });
  expect(backend.submitted).toBe(before);
});

const identities: [string, () => Promise<Identity>][] = [
  ['Ed25519', async () => Ed25519KeyIdentity.generate()],
  ['secp256k1', async () => Secp256k1KeyIdentity.generate()],
  ['ECDSA P-256', async () => ECDSAKeyIdentity.generate()],
  [
    'a two-step delegation chain',
    async () => {
      const root = Ed25519KeyIdentity.generate();
      const middle = await ECDSAKeyIdentity.generate();
      const session = Ed25519KeyIdentity.generate();
      const first = await DelegationChain.create(root, middle.getPublicKey(), new Date(Date.now() + 60_000));
      const chain = await DelegationChain.create(middle, session.getPublicKey(), new Date(Date.now() + 60_000), { previous: first });
      return DelegationIdentity.fromDelegation(session, chain);
    }
  ]
];

test.each(identities)('%s senders are authenticated for updates and queries', async (_name, make) => {
  const identity = await make();
  const agent = await agentFor(identity);
  const id = await createCounter(agent);
  const counter = Actor.createActor(counterIdl, { agent, canisterId: id });
  const expected = identity.getPrincipal().toText();
  expect(((await counter.whoami()) as Principal).toText()).toBe(expected);
  expect(((await counter.whoamiUpdate()) as Principal).toText()).toBe(expected);
  const status = await CanisterStatus.request({ agent, canisterId: id, paths: ['controllers'] });
  expect((status.get('controllers') as Principal[])[0].toText()).toBe(expected);
});

test('a delegation restricted to other canisters is refused with 403', async () => {
  const root = Ed25519KeyIdentity.generate();
  const session = Ed25519KeyIdentity.generate();
  const owner = await agentFor();
  const allowed = await createCounter(owner);
  const other = await createCounter(owner);
  const chain = await DelegationChain.create(root, session.getPublicKey(), new Date(Date.now() + 60_000), { targets: [allowed] });
  const agent = await agentFor(DelegationIdentity.fromDelegation(session, chain));
  expect(await Actor.createActor(counterIdl, { agent, canisterId: allowed }).inc()).toBe(1n);
  await expect(Actor.createActor(counterIdl, { agent, canisterId: other }).inc()).rejects.toMatchObject({
    message: expect.stringContaining('403')
  });
});

test('certificates do not verify under another root key', async () => {
  const agent = await agentFor();
  const id = await createCounter(agent);
  const wrong = await HttpAgent.create({ host: server.url, rootKey: (await startOtherKey()).rootKeyDer, retryTimes: 0 });
  await expect(Actor.createActor(counterIdl, { agent: wrong, canisterId: id }).inc()).rejects.toThrow(/signature/i);
});

async function startOtherKey() {
  const { deriveReplicaKeys } = await import('../../lib/replica/http/index.js');
  return deriveReplicaKeys('not-this-replica');
}
