// What the management canister tells about a canister, as the IC tells it: canister_status's
// memory accounting (CanisterState::memory_usage), canister_info's history, and modules the IC
// accepts though Azle never builds them (memory exported under another name).
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { LocalReplica, MANAGEMENT_METHODS } from '../../lib/replica/index.js';
import { fixtureWasm, probeInitArg, replicaWithProbes } from './helpers.js';
import { I32, ModuleBuilder, op } from './wasm-builder.js';

const MiB = 1024n * 1024n;

/** Sum of name (without the icp: prefix) and content over the icp:public/private custom sections. */
function metadataBytes(wasm: Uint8Array): bigint {
  const module = new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>);
  let total = 0;
  for (const kind of ['public', 'private']) {
    for (const name of ['candid:service', 'candid:args', 'enhanced-orthogonal-persistence', 'git_commit_id']) {
      for (const section of WebAssembly.Module.customSections(module, `icp:${kind} ${name}`)) total += name.length + section.byteLength;
    }
  }
  return BigInt(total);
}

describe('canister_status memory accounting and canister_info', () => {
  test("memory_size is the IC's sum: heap, stable, globals, binary, metadata, history, chunk store, snapshots", async () => {
    const { replica, ids } = await replicaWithProbes(1);
    const [id] = ids;
    const wasm = await fixtureWasm('probe');
    const before = await replica.canisterStatus({ canisterId: id });
    const m = before.memoryMetrics;
    const c = replica.canister(id)!;
    expect(m.globalMemorySize).toBe(BigInt(c.state.globals.length * 16));
    expect(m.wasmBinarySize).toBe(BigInt(wasm.length));
    expect(m.customSectionsSize).toBe(metadataBytes(wasm));
    expect(m.wasmChunkStoreSize).toBe(0n);
    // Every chunk takes a 1 MiB slot, however small; storing the same chunk again takes nothing.
    for (const chunk of [new Uint8Array([1, 2, 3]), new Uint8Array([4]), new Uint8Array([1, 2, 3])]) await replica.callManagement({ method: 'upload_chunk', arg: { canister_id: id, chunk }, effectiveCanisterId: id });
    const withChunks = await replica.canisterStatus({ canisterId: id });
    expect(withChunks.memoryMetrics.wasmChunkStoreSize).toBe(2n * MiB);
    // A snapshot counts its heap, stable memory, globals, binary, chunk store and certified data.
    await replica.stopCanister({ canisterId: id });
    const [snap] = (await replica.callManagement({ method: 'take_canister_snapshot', arg: { canister_id: id, replace_snapshot: [], uninstall_code: [] }, effectiveCanisterId: id })) as { total_size: bigint }[];
    const s = c.state;
    expect(snap.total_size).toBe(BigInt(s.heap.byteLength + s.stable.byteLength + wasm.length + s.certifiedData.length + s.globals.length * 16) + 2n * MiB);
    const after = await replica.canisterStatus({ canisterId: id });
    expect(after.memoryMetrics.snapshotsSize).toBe(snap.total_size);
    const parts = Object.values(after.memoryMetrics as Record<string, bigint>).reduce((a, b) => a + b, 0n);
    expect(after.memorySize).toBe(parts);
    expect(after.memoryMetrics.canisterHistorySize).toBeGreaterThan(0n);
  });

  test('canister_info: controllers, module hash and the recent changes, for canisters only', async () => {
    const { replica, ids, actors } = await replicaWithProbes(2);
    const [caller, subject] = ids;
    const wasm = await fixtureWasm('probe');
    await replica.upgradeCanister({ canisterId: subject, wasm, arg: probeInitArg('again') });
    const owner = Principal.selfAuthenticating(new Uint8Array(32).fill(9));
    const controllers = [Principal.anonymous(), owner];
    const settings = { controllers: [controllers], compute_allocation: [], memory_allocation: [], freezing_threshold: [], reserved_cycles_limit: [], log_visibility: [], wasm_memory_limit: [], wasm_memory_threshold: [], environment_variables: [] };
    await replica.callManagement({ method: 'update_settings', arg: { canister_id: subject, settings, sender_canister_version: [] }, effectiveCanisterId: subject });

    const [argTypes, resultTypes] = MANAGEMENT_METHODS.canister_info;
    const ask = async (n: bigint) => {
      const answer: string = await actors[0].callRaw(Principal.managementCanister(), 'canister_info', new Uint8Array(IDL.encode(argTypes, [{ canister_id: subject, num_requested_changes: [n] }])));
      expect(answer).toMatch(/^reply:/);
      return IDL.decode(resultTypes, Uint8Array.from(Buffer.from(answer.slice(6), 'hex')))[0] as Record<string, any>;
    };
    const info = await ask(10n);
    expect(info.total_num_changes).toBe(4n); // creation, install, upgrade, controllers change
    expect(info.recent_changes.map((ch: any) => Object.keys(ch.details)[0])).toEqual(['creation', 'code_deployment', 'code_deployment', 'controllers_change']);
    expect(info.recent_changes[2].details.code_deployment.mode).toEqual({ upgrade: null });
    expect(Buffer.from(info.module_hash[0]).equals(Buffer.from(replica.canister(subject)!.module!.hash))).toBe(true);
    expect(info.controllers.map((p: Principal) => p.toText())).toEqual(controllers.map((p) => p.toText()));
    expect(info.recent_changes[3].origin).toEqual({ from_user: { user_id: Principal.anonymous() } });
    // Each change records the version after it (later executions, e.g. Azle's timers, bump it further).
    expect(info.recent_changes[3].canister_version).toBeGreaterThan(info.recent_changes[2].canister_version);
    expect(info.recent_changes[3].canister_version).toBeLessThanOrEqual((await replica.canisterStatus({ canisterId: subject })).version);
    expect((await ask(1n)).recent_changes).toHaveLength(1);
    expect((await ask(0n)).recent_changes).toHaveLength(0);
    // Users cannot ask: the IC serves canister_info to canisters only.
    await expect(replica.callManagement({ method: 'canister_info', arg: { canister_id: caller, num_requested_changes: [] }, effectiveCanisterId: caller })).rejects.toMatchObject({ rejectCode: 4 });
  });

  test('a module exporting its memory under another name installs and runs', async () => {
    const m = new ModuleBuilder();
    m.memoryName = 'heap';
    m.custom('icp:public candid:service', [...Buffer.from('service : {}')]);
    m.custom('icp:private git_commit_id', [1, 2, 3]);
    m.custom('name', [1, 2, 3, 4]); // not metadata: not counted
    const append = m.import('msg_reply_data_append', [I32, I32]);
    const reply = m.import('msg_reply', []);
    m.func([...op.i32(0), ...op.i32(0), ...op.i32Load, ...op.i32(1), ...op.i32Add, ...op.i32Store, ...op.i32(0), ...op.i32(4), ...op.call(append), ...op.call(reply)], { export: 'canister_update inc' });
    const replica = await LocalReplica.create();
    const id = await replica.createCanister();
    await replica.installCode({ canisterId: id, wasm: m.build() });
    const read = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset).getInt32(0, true);
    expect(read(await replica.updateCall({ canisterId: id, method: 'inc', arg: new Uint8Array() }))).toBe(1);
    expect(read(await replica.updateCall({ canisterId: id, method: 'inc', arg: new Uint8Array() }))).toBe(2);
    const metrics = (await replica.canisterStatus({ canisterId: id })).memoryMetrics;
    expect(metrics.wasmMemorySize).toBe(2n * 64n * 1024n);
    expect(metrics.customSectionsSize).toBe(BigInt('candid:service'.length + 'service : {}'.length + 'git_commit_id'.length + 3));
  });
});
