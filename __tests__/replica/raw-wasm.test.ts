// Semantics Azle cannot reach, checked on small hand-assembled canisters.
import { LocalReplica } from '../../lib/replica/index.js';
import { I32, I64, ModuleBuilder, op } from './wasm-builder.js';

const ARG = new Uint8Array([1]); // inspect_message accepts only non-empty arguments

function rawCanister(options: { persistence?: boolean; heartbeat?: boolean } = {}): Uint8Array {
  const m = new ModuleBuilder();
  const append = m.import('msg_reply_data_append', [I32, I32]);
  const reply = m.import('msg_reply', []);
  const rejectCode = m.import('msg_reject_code', [], [I32]);
  const selfSize = m.import('canister_self_size', [], [I32]);
  const selfCopy = m.import('canister_self_copy', [I32, I32, I32]);
  const callNew = m.import('call_new', [I32, I32, I32, I32, I32, I32, I32, I32]);
  const bestEffort = m.import('call_with_best_effort_response', [I32]);
  const perform = m.import('call_perform', [], [I32]);
  const unsupported = m.import('subnet_self_size', [], [I32]);
  const accept = m.import('accept_message', []);
  const argSize = m.import('msg_arg_data_size', [], [I32]);
  const addCycles = m.import('call_cycles_add128', [I64, I64]);
  const time = m.import('time', [], [I64]);
  const timerSet = m.import('global_timer_set', [I64], [I64]);
  const g = m.global(0);
  const reply4 = (value: number[]): number[] => [...op.i32(0), ...value, ...op.i32Store, ...op.i32(0), ...op.i32(4), ...op.call(append), ...op.call(reply)];
  const bump = (n: number): number[] => [...op.globalGet(g), ...op.i32(n), ...op.i32Add, ...op.globalSet(g)];
  m.func([...bump(1), ...reply4(op.globalGet(g))], { export: 'canister_update inc' });
  m.func([...bump(100), ...op.i32(8), ...op.i32(77), ...op.i32Store, ...op.unreachable], { export: 'canister_update inc_then_trap' });
  m.func(reply4(op.globalGet(g)), { export: 'canister_query get' });
  m.func([...bump(1), ...reply4(op.globalGet(g))], { export: 'canister_query inc_q' });
  m.func([...op.call(unsupported), ...op.drop, ...reply4(op.i32(0))], { export: 'canister_update unsupported' });
  m.func([...op.i32(16), ...op.i32(16), ...op.i32Load, ...op.i32(1), ...op.i32Add, ...op.i32Store, ...reply4([...op.i32(16), ...op.i32Load])], { export: 'canister_update mem_inc' });
  const onReply = m.tableEntry(m.func(reply4(op.i32(1000)), { params: [I32] }));
  const onReject = m.tableEntry(m.func(reply4(op.call(rejectCode)), { params: [I32] }));
  m.func(
    [
      ...op.i32(100), ...op.i32(0), ...op.call(selfSize), ...op.call(selfCopy),
      ...op.i32(100), ...op.call(selfSize), ...op.i32(200), ...op.i32(3), ...op.i32(onReply), ...op.i32(0), ...op.i32(onReject), ...op.i32(0), ...op.call(callNew),
      ...op.i32(1), ...op.call(bestEffort),
      ...op.call(perform), ...op.drop
    ],
    { export: 'canister_update call_best_effort' }
  );
  m.func(
    [
      ...op.i32(100), ...op.i32(0), ...op.call(selfSize), ...op.call(selfCopy),
      ...op.i32(100), ...op.call(selfSize), ...op.i32(300), ...op.i32(3), ...op.i32(onReply), ...op.i32(0), ...op.i32(onReject), ...op.i32(0), ...op.call(callNew),
      ...op.i64(0), ...op.i64(1_000_000), ...op.call(addCycles),
      ...op.call(perform), ...op.drop, ...op.unreachable
    ],
    { export: 'canister_update call_then_trap' }
  );
  m.func([...op.call(argSize), ...op.ifThen(op.call(accept))], { export: 'canister_inspect_message' });
  if (options.heartbeat) m.func(bump(1), { export: 'canister_heartbeat' });
  // arm: global_timer_set(time + 1 s); replies 1 when a timer was already armed, else 0.
  m.func([...reply4([...op.call(time), ...op.i64(1_000_000_000), 0x7c, ...op.call(timerSet), 0x50, ...op.i32(1), 0x73])], { export: 'canister_update arm' });
  m.func(bump(1000), { export: 'canister_global_timer' });
  m.segment(200, Buffer.from('get'));
  m.segment(300, Buffer.from('inc'));
  if (options.persistence) m.custom('icp:private enhanced-orthogonal-persistence');
  return m.build();
}

