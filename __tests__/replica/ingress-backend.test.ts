// LocalReplica as the IngressBackend the HTTP interface serves (management calls arrive as
// ingress to aaaaa-aa with an effective canister id).
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { LocalReplica, MANAGEMENT_METHODS, type IngressBackend } from '../../lib/replica/index.js';
import { fixtureWasm, probeIdl, type ProbeActor } from './helpers.js';

const user = Principal.selfAuthenticating(new Uint8Array(32).fill(3));
const mgmt = Principal.managementCanister();
const encode = (method: keyof typeof MANAGEMENT_METHODS, arg: unknown): Uint8Array => new Uint8Array(IDL.encode(MANAGEMENT_METHODS[method][0] as IDL.Type[], [arg]));

test('deploy and call through the IngressBackend interface only', async () => {
  const replica = await LocalReplica.create();
  const backend: IngressBackend = replica;
  const anyId = Principal.fromText('rwlgt-iiaaa-aaaaa-aaaaa-cai');
  const created = await backend.submitIngress({ sender: user, canisterId: mgmt, methodName: 'provisional_create_canister_with_cycles', arg: encode('provisional_create_canister_with_cycles', { amount: [], settings: [], specified_id: [], sender_canister_version: [] }), effectiveCanisterId: anyId });
  expect(created.status).toBe('replied');
  const [{ canister_id: id }] = IDL.decode(MANAGEMENT_METHODS.provisional_create_canister_with_cycles[1] as IDL.Type[], (created as { reply: Uint8Array }).reply) as unknown as { canister_id: Principal }[];
  expect(backend.canisterIds().map((p) => p.toText())).toEqual([id.toText()]);
  expect(backend.canisterInfo(id)).toMatchObject({ moduleHash: undefined, controllers: [user] });

  // A mismatching effective canister id is refused.
  const wrongEcid = await backend.submitIngress({ sender: user, canisterId: mgmt, methodName: 'canister_status', arg: encode('canister_status', { canister_id: id }), effectiveCanisterId: Principal.fromText('rrkah-fqaaa-aaaaa-aaaaq-cai') });
  expect(wrongEcid).toMatchObject({ status: 'rejected', rejectCode: 4 });

  // Gzipped Azle module, >2 MiB raw, fits one ingress message.
  const { gzipSync } = await import('node:zlib');
  const gz = gzipSync(await fixtureWasm('probe'));
  expect(gz.length).toBeLessThan(2 * 1024 * 1024);
  const installed = await backend.submitIngress({ sender: user, canisterId: mgmt, methodName: 'install_code', arg: encode('install_code', { mode: { install: null }, canister_id: id, wasm_module: gz, arg: new Uint8Array(IDL.encode([IDL.Opt(IDL.Text)], [[]])), sender_canister_version: [] }), effectiveCanisterId: id });
  expect(installed.status).toBe('replied');
  expect(backend.canisterInfo(id)!.moduleHash).toHaveLength(32);

  const inc = await backend.submitIngress({ sender: user, canisterId: id, methodName: 'increment', arg: new Uint8Array(IDL.encode([], [])), effectiveCanisterId: id });
  expect(inc).toEqual({ status: 'replied', reply: new Uint8Array(IDL.encode([IDL.Nat], [1n])) });
  const who = await backend.query({ sender: user, canisterId: id, methodName: 'whoami', arg: new Uint8Array(IDL.encode([], [])), effectiveCanisterId: id });
  expect((IDL.decode([IDL.Principal], (who as { reply: Uint8Array }).reply)[0] as unknown as Principal).toText()).toBe(user.toText());

  // Non-replicated queries see a data certificate when the HTTP layer provides one.
  const actor = replica.createActor<ProbeActor>(probeIdl, id, { sender: user });
  expect(await actor.hasCertificate()).toBe(false);
  backend.setDataCertificateProvider!(() => new Uint8Array([1, 2, 3]));
  expect(await actor.hasCertificate()).toBe(true);

  const before = backend.timeNs();
  await backend.advanceTime(1000);
  expect(backend.timeNs() - before).toBe(1_000_000_000n);
  expect(await backend.inspectIngress({ sender: user, canisterId: id, methodName: 'increment', arg: new Uint8Array(3 * 1024 * 1024), effectiveCanisterId: id })).toMatchObject({ status: 'rejected', errorCode: 'IC0504' });
});

test('idle canisters hibernate and wake up with their state', async () => {
  const replica = await LocalReplica.create({ maxLiveInstances: 1 });
  const wasm = await fixtureWasm('hello');
  const ids: Principal[] = [];
  for (let i = 0; i < 3; i++) {
    const { canisterId: id } = await replica.setupCanister({ idlFactory: ({ IDL: I }) => I.Service({}), wasm, controllers: [user], sender: user });
    expect((await replica.getControllers(id))).toEqual([user]);
    await replica.updateCall({ canisterId: id, method: 'setMessage', arg: new Uint8Array(IDL.encode([IDL.Text], [`m${i}`])) });
    await replica.upgradeCanister({ canisterId: id, wasm, sender: user }); // Azle keeps no heap state across upgrades
    await replica.updateCall({ canisterId: id, method: 'setMessage', arg: new Uint8Array(IDL.encode([IDL.Text], [`m${i}`])) });
    ids.push(id);
  }
  expect(replica.liveInstances()).toBe(1);
  for (let i = 0; i < 3; i++) {
    expect(IDL.decode([IDL.Text], await replica.queryCall({ canisterId: ids[i], method: 'getMessage', arg: new Uint8Array(IDL.encode([], [])) }))[0]).toBe(`m${i}`);
  }
  expect(replica.liveInstances()).toBe(1);
});
