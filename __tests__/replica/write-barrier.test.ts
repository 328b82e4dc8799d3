// The write barrier (lib/replica/write-barrier.ts): commits and rollbacks visit only the heap pages
// stores marked, so every way a canister can write its heap must mark them — plain stores of each
// width, stores that straddle a page boundary, static offsets, memory.fill / memory.copy, System
// API copies into the heap, memory.grow. A hand-written canister does all of them; replicas with
// the barrier 'verified' (every execution also compared page by page) and without it (the old
// whole-heap compare) must agree on every byte and every counted instruction.
import type { Principal } from '@dfinity/principal';
import { LocalReplica, type LocalReplicaOptions } from '../../lib/replica/index.js';
import { I32, ModuleBuilder, op, u32 } from './wasm-builder.js';

const PAGE = 65536;
const PAGES = 20;

/** A store instruction: opcode, alignment, static offset. */
const store = (opcode: number, offset = 0): number[] => [opcode, 0, ...u32(offset)];
/** Store opcodes by name. */
const OP = { i32: 0x36, i64: 0x37, f64: 0x39, i32x8: 0x3a, i32x16: 0x3b, i64x16: 0x3d, i64x32: 0x3e };

function scribbler(): Uint8Array {
  const m = new ModuleBuilder();
  m.memoryPages = PAGES;
  const append = m.import('msg_reply_data_append', [I32, I32]);
  const reply = m.import('msg_reply', []);
  const argSize = m.import('msg_arg_data_size', [], [I32]);
  const argCopy = m.import('msg_arg_data_copy', [I32, I32, I32]);
  const g = m.global(0); // changes every scribble, so each one writes new bytes
  const notG = [...op.globalGet(g), 0xad, ...op.i64(-1), 0x85]; // i64: ~g (no zero byte)
  const gPlus = (n: number): number[] => [...op.globalGet(g), ...op.i32(n), ...op.i32Add];
  const everyFourthPage = [
    ...op.i32(0), 0x21, 0,
    ...op.loop([
      ...op.localGet(0), ...op.i32(16), 0x74, ...gPlus(0), ...op.localGet(0), ...op.i32Add, ...store(OP.i32, 1000),
      ...op.localGet(0), ...op.i32(4), ...op.i32Add, 0x22, 0, ...op.i32(PAGES), 0x49, 0x0d, 0
    ])
  ];
  const scribble = m.func(
    [
      ...everyFourthPage, // pages 0, 4, 8, 12, 16
      ...op.i32(6 * PAGE - 4), ...notG, ...store(OP.i64), // straddles pages 5 and 6
      ...op.i32(9 * PAGE + 10), ...gPlus(1), ...op.i32(100), 0xfc, 0x0b, 0x00, // memory.fill in page 9 ...
      ...op.i32(10 * PAGE - 1), ...gPlus(1), 0xad, ...op.i64(56), 0x86, ...store(OP.i64), // ... then (g + 1) << 56 from page 9: only its 7th byte in page 10 changes
      ...op.i32(2 * PAGE + 10), ...gPlus(1), ...op.i32(5000), 0xfc, 0x0b, 0x00, // only memory.fill writes page 2
      ...op.i32(3 * PAGE + 100), ...op.i32(0), ...op.call(argSize), ...op.call(argCopy), // only the System API writes page 3
      ...op.i32(13 * PAGE + 100), ...op.i32(0), ...op.call(argSize), ...op.call(argCopy), // it writes page 13 ...
      ...op.i32(14 * PAGE - 4), ...notG, ...store(OP.i64), // ... then a store from page 13 into 14
      ...op.i32(17 * PAGE - 100), ...op.i32(6 * PAGE - 4), ...op.i32(200), 0xfc, 0x0a, 0x00, 0x00, // memory.copy over pages 16-17
      ...op.i32(0), ...gPlus(7), ...store(OP.i32x8, 18 * PAGE + 7), // the page comes from the static offset
      ...op.i32(19 * PAGE + 8), ...gPlus(1), 0xb7, ...store(OP.f64),
      ...op.i32(11 * PAGE + 4), ...notG, ...store(OP.i64x32),
      ...op.i32(7 * PAGE), ...notG, ...store(OP.i64x16),
      ...op.i32(15 * PAGE + 2), ...gPlus(1), ...store(OP.i32x16),
      ...gPlus(1), ...op.globalSet(g)
    ],
    { locals: 1 }
  );
  const reply4 = (value: number[]): number[] => [...op.i32(0), ...value, ...op.i32Store, ...op.i32(0), ...op.i32(4), ...op.call(append), ...op.call(reply)];
  m.func([...op.call(scribble), ...reply4(op.i32(0))], { export: 'canister_update scribble' });
  m.func([...op.call(scribble), ...op.unreachable], { export: 'canister_update scribble_then_trap' });
  m.func([...op.call(scribble), ...reply4(op.globalGet(g))], { export: 'canister_query scribble_q' });
  m.func([...op.i32(1), 0x40, 0x00, ...op.drop, ...op.i32(PAGES * PAGE + 5), ...op.i32(9), ...op.i32Store, ...op.unreachable], { export: 'canister_update grow_then_trap' });
  m.func([...op.i32(0), ...op.i32(PAGES * PAGE), ...op.call(append), ...op.call(reply)], { export: 'canister_query dump' });
  return m.build();
}

