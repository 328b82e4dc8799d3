// End to end: a replica started by the CLI, real Azle-built Wasm executed by the engine, and only
// @dfinity/agent (+ identities) on the client side, with the agent's default verification on.
import { Actor, Cbor, Certificate, HttpAgent, polling, type Identity } from '@dfinity/agent';
import { IDL } from '@dfinity/candid';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import { Secp256k1KeyIdentity } from '@dfinity/identity-secp256k1';
import type { Principal } from '@dfinity/principal';
import { sha256 } from '@noble/hashes/sha2';
import { join } from 'node:path';
import { buildAzleCanister, type BuiltCanister } from '../../lib/build/azle.js';
import { createCanister, installWasm } from '../../lib/cli/deploy.js';
import { managementCanister } from '../../lib/cli/management.js';
import { probeIdl, type Probe } from './probe-canister.js';
import { spawnReplica, type SpawnedReplica } from './spawn-replica.js';

let replica: SpawnedReplica;
let probe: BuiltCanister;
let owner: Ed25519KeyIdentity;
let probeId: Principal;

const agentFor = (identity?: Identity) => HttpAgent.create({ host: replica.url, shouldFetchRootKey: true, identity });
const probeActor = async (identity?: Identity, canisterId = probeId) => Actor.createActor<Probe>(probeIdl, { agent: await agentFor(identity), canisterId });

beforeAll(async () => {
  [replica, probe] = await Promise.all([spawnReplica(), buildAzleCanister({ root: join(process.cwd(), '__tests__/fixtures/http_probe'), name: 'http_probe' })]);
  owner = Ed25519KeyIdentity.generate();
  const management = managementCanister(await agentFor(owner));
  probeId = await createCanister(management);
  expect(await installWasm(management, probeId, probe.wasm, { strategy: 'gzip' })).toBe('gzip');
}, 180_000);

afterAll(async () => {
  await replica?.stop();
});

test('deploys with install_code (gzipped) and answers updates and certified-state queries', async () => {
  const actor = await probeActor(owner);
  const before = await actor.get();
  expect(await actor.inc()).toBe(before + 1n);
  expect(await actor.get()).toBe(before + 1n);
  const status = await managementCanister(await agentFor(owner)).canister_status({ canister_id: probeId });
  expect(Object.keys(status.status)).toEqual(['running']);
  expect(Buffer.from(status.module_hash[0]!)).toEqual(Buffer.from(sha256(probe.wasm)));
  expect(status.settings.controllers.map(c => c.toText())).toEqual([owner.getPrincipal().toText()]);
});

test('canister timers fire on the live replica while no request arrives', async () => {
  const actor = await probeActor(owner);
  const before = await actor.get();
  await actor.incLater(1);
  // Wait on the wall clock only, with no calls in between: only the server's round pump can run it.
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  expect(await actor.get()).toBe(before + 10n);
});

test('the v2 call endpoint + read_state polling serves the certified reply', async () => {
  const agent = await agentFor(owner);
  const before = await (await probeActor(owner)).get();
  const { requestId, response } = await agent.call(probeId, { methodName: 'inc', arg: IDL.encode([], []), callSync: false });
  expect(response.status).toBe(202);
  const { reply } = await polling.pollForResponse(agent, probeId, requestId, { strategy: polling.strategy.conditionalDelay(async () => true, 10) });
  expect(IDL.decode([IDL.Nat], reply)[0]).toBe(before + 1n);
});

test('queries get a data certificate for the certified data, verifiable with the root key', async () => {
  const actor = await probeActor(owner);
  const data = sha256(new TextEncoder().encode('certified by the local replica'));
  await actor.certify(data);
  const [certificate] = await actor.certificate();
  const agent = await agentFor();
  const verified = await Certificate.create({ certificate: certificate!, rootKey: agent.rootKey!, canisterId: probeId });
  expect(verified.lookup_path(['canister', probeId.toUint8Array(), 'certified_data'])).toMatchObject({ status: 'Found', value: data });
});

test('installs a module over 2 MiB with upload_chunk + install_chunked_code', async () => {
  expect(probe.wasm.length).toBeGreaterThan(2 * 1024 * 1024);
  const management = managementCanister(await agentFor(owner));
  const id = await createCanister(management);
  expect(await installWasm(management, id, probe.wasm, { strategy: 'chunked' })).toBe('chunked');
  const actor = await probeActor(owner, id);
  expect(await actor.inc()).toBe(1n);
});

