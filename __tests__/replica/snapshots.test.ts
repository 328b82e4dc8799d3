import { Principal } from '@dfinity/principal';
import { probeIdl, replicaWithProbes, type ProbeActor } from './helpers.js';

const alice = Principal.selfAuthenticating(new Uint8Array(32).fill(1));
const CHUNK = 2_000_000n;

describe('canister snapshots', () => {
  test('take, load back, load onto another canister, list, delete', async () => {
    const { replica, ids, actors } = await replicaWithProbes(2);
    const [a, b] = actors;
    await a.increment();
    await a.increment();
    await a.putStable('s', 'one');
    const take = () => replica.callManagement({ method: 'take_canister_snapshot', arg: { canister_id: ids[0], replace_snapshot: [], uninstall_code: [] }, effectiveCanisterId: ids[0] });
    // A snapshot captures a whole state: the canister must be stopped first, as on the IC.
    await expect(take()).rejects.toMatchObject({ rejectCode: 5, errorCode: 'IC0510' });
    await replica.stopCanister({ canisterId: ids[0] });
    const [snap] = (await take()) as { id: Uint8Array; total_size: bigint }[];
    expect(snap.total_size).toBeGreaterThan(64n * 1024n * 1024n);
    await replica.startCanister({ canisterId: ids[0] });
    await a.increment();
    await a.putStable('s', 'two');

    const load = () => replica.callManagement({ method: 'load_canister_snapshot', arg: { canister_id: ids[0], snapshot_id: snap.id, sender_canister_version: [] }, effectiveCanisterId: ids[0] });
    await expect(load()).rejects.toMatchObject({ rejectCode: 5, errorCode: 'IC0510' });
    expect(await a.getCounter()).toBe(3n); // the refused load changed nothing
    await replica.stopCanister({ canisterId: ids[0] });
    await load();
    await replica.startCanister({ canisterId: ids[0] });
    expect(await a.getCounter()).toBe(2n);
    expect(await a.getStable('s')).toEqual(['one']);

    // Onto another canister: the caller controls both, and a checkpoint has written the
    // snapshot out (see the test below). The clone keeps its own id.
    await replica.checkpoint();
    await replica.stopCanister({ canisterId: ids[1] });
    await replica.callManagement({ method: 'load_canister_snapshot', arg: { canister_id: ids[1], snapshot_id: snap.id, sender_canister_version: [] }, effectiveCanisterId: ids[1] });
    await replica.startCanister({ canisterId: ids[1] });
    expect(await b.getCounter()).toBe(2n);
    expect(await b.getStable('s')).toEqual(['one']);
    expect((await b.self()).toText()).toBe(ids[1].toText());
    await b.increment();
    expect(await a.getCounter()).toBe(2n); // independent copies

    // A canister whose controller does not control the snapshot's owner cannot load it.
    const foreign = await replica.createCanister({ sender: alice });
    await replica.stopCanister({ canisterId: foreign, sender: alice });
    await expect(
      replica.callManagement({ method: 'load_canister_snapshot', arg: { canister_id: foreign, snapshot_id: snap.id, sender_canister_version: [] }, sender: alice, effectiveCanisterId: foreign })
    ).rejects.toMatchObject({ rejectCode: 5, errorCode: 'IC0512' });

    const [list] = (await replica.callManagement({ method: 'list_canister_snapshots', arg: { canister_id: ids[0] }, effectiveCanisterId: ids[0] })) as unknown[][];
    expect(list).toHaveLength(1);
    expect((await replica.canisterStatus({ canisterId: ids[0] })).memoryMetrics.snapshotsSize).toBe(snap.total_size);
    await replica.callManagement({ method: 'delete_canister_snapshot', arg: { canister_id: ids[0], snapshot_id: snap.id }, effectiveCanisterId: ids[0] });
    await replica.stopCanister({ canisterId: ids[0] });
    await expect(load()).rejects.toMatchObject({ rejectCode: 3, errorCode: 'IC0305' });
  });

  test('a snapshot of a canister changed since the last checkpoint loads elsewhere only after the next one', async () => {
    const { replica, ids, actors } = await replicaWithProbes(3, { checkpointIntervalRounds: 50, checkpointIntervalMs: 60_000 });
    const takeOf = async (id: Principal) => {
      await replica.stopCanister({ canisterId: id });
      const [snap] = (await replica.callManagement({ method: 'take_canister_snapshot', arg: { canister_id: id, replace_snapshot: [], uninstall_code: [] }, effectiveCanisterId: id })) as { id: Uint8Array }[];
      return snap;
    };
    const loadOnto = (target: Principal, snap: { id: Uint8Array }) =>
      replica.callManagement({ method: 'load_canister_snapshot', arg: { canister_id: target, snapshot_id: snap.id, sender_canister_version: [] }, effectiveCanisterId: target });
    await replica.stopCanister({ canisterId: ids[1] });
    await replica.stopCanister({ canisterId: ids[2] });

    // Executed messages since the last checkpoint: refused elsewhere with the IC's code and text.
    await actors[0].increment();
    const snap = await takeOf(ids[0]);
    const refusal = { rejectCode: 4, errorCode: 'IC0406', rejectMessage: `Snapshot ${Buffer.from(snap.id).toString('hex')} is not currently loadable on the specified canister ${ids[1].toText()}. Try again later. The call should succeed if you wait sufficiently long (usually ten minutes).` };
    await expect(loadOnto(ids[1], snap)).rejects.toMatchObject(refusal);
    await loadOnto(ids[0], snap); // its own canister: unaffected

    // Rounds pass (ticks): the 50-round checkpoint writes it out.
    const checkpoints = replica.engine.checkpoints;
    for (let i = 0; i < 50; i++) await replica.tick();
    expect(replica.engine.checkpoints).toBe(checkpoints + 1);
    await loadOnto(ids[1], snap);

    // Replica time passing counts too: the first round after 60 s checkpoints.
    await replica.startCanister({ canisterId: ids[0] });
    const counter: bigint = await actors[0].increment();
    const later = await takeOf(ids[0]);
    await expect(loadOnto(ids[2], later)).rejects.toMatchObject({ errorCode: 'IC0406' });
    await replica.advanceTime(60_000);
    await replica.tick();
    await loadOnto(ids[2], later);
    await replica.startCanister({ canisterId: ids[2] });
    expect(await actors[2].getCounter()).toBe(counter);

    // A canister unchanged since the last checkpoint: its snapshot loads anywhere at once.
    await replica.checkpoint();
    const clean = await takeOf(ids[0]);
    await replica.stopCanister({ canisterId: ids[2] });
    await loadOnto(ids[2], clean);
  });

  test('download a snapshot in chunks and upload it to another canister', async () => {
    const { replica, ids, actors } = await replicaWithProbes(1);
    await actors[0].increment();
    await actors[0].putStable('k', 'copied');
    await replica.stopCanister({ canisterId: ids[0] });
    const [snap] = (await replica.callManagement({ method: 'take_canister_snapshot', arg: { canister_id: ids[0], replace_snapshot: [], uninstall_code: [] }, effectiveCanisterId: ids[0] })) as { id: Uint8Array }[];
    const read = { canister_id: ids[0], snapshot_id: snap.id };
    const [meta] = (await replica.callManagement({ method: 'read_canister_snapshot_metadata', arg: read, effectiveCanisterId: ids[0] })) as Record<string, any>[];
    expect(meta.source).toHaveProperty('taken_from_canister');

    const target = await replica.createCanister();
    const [{ snapshot_id }] = (await replica.callManagement({ method: 'upload_canister_snapshot_metadata', arg: {
        canister_id: target,
        replace_snapshot: [],
        wasm_module_size: meta.wasm_module_size,
        globals: meta.globals,
        wasm_memory_size: meta.wasm_memory_size,
        stable_memory_size: meta.stable_memory_size,
        certified_data: meta.certified_data,
        global_timer: meta.global_timer,
        on_low_wasm_memory_hook_status: meta.on_low_wasm_memory_hook_status
      }, effectiveCanisterId: target })) as { snapshot_id: Uint8Array }[];
    for (const [kind, size] of [
      ['wasm_module', meta.wasm_module_size],
      ['main_memory', meta.wasm_memory_size],
      ['stable_memory', meta.stable_memory_size]
    ] as [string, bigint][]) {
      for (let offset = 0n; offset < size; offset += CHUNK) {
        const length = size - offset < CHUNK ? size - offset : CHUNK;
        const [{ chunk }] = (await replica.callManagement({ method: 'read_canister_snapshot_data', arg: { ...read, kind: { [kind]: { offset, size: length } } }, effectiveCanisterId: ids[0] })) as { chunk: Uint8Array }[];
        expect(BigInt(chunk.length)).toBe(length);
        await replica.callManagement({ method: 'upload_canister_snapshot_data', arg: { canister_id: target, snapshot_id, kind: { [kind]: { offset } }, chunk }, effectiveCanisterId: target });
      }
    }
    await replica.stopCanister({ canisterId: target });
    await replica.callManagement({ method: 'load_canister_snapshot', arg: { canister_id: target, snapshot_id, sender_canister_version: [] }, effectiveCanisterId: target });
    await replica.startCanister({ canisterId: target });
    const clone = replica.createActor<ProbeActor>(probeIdl, target);
    expect(await clone.getCounter()).toBe(1n);
    expect(await clone.getStable('k')).toEqual(['copied']);
    expect(await clone.increment()).toBe(2n);
  });
});