const ARG = new Uint8Array(64).fill(0xab);

async function setup(writeBarrier: LocalReplicaOptions['writeBarrier']): Promise<{ replica: LocalReplica; id: Principal }> {
  const replica = await LocalReplica.create({ writeBarrier });
  const id = await replica.createCanister();
  await replica.installCode({ canisterId: id, wasm: scribbler() });
  return { replica, id };
}

const dump = ({ replica, id }: { replica: LocalReplica; id: Principal }): Promise<Uint8Array> => replica.queryCall({ canisterId: id, method: 'dump', arg: ARG });
const call = (s: { replica: LocalReplica; id: Principal }, method: string): Promise<unknown> => s.replica.updateCall({ canisterId: s.id, method, arg: ARG }).catch((e: unknown) => e);

describe('write barrier', () => {
  test('a trapping update that writes many pages, across page boundaries, in bulk and through the System API leaves no trace', async () => {
    const s = await setup('verified');
    await call(s, 'scribble');
    const before = await dump(s);
    const trap = s.replica.updateCall({ canisterId: s.id, method: 'scribble_then_trap', arg: new Uint8Array(64).fill(0xcd) });
    expect(await trap.catch((e: unknown) => e)).toMatchObject({ rejectCode: 5, errorCode: 'IC0502' });
    expect(Buffer.compare(await dump(s), before)).toBe(0);
    expect(await call(s, 'grow_then_trap')).toMatchObject({ rejectCode: 5 });
    expect((await dump(s)).length).toBe(PAGES * PAGE);
    expect(Buffer.compare(await dump(s), before)).toBe(0);
  });

  test('a query that writes then returns keeps nothing: the next call sees the committed heap', async () => {
    const s = await setup('verified');
    const before = await dump(s);
    const reply = await s.replica.queryCall({ canisterId: s.id, method: 'scribble_q', arg: ARG });
    expect(new DataView(reply.buffer, reply.byteOffset).getInt32(0, true)).toBe(1); // it did write
    expect(Buffer.compare(await dump(s), before)).toBe(0);
    await call(s, 'scribble'); // the same writes, committed this time
    const after = await dump(s);
    expect(after.subarray(3 * PAGE + 100, 3 * PAGE + 164)).toEqual(ARG);
    expect(after[10 * PAGE + 6]).toBe(1); // the top byte of the store that crossed from page 9 into 10
    // Re-instantiated from the committed copy alone, the canister has every byte it wrote.
    s.replica.canister(s.id)!.hibernate();
    expect(Buffer.compare(await dump(s), after)).toBe(0);
  });

  test('with and without the barrier, the same calls leave the same heap and count the same instructions', async () => {
    const marked = await setup('verified');
    const compared = await setup(false);
    for (const method of ['scribble', 'scribble_then_trap', 'scribble', 'grow_then_trap', 'scribble']) {
      await Promise.all([call(marked, method), call(compared, method)]);
      await Promise.all([marked, compared].map((s) => s.replica.queryCall({ canisterId: s.id, method: 'scribble_q', arg: ARG })));
      expect(Buffer.compare(await dump(marked), await dump(compared))).toBe(0);
    }
    expect(marked.replica.canister(marked.id)!.instructionsExecuted).toBe(compared.replica.canister(compared.id)!.instructionsExecuted);
  });
});
