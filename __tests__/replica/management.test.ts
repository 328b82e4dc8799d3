import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { createHash } from 'node:crypto';
import { CallRejectedError, LocalReplica } from '../../lib/replica/index.js';
import { fixtureWasm, noArgs, probeIdl, probeInitArg, replicaWithProbes, type ProbeActor } from './helpers.js';

const alice = Principal.selfAuthenticating(new Uint8Array(32).fill(1));
const bob = Principal.selfAuthenticating(new Uint8Array(32).fill(2));
const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

describe('management canister', () => {
  test('create, status with every field, settings and controller rules', async () => {
    const replica = await LocalReplica.create();
    const id = await replica.createCanister({ controllers: [alice], cycles: 5_000_000_000_000n, sender: alice });
    const status = await replica.canisterStatus({ canisterId: id, sender: alice });
    expect(status.status).toEqual({ running: null });
    expect(status.cycles).toBe(5_000_000_000_000n);
    expect(status.moduleHash).toBeNull();
    expect(status.settings.controllers.map((p: Principal) => p.toText())).toEqual([alice.toText()]);
    expect(Object.keys(status.memoryMetrics).sort()).toEqual(
      ['canisterHistorySize', 'customSectionsSize', 'globalMemorySize', 'snapshotsSize', 'stableMemorySize', 'wasmBinarySize', 'wasmChunkStoreSize', 'wasmMemorySize'].sort()
    );
    await expect(replica.canisterStatus({ canisterId: id, sender: bob })).rejects.toMatchObject({ rejectCode: 5, errorCode: 'IC0512' });
    const settings = { controllers: [[alice, bob]], compute_allocation: [], memory_allocation: [], freezing_threshold: [42n], reserved_cycles_limit: [], log_visibility: [], wasm_memory_limit: [], wasm_memory_threshold: [], environment_variables: [] };
    await expect(replica.callManagement({ method: 'update_settings', arg: { canister_id: id, settings, sender_canister_version: [] }, sender: bob, effectiveCanisterId: id })).rejects.toMatchObject({ errorCode: 'IC0512' });
    await replica.callManagement({ method: 'update_settings', arg: { canister_id: id, settings, sender_canister_version: [] }, sender: alice, effectiveCanisterId: id });
    const updated = await replica.canisterStatus({ canisterId: id, sender: bob });
    expect(updated.settings.freezingThreshold).toBe(42n);
    expect(updated.version).toBeGreaterThan(status.version);
  });

  test('install modes: install twice, upgrade of empty, reinstall and upgrade semantics', async () => {
    const { replica, ids, actors } = await replicaWithProbes(1);
    const [id] = ids;
    const wasm = await fixtureWasm('probe');
    const probe = actors[0];
    await expect(replica.installCode({ canisterId: id, wasm, mode: 'install' })).rejects.toMatchObject({ rejectCode: 5, errorCode: 'IC0514' });
    const empty = await replica.createCanister();
    await expect(replica.installCode({ canisterId: empty, wasm, mode: 'upgrade' })).rejects.toMatchObject({ errorCode: 'IC0537' });

    await probe.increment();
    await probe.putStable('k', 'v');
    await replica.installCode({ canisterId: id, wasm, mode: 'upgrade', arg: probeInitArg('up') });
    expect(await probe.getCounter()).toBe(0n); // heap replaced
    expect(await probe.getStable('k')).toEqual(['v']); // stable kept
    expect(await probe.getStable('pre_upgrade')).toEqual(['ran']); // pre_upgrade ran on the old module
    expect(await probe.getLog()).toEqual(['post_upgrade:up']);

    await probe.increment();
    // keep is only for modules declaring enhanced orthogonal persistence (Motoko); Azle is refused.
    await expect(replica.installCode({ canisterId: id, wasm, mode: 'upgrade', upgrade: { keepHeap: true }, arg: probeInitArg('keep') })).rejects.toMatchObject({ errorCode: 'IC0505' });
    expect(await probe.getCounter()).toBe(1n);

    await replica.installCode({ canisterId: id, wasm, mode: 'reinstall', arg: probeInitArg('again') });
    expect(await probe.getCounter()).toBe(0n);
    expect(await probe.getStable('k')).toEqual([]);
    expect(await probe.getLog()).toEqual(['init:again']);
    const status = await replica.canisterStatus({ canisterId: id });
    expect(Buffer.from(status.moduleHash!).toString('hex')).toBe(Buffer.from(sha256(wasm)).toString('hex'));
  });

  test('chunked install of the >2 MiB Azle Wasm through upload_chunk and a store canister', async () => {
    const replica = await LocalReplica.create();
    const wasm = await fixtureWasm('probe');
    expect(wasm.length).toBeGreaterThan(2 * 1024 * 1024);
    const store = await replica.createCanister({ sender: alice });
    const target = await replica.createCanister({ sender: alice });
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < wasm.length; at += 1024 * 1024) chunks.push(wasm.subarray(at, at + 1024 * 1024));
    const hashes = [];
    for (const chunk of chunks) hashes.push((await replica.callManagement({ method: 'upload_chunk', arg: { canister_id: store, chunk }, sender: alice, effectiveCanisterId: store }))[0]);
    const [stored] = (await replica.callManagement({ method: 'stored_chunks', arg: { canister_id: store }, sender: alice, effectiveCanisterId: store })) as { hash: Uint8Array }[][];
    expect(stored).toHaveLength(chunks.length);
    const base = { mode: { install: null }, target_canister: target, store_canister: [store], chunk_hashes_list: hashes, arg: probeInitArg('chunked'), sender_canister_version: [] };
    await expect(replica.callManagement({ method: 'install_chunked_code', arg: { ...base, wasm_module_hash: new Uint8Array(32) }, sender: alice, effectiveCanisterId: target })).rejects.toMatchObject({ errorCode: 'IC0408' });
    await expect(replica.callManagement({ method: 'install_chunked_code', arg: { ...base, wasm_module_hash: sha256(wasm) }, sender: bob, effectiveCanisterId: target })).rejects.toMatchObject({ errorCode: 'IC0512' });
    await replica.callManagement({ method: 'install_chunked_code', arg: { ...base, wasm_module_hash: sha256(wasm) }, sender: alice, effectiveCanisterId: target });
    expect(await replica.createActor<ProbeActor>(probeIdl, target).getLog()).toEqual(['init:chunked']);
    await replica.callManagement({ method: 'clear_chunk_store', arg: { canister_id: store }, sender: alice, effectiveCanisterId: store });
    expect((await replica.callManagement({ method: 'stored_chunks', arg: { canister_id: store }, sender: alice, effectiveCanisterId: store }))[0]).toEqual([]);
    await expect(replica.callManagement({ method: 'upload_chunk', arg: { canister_id: store, chunk: new Uint8Array(1024 * 1024 + 1) }, sender: alice, effectiveCanisterId: store })).rejects.toMatchObject({ errorCode: 'IC0408' });
  });

  test('stop waits for open call contexts; stopped canisters reject; delete needs stopped', async () => {
    const { replica, ids, actors } = await replicaWithProbes(2);
    const [a, b] = ids;
    replica.injectFault({ kind: 'delay', from: a.toText(), to: b.toText(), method: 'increment', rounds: 5 });
    const pending = replica.submitCall({ canisterId: a, method: 'callOther', arg: new Uint8Array(IDL.encode([IDL.Principal, IDL.Text], [b, 'increment'])) });
    await replica.tick(); // a executes and sends the (delayed) call
    const stop = replica.submitCall({ canisterId: Principal.managementCanister(), method: 'stop_canister', arg: new Uint8Array(IDL.encode([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: a }])) });
    await replica.tick();
    expect((await replica.canisterStatus({ canisterId: a })).status).toEqual({ stopping: null });
    await expect(actors[0].increment()).rejects.toMatchObject({ rejectCode: 5, errorCode: 'IC0509' });
    await replica.runUntilIdle();
    await stop;
    expect(IDL.decode([IDL.Text], await pending)[0]).toMatch(/^reply:/);
    expect((await replica.canisterStatus({ canisterId: a })).status).toEqual({ stopped: null });
    await expect(actors[0].increment()).rejects.toMatchObject({ rejectCode: 5, errorCode: 'IC0508' });
    await expect(replica.callManagement({ method: 'delete_canister', arg: { canister_id: b }, effectiveCanisterId: b })).rejects.toMatchObject({ errorCode: 'IC0510' });
    await replica.startCanister({ canisterId: a });
    expect(await actors[0].increment()).toBe(1n);
    await replica.stopCanister({ canisterId: b });
    await replica.callManagement({ method: 'delete_canister', arg: { canister_id: b }, effectiveCanisterId: b });
    await expect(actors[1].getCounter()).rejects.toMatchObject({ rejectCode: 3, errorCode: 'IC0301' });
  });

  test('uninstall with a call in flight rejects its caller and drops the late response', async () => {
    const { replica, ids } = await replicaWithProbes(2);
    replica.injectFault({ kind: 'delay', from: ids[0].toText(), method: 'increment', rounds: 3 });
    const pending = replica.submitCall({ canisterId: ids[0], method: 'callOther', arg: new Uint8Array(IDL.encode([IDL.Principal, IDL.Text], [ids[1], 'increment'])) });
    const outcome = pending.then(() => 'replied', (e: CallRejectedError) => e.errorCode);
    await replica.tick();
    await replica.callManagement({ method: 'uninstall_code', arg: { canister_id: ids[0], sender_canister_version: [] }, effectiveCanisterId: ids[0] });
    expect(await outcome).toBe('IC0537');
    await replica.runUntilIdle(); // B still answers; the response finds no callback and is dropped
    await replica.stopCanister({ canisterId: ids[0] });
    expect((await replica.canisterStatus({ canisterId: ids[0] })).status).toEqual({ stopped: null });
  });

  test('uninstall_code empties the canister', async () => {
    const { replica, ids, actors } = await replicaWithProbes(1);
    await replica.callManagement({ method: 'uninstall_code', arg: { canister_id: ids[0], sender_canister_version: [] }, effectiveCanisterId: ids[0] });
    await expect(actors[0].getCounter()).rejects.toMatchObject({ errorCode: 'IC0537' });
    const status = await replica.canisterStatus({ canisterId: ids[0] });
    expect(status.moduleHash).toBeNull();
    expect(status.memoryMetrics.stableMemorySize).toBe(0n);
  });

  test('calls from canisters: create_canister, deposit_cycles, raw_rand (ingress refused)', async () => {
    const { replica, ids, actors } = await replicaWithProbes(2);
    const child: Principal = await actors[0].createChild(2_000_000_000_000n);
    const status = await replica.canisterStatus({ canisterId: child, sender: ids[0] });
    expect(status.settings.controllers.map((p: Principal) => p.toText())).toEqual([ids[0].toText()]);
    expect(status.cycles).toBe(1_500_000_000_000n);
    await expect(replica.canisterStatus({ canisterId: child })).rejects.toMatchObject({ errorCode: 'IC0512' });
    const before = (await replica.getCyclesBalance(ids[1]));
    expect(await actors[0].depositTo(ids[1])).toBe('ok');
    expect((await replica.getCyclesBalance(ids[1])) - before).toBe(1_000_000n);
    const rand: Uint8Array = await actors[0].rawRand();
    expect(rand).toHaveLength(32);
    await expect(replica.updateCall({ canisterId: Principal.managementCanister(), method: 'raw_rand', arg: noArgs() })).rejects.toMatchObject({ rejectCode: 4 });
  });
});