test('a trap rejects the call with IC0503 and its state change is rolled back', async () => {
  const actor = await probeActor(owner);
  const before = await actor.get();
  await expect(actor.incThenTrap()).rejects.toMatchObject({ cause: { code: { rejectCode: 5, rejectErrorCode: 'IC0503' } } });
  await expect(actor.incThenTrap()).rejects.toThrow(/trapped after incrementing/);
  expect(await actor.get()).toBe(before);
});

test('canister_inspect_message refuses a method before it executes', async () => {
  const actor = await probeActor(owner);
  const before = await actor.get();
  await expect(actor.refusedByInspect()).rejects.toMatchObject({
    message: expect.stringContaining('rejected the message'),
    cause: { code: { rejectCode: 4 } }
  });
  expect(await actor.get()).toBe(before);
});

test.each([
  ['anonymous', (): Identity | undefined => undefined],
  ['Ed25519', (): Identity | undefined => Ed25519KeyIdentity.generate()],
  ['secp256k1', (): Identity | undefined => Secp256k1KeyIdentity.generate()]
])('the canister sees the %s caller the replica authenticated', async (_name, make) => {
  const identity = make();
  const actor = await probeActor(identity);
  const expected = identity?.getPrincipal().toText() ?? '2vxsx-fae';
  expect((await actor.whoami()).toText()).toBe(expected);
  expect((await actor.whoamiUpdate()).toText()).toBe(expected);
});

test('non-controllers cannot manage the canister; bad envelopes get 4xx and the replica keeps serving', async () => {
  const stranger = managementCanister(await agentFor(Ed25519KeyIdentity.generate()));
  await expect(stranger.stop_canister({ canister_id: probeId })).rejects.toThrow(/IC0512|controller/i);
  const garbage = await fetch(`${replica.url}/api/v3/canister/${probeId.toText()}/call`, { method: 'POST', body: Buffer.from([0xd9, 0xd9, 0xf7, 0xa1]) });
  expect(garbage.status).toBe(400);
  const unsigned = await fetch(`${replica.url}/api/v2/canister/${probeId.toText()}/query`, {
    method: 'POST',
    body: Buffer.from(Cbor.encode({ content: { request_type: 'query', sender: owner.getPrincipal(), canister_id: probeId, method_name: 'get', arg: new Uint8Array(), ingress_expiry: BigInt(Date.now() + 60_000) * 1_000_000n } }))
  });
  expect(unsigned.status).toBe(403);
  expect(await (await probeActor()).get()).toBeGreaterThanOrEqual(0n);
});

test('stop, snapshot, load the snapshot onto another canister, start', async () => {
  const management = managementCanister(await agentFor(owner));
  const source = await probeActor(owner);
  const value = await source.inc();
  await management.stop_canister({ canister_id: probeId });
  const snapshot = await management.take_canister_snapshot({ canister_id: probeId, replace_snapshot: [] });
  await management.start_canister({ canister_id: probeId });
  const cloneId = await createCanister(management);
  await installWasm(management, cloneId, probe.wasm);
  await management.stop_canister({ canister_id: cloneId });
  // As on the IC, a snapshot of a canister that just ran loads elsewhere after the next checkpoint.
  const load = () => management.load_canister_snapshot({ canister_id: cloneId, snapshot_id: snapshot.id, sender_canister_version: [] });
  for (let attempt = 0; ; attempt++) {
    const refused = await load().then(() => undefined, (error: Error) => error);
    if (!refused) break;
    expect(refused.message).toMatch(/is not currently loadable on the specified canister/);
    expect(attempt).toBeLessThan(20);
    await new Promise((r) => setTimeout(r, 500));
  }
  await management.start_canister({ canister_id: cloneId });
  expect(await (await probeActor(owner, cloneId)).get()).toBe(value);
});

test('SIGTERM stops the replica cleanly (exit code 0, port closed)', async () => {
  const extra = await spawnReplica();
  expect(extra.stdout()).toMatch(/^ready: http:\/\/127\.0\.0\.1:\d+\n$/);
  expect((await fetch(`${extra.url}/api/v2/status`)).status).toBe(200);
  expect(await extra.stop('SIGTERM')).toBe(0);
  await expect(fetch(`${extra.url}/api/v2/status`)).rejects.toThrow();
  const interrupted = await spawnReplica();
  expect(await interrupted.stop('SIGINT')).toBe(0);
});