const int = (bytes: Uint8Array): number => new DataView(bytes.buffer, bytes.byteOffset).getInt32(0, true);

async function setup(options: { persistence?: boolean; heartbeat?: boolean } = {}): Promise<{ replica: LocalReplica; id: import('@dfinity/principal').Principal }> {
  const replica = await LocalReplica.create();
  const id = await replica.createCanister();
  await replica.installCode({ canisterId: id, wasm: rawCanister(options) });
  return { replica, id };
}

describe('hand-written canisters', () => {
  test('non-exported mutable globals and memory roll back on trap; queries discard', async () => {
    const { replica, id } = await setup();
    expect(int(await replica.updateCall({ canisterId: id, method: 'inc', arg: ARG }))).toBe(1);
    await expect(replica.updateCall({ canisterId: id, method: 'inc_then_trap', arg: ARG })).rejects.toMatchObject({ rejectCode: 5, errorCode: 'IC0502', rejectMessage: expect.stringContaining('unreachable') });
    expect(int(await replica.queryCall({ canisterId: id, method: 'get', arg: ARG }))).toBe(1);
    expect(int(await replica.queryCall({ canisterId: id, method: 'inc_q', arg: ARG }))).toBe(2);
    expect(int(await replica.queryCall({ canisterId: id, method: 'get', arg: ARG }))).toBe(1);
    expect(int(await replica.updateCall({ canisterId: id, method: 'inc', arg: ARG }))).toBe(2);
  });

  test('an unsupported System API function traps with a clear message', async () => {
    const { replica, id } = await setup();
    await expect(replica.updateCall({ canisterId: id, method: 'unsupported', arg: ARG })).rejects.toMatchObject({
      errorCode: 'IC0504',
      rejectMessage: expect.stringContaining('ic0.subnet_self_size is not supported by the local replica')
    });
  });

  test('canister_inspect_message can refuse ingress', async () => {
    const { replica, id } = await setup();
    await expect(replica.updateCall({ canisterId: id, method: 'inc', arg: new Uint8Array(0) })).rejects.toMatchObject({ rejectCode: 4, errorCode: 'IC0406' });
    expect(int(await replica.updateCall({ canisterId: id, method: 'inc', arg: ARG }))).toBe(1);
  });

  test('a best-effort call times out with SYS_UNKNOWN when its response is late', async () => {
    const { replica, id } = await setup();
    expect(int(await replica.updateCall({ canisterId: id, method: 'call_best_effort', arg: ARG }))).toBe(1000);
    replica.injectFault({ kind: 'delay', to: id.toText(), method: 'get', ms: 5_000 });
    const pending = replica.submitCall({ canisterId: id, method: 'call_best_effort', arg: ARG });
    await replica.runUntilIdle();
    await replica.advanceTime(1_500);
    await replica.runUntilIdle();
    expect(int(await pending)).toBe(6);
    await replica.advanceTime(5_000);
    await replica.runUntilIdle(); // the late response is dropped, nothing breaks
    expect(int(await replica.queryCall({ canisterId: id, method: 'get', arg: ARG }))).toBe(0);
  });

  test('wasm_memory_persistence = keep keeps the heap of a module declaring it', async () => {
    const { replica, id } = await setup({ persistence: true });
    const wasm = rawCanister({ persistence: true });
    expect(int(await replica.updateCall({ canisterId: id, method: 'mem_inc', arg: ARG }))).toBe(1);
    expect(int(await replica.updateCall({ canisterId: id, method: 'mem_inc', arg: ARG }))).toBe(2);
    await replica.installCode({ canisterId: id, wasm, mode: 'upgrade', upgrade: { keepHeap: true } });
    expect(int(await replica.updateCall({ canisterId: id, method: 'mem_inc', arg: ARG }))).toBe(3);
    await replica.installCode({ canisterId: id, wasm, mode: 'upgrade' });
    expect(int(await replica.updateCall({ canisterId: id, method: 'mem_inc', arg: ARG }))).toBe(1);
  });

  test('the heartbeat runs once per round, and not while stopped', async () => {
    const { replica, id } = await setup({ heartbeat: true });
    const start = int(await replica.queryCall({ canisterId: id, method: 'get', arg: ARG }));
    for (let i = 0; i < 3; i++) await replica.tick();
    expect(int(await replica.queryCall({ canisterId: id, method: 'get', arg: ARG }))).toBe(start + 3);
    await replica.stopCanister({ canisterId: id });
    const stopped = replica.canister(id)!.state.globals[0];
    for (let i = 0; i < 3; i++) await replica.tick();
    expect(replica.canister(id)!.state.globals[0]).toBe(stopped);
  });

  test('calls queued before a trap are never sent and their cycles come back', async () => {
    const { replica, id } = await setup();
    const before = (await replica.getCyclesBalance(id));
    await expect(replica.updateCall({ canisterId: id, method: 'call_then_trap', arg: ARG })).rejects.toMatchObject({ errorCode: 'IC0502' });
    await replica.runUntilIdle();
    expect(int(await replica.queryCall({ canisterId: id, method: 'get', arg: ARG }))).toBe(0); // `inc` never ran
    const spent = before - (await replica.getCyclesBalance(id));
    expect(spent).toBeGreaterThanOrEqual(5_000_000n); // the execution fee is charged even on trap
    expect(spent).toBeLessThan(5_100_000n); // but the 1 M cycles attached were not
  });

  test('a query method called as an update runs in replicated mode and keeps no changes', async () => {
    const { replica, id } = await setup();
    expect(int(await replica.updateCall({ canisterId: id, method: 'inc_q', arg: ARG }))).toBe(1);
    expect(int(await replica.updateCall({ canisterId: id, method: 'inc_q', arg: ARG }))).toBe(1);
    expect(int(await replica.queryCall({ canisterId: id, method: 'get', arg: ARG }))).toBe(0);
  });

  test('global_timer_set returns the previous deadline; the timer fires once and upgrades clear it', async () => {
    const { replica, id } = await setup();
    const wasm = rawCanister();
    expect(int(await replica.updateCall({ canisterId: id, method: 'arm', arg: ARG }))).toBe(0);
    expect(int(await replica.updateCall({ canisterId: id, method: 'arm', arg: ARG }))).toBe(1);
    await replica.advanceTime(999);
    await replica.runUntilIdle();
    expect(int(await replica.queryCall({ canisterId: id, method: 'get', arg: ARG }))).toBe(0);
    await replica.advanceTime(1);
    await replica.runUntilIdle();
    await replica.advanceTime(5_000);
    await replica.runUntilIdle();
    expect(int(await replica.queryCall({ canisterId: id, method: 'get', arg: ARG }))).toBe(1000);
    expect(int(await replica.updateCall({ canisterId: id, method: 'arm', arg: ARG }))).toBe(0); // it fired, so it was cleared
    await replica.installCode({ canisterId: id, wasm, mode: 'upgrade' });
    await replica.advanceTime(5_000);
    await replica.runUntilIdle();
    expect(int(await replica.queryCall({ canisterId: id, method: 'get', arg: ARG }))).toBe(0); // fresh globals, timer cleared
    expect(int(await replica.updateCall({ canisterId: id, method: 'arm', arg: ARG }))).toBe(0);
  });
});