describe('management canister: bad input is a typed rejection', () => {
  let replica: LocalReplica;
  let id: Principal;
  beforeAll(async () => {
    replica = await LocalReplica.create();
    id = await replica.createCanister();
  });

  test.each([
    ['random bytes', new Uint8Array([1, 2, 3, 4, 5])],
    ['truncated module', new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 10])],
    ['corrupt gzip', new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3])],
    ['module importing env', Uint8Array.from(Buffer.from('0061736d01000000010401600000020b0103656e76016600000503010001070a01066d656d6f72790200', 'hex'))]
  ])('malformed Wasm (%s) is IC0505', async (_name, wasm) => {
    const err = await replica.installCode({ canisterId: id, wasm }).catch((e) => e);
    expect(err).toBeInstanceOf(CallRejectedError);
    expect(err).toMatchObject({ rejectCode: 5, errorCode: 'IC0505' });
  });

  test('unknown canister, unknown method, bad Candid', async () => {
    const ghost = Principal.fromText('rrkah-fqaaa-aaaaa-aaaaq-cai');
    await expect(replica.updateCall({ canisterId: ghost, method: 'x', arg: noArgs() })).rejects.toMatchObject({ rejectCode: 3, errorCode: 'IC0301' });
    await expect(replica.queryCall({ canisterId: ghost, method: 'x', arg: noArgs() })).rejects.toMatchObject({ rejectCode: 3, errorCode: 'IC0301' });
    await expect(replica.canisterStatus({ canisterId: ghost })).rejects.toMatchObject({ rejectCode: 3, errorCode: 'IC0301' });
    await expect(replica.updateCall({ canisterId: Principal.managementCanister(), method: 'no_such_method', arg: noArgs() })).rejects.toMatchObject({ rejectCode: 5, errorCode: 'IC0536' });
    await expect(replica.updateCall({ canisterId: Principal.managementCanister(), method: 'canister_status', arg: new Uint8Array([1, 2, 3]) })).rejects.toMatchObject({ errorCode: 'IC0408' });
    await expect(replica.updateCall({ canisterId: id, method: 'anything', arg: noArgs() })).rejects.toMatchObject({ errorCode: 'IC0537' });
  });

  test('limits: 10 controllers, 10 snapshots; a closed replica refuses work', async () => {
    const many = Array.from({ length: 11 }, (_, i) => Principal.selfAuthenticating(new Uint8Array(32).fill(i + 10)));
    await expect(replica.createCanister({ controllers: many })).rejects.toMatchObject({ errorCode: 'IC0408' });
    const wasm = new (await import('./wasm-builder.js')).ModuleBuilder().build();
    const small = await replica.createCanister();
    await replica.installCode({ canisterId: small, wasm });
    await replica.stopCanister({ canisterId: small });
    const take = () => replica.callManagement({ method: 'take_canister_snapshot', arg: { canister_id: small, replace_snapshot: [], uninstall_code: [] }, effectiveCanisterId: small });
    const [first] = (await take()) as { id: Uint8Array }[];
    for (let i = 1; i < 10; i++) await take();
    await expect(take()).rejects.toMatchObject({ rejectCode: 4 });
    // Deleting a canister deletes its snapshots: none can be loaded elsewhere afterwards.
    await replica.callManagement({ method: 'delete_canister', arg: { canister_id: small }, effectiveCanisterId: small });
    const heir = await replica.createCanister();
    await replica.stopCanister({ canisterId: heir });
    await expect(replica.callManagement({ method: 'load_canister_snapshot', arg: { canister_id: heir, snapshot_id: first.id, sender_canister_version: [] }, effectiveCanisterId: heir })).rejects.toMatchObject({ rejectCode: 3, errorCode: 'IC0305' });
    const other = await LocalReplica.create({ startTime: 1_000_000 });
    expect((await other.getTime())).toBe(1_000_000);
    await expect(other.advanceTime(-1)).rejects.toThrow(/non-negative/);
    await other.tearDown();
    await expect(other.createCanister()).rejects.toThrow(/closed/);
  });
});
