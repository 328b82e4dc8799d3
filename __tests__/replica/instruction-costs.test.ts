// Exact instruction counts, one cost class per test, on hand-assembled canisters: the replica must
// count what the IC's instrumentation and System API would count (lib/replica/instruction-costs.ts
// names the IC sources). Each expectation is written out from the IC's rules, not measured.
import type { Principal } from '@dfinity/principal';

import { LocalReplica } from '../../lib/replica/index.js';
import { I32, I64, ModuleBuilder, op } from './wasm-builder.js';

const ARG = new Uint8Array([1, 2, 3]);
/** The function's entry segment starts at 1 on the IC, so an empty function costs 1. */
const ENTRY = 1;
/** `call msg_reply`: the call instruction (5) plus msg_reply's overhead (500). */
const REPLY = 5 + 500;

interface Fixture {
  replica: LocalReplica;
  id: Principal;
  /** Instructions the canister executed for one update call (its callbacks included). */
  count(method: string, arg?: Uint8Array): Promise<bigint>;
  call(method: string): Promise<Uint8Array>;
}

/** `define` adds exported `canister_update <name>` functions to a module that knows its own id. */
async function fixture(define: (m: ModuleBuilder, imports: Record<string, number>, selfId: Uint8Array) => void): Promise<Fixture> {
  const replica = await LocalReplica.create({ seed: 11 });
  const id = await replica.createCanister();
  const m = new ModuleBuilder();
  const imports: Record<string, number> = {
    reply: m.import('msg_reply', []),
    append: m.import('msg_reply_data_append', [I32, I32]),
    argCopy: m.import('msg_arg_data_copy', [I32, I32, I32]),
    time: m.import('time', [], [I64]),
    counter: m.import('performance_counter', [I32], [I64]),
    debugPrint: m.import('debug_print', [I32, I32]),
    callNew: m.import('call_new', [I32, I32, I32, I32, I32, I32, I32, I32]),
    callPerform: m.import('call_perform', [], [I32]),
    callData: m.import('call_data_append', [I32, I32]),
    isController: m.import('is_controller', [I32, I32], [I32]),
    stableSize: m.import('stable64_size', [], [I64]),
    stableGrow: m.import('stable64_grow', [I64], [I64]),
    stableWrite: m.import('stable64_write', [I64, I64, I64]),
    stableRead: m.import('stable64_read', [I64, I64, I64])
  };
  define(m, imports, id.toUint8Array());
  await replica.installCode({ canisterId: id, wasm: m.build() });
  const executed = (): bigint => replica.canister(id)!.instructionsExecuted;
  return {
    replica,
    id,
    call: (method) => replica.updateCall({ canisterId: id, method: method, arg: ARG }),
    async count(method, arg = ARG) {
      const before = executed();
      await replica.updateCall({ canisterId: id, method: method, arg: arg });
      return executed() - before;
    }
  };
}

/** An exported update whose body ends by replying (empty). */
function update(m: ModuleBuilder, imports: Record<string, number>, name: string, body: number[], locals = 0): void {
  m.func([...body, ...op.call(imports.reply)], { export: `canister_update ${name}`, locals });
}

describe('instruction costs as the IC counts them', () => {
  let f: Fixture;
  afterEach(async () => f.replica.tearDown());

  test('plain opcodes cost 1 each', async () => {
    f = await fixture((m, im) => update(m, im, 'plain', [...op.i32(1), ...op.i32(2), ...op.i32Add, ...op.drop, 0x01 /* nop */]));
    expect(await f.count('plain')).toBe(BigInt(ENTRY + 5 + REPLY));
  });

  test('block, loop, else and end cost nothing; a loop iteration pays its body and its branch', async () => {
    f = await fixture((m, im) => {
      // block (i32.const 1; drop) end; loop end; i32.const 0; if else end
      update(m, im, 'structure', [0x02, 0x40, ...op.i32(1), ...op.drop, 0x0b, 0x03, 0x40, 0x0b, ...op.i32(0), 0x04, 0x40, 0x05, 0x0b]);
      // local0 = n; loop { local0 -= 1 (get, const, sub, tee); br_if 0 }
      const spin = (n: number): number[] => [...op.i32(n), 0x21, 0, 0x03, 0x40, ...op.localGet(0), ...op.i32(1), 0x6b, 0x22, 0, 0x0d, 0, 0x0b];
      update(m, im, 'loop10', spin(10), 1);
      update(m, im, 'loop1000', spin(1000), 1);
    });
    expect(await f.count('structure')).toBe(BigInt(ENTRY + 1 + 1 + 1 + 2 /* if */ + REPLY));
    // 2 before the loop, then 4 + br_if 2 per iteration.
    expect(await f.count('loop10')).toBe(BigInt(ENTRY + 2 + 6 * 10 + REPLY));
    expect(await f.count('loop1000')).toBe(BigInt(ENTRY + 2 + 6 * 1000 + REPLY));
  });

  test('call costs 5 and call_indirect 10, plus the callee (which starts at 1)', async () => {
    f = await fixture((m, im) => {
      const empty = m.func([]);
      const slot = m.tableEntry(empty);
      update(m, im, 'direct', [...op.call(empty), ...op.call(empty)]);
      const typeOfEmpty = 0; // the builder's first type is () -> (), shared by imports and `empty`
      update(m, im, 'indirect', [...op.i32(slot), 0x11, typeOfEmpty, 0x00]);
    });
    expect(await f.count('direct')).toBe(BigInt(ENTRY + 2 * (5 + ENTRY) + REPLY));
    expect(await f.count('indirect')).toBe(BigInt(ENTRY + 1 + 10 + ENTRY + REPLY));
  });

  test('global.get and global.set cost 2', async () => {
    f = await fixture((m, im) => {
      const g = m.global(0);
      update(m, im, 'globals', [...op.globalGet(g), ...op.i32(1), ...op.i32Add, ...op.globalSet(g)]);
    });
    expect(await f.count('globals')).toBe(BigInt(ENTRY + 2 + 1 + 1 + 2 + REPLY));
  });

  test('if, br, br_if and br_table cost 2; code after a taken branch is not charged', async () => {
    f = await fixture((m, im) => {
      // block { i32.const 1; br_if 0; i32.const 7; drop } ; block { i32.const 0; br_table 0 0 } ;
      // block { br 0; i32.const 9; drop (dead) } ; i32.const 1; if end
      update(m, im, 'branches', [
        0x02, 0x40, ...op.i32(1), 0x0d, 0, ...op.i32(7), ...op.drop, 0x0b,
        0x02, 0x40, ...op.i32(0), 0x0e, 1, 0, 0, 0x0b,
        0x02, 0x40, 0x0c, 0, ...op.i32(9), ...op.drop, 0x0b,
        ...op.i32(1), 0x04, 0x40, 0x0b
      ]);
    });
    expect(await f.count('branches')).toBe(BigInt(ENTRY + (1 + 2) + (1 + 2) + 2 + (1 + 2) + REPLY));
  });

  test('integer division and remainder cost 10', async () => {
    f = await fixture((m, im) => update(m, im, 'division', [...op.i32(7), ...op.i32(2), 0x6e /* i32.div_u */, ...op.drop, ...op.i64(7), ...op.i64(2), 0x81 /* i64.rem_s */, ...op.drop]));
    expect(await f.count('division')).toBe(BigInt(ENTRY + (2 + 10 + 1) * 2 + REPLY));
  });

  test('memory.fill and memory.copy cost 100 plus 1 per byte', async () => {
    f = await fixture((m, im) => {
      update(m, im, 'fill', [...op.i32(0), ...op.i32(0xab), ...op.i32(3000), 0xfc, 11, 0]);
      update(m, im, 'copy', [...op.i32(4000), ...op.i32(0), ...op.i32(1234), 0xfc, 10, 0, 0]);
    });
    expect(await f.count('fill')).toBe(BigInt(ENTRY + 3 + 100 + 3000 + REPLY));
    expect(await f.count('copy')).toBe(BigInt(ENTRY + 3 + 100 + 1234 + REPLY));
  });

  test('System API calls pay their fixed overhead: 500 by default, 200 for performance_counter, 100 + bytes for debug_print, 1,000 + bytes for is_controller, 0 for stable64_size', async () => {
    f = await fixture((m, im, self) => {
      m.segment(100, self);
      update(m, im, 'time', [...op.call(im.time), ...op.drop]);
      update(m, im, 'print', [...op.i32(0), ...op.i32(12), ...op.call(im.debugPrint)]);
      update(m, im, 'controller', [...op.i32(100), ...op.i32(self.length), ...op.call(im.isController), ...op.drop]);
      update(m, im, 'stable_size', [...op.call(im.stableSize), ...op.drop]);
    });
    expect(await f.count('time')).toBe(BigInt(ENTRY + 5 + 500 + 1 + REPLY));
    expect(await f.count('print')).toBe(BigInt(ENTRY + 2 + 5 + 100 + 12 + REPLY));
    expect(await f.count('controller')).toBe(BigInt(ENTRY + 2 + 5 + 1_000 + f.id.toUint8Array().length + 1 + REPLY));
    expect(await f.count('stable_size')).toBe(BigInt(ENTRY + 5 + 0 + 1 + REPLY));
  });

  test('performance_counter includes the System API charges made so far', async () => {
    f = await fixture((m, im) => {
      m.func(
        [
          ...op.call(im.time), ...op.drop,
          ...op.i32(0), ...op.i32(0), ...op.call(im.counter), 0x37, 3, 0, // i64.store
          ...op.i32(0), ...op.i32(8), ...op.call(im.append), ...op.call(im.reply)
        ],
        { export: 'canister_update counter' }
      );
    });
    // The entry segment (27) is charged as the function starts, then time (500) and the counter's own 200.
    const staticCost = ENTRY + (5 + 1) + (1 + 1 + 5 + 1) + (1 + 1 + 5) + 5;
    const reply = await f.call('counter');
    expect(new DataView(reply.buffer, reply.byteOffset).getBigUint64(0, true)).toBe(BigInt(staticCost + 500 + 200));
    expect(await f.count('counter')).toBe(BigInt(staticCost + 500 + 200 + 500 + 50 * 8 + 500));
  });

  test('copies into the heap cost 1 per byte; reply data costs 50 per byte', async () => {
    f = await fixture((m, im) => {
      update(m, im, 'arg', [...op.i32(0), ...op.i32(0), ...op.i32(3), ...op.call(im.argCopy)]);
      m.func([...op.i32(0), ...op.i32(100), ...op.call(im.append), ...op.call(im.reply)], { export: 'canister_update reply100' });
    });
    expect(await f.count('arg')).toBe(BigInt(ENTRY + 3 + 5 + 500 + 3 + REPLY));
    expect(await f.count('reply100')).toBe(BigInt(ENTRY + 2 + 5 + 500 + 50 * 100 + REPLY));
  });

  test('call_new costs 1,500 plus its name and callee bytes, call_data_append 500 + 50 per byte, call_perform 5,000', async () => {
    f = await fixture((m, im, self) => {
      m.segment(100, self);
      m.segment(200, Buffer.from('ping'));
      update(m, im, 'ping', []);
      const onReply = m.tableEntry(m.func(op.call(im.reply), { params: [I32] }));
      m.func(
        [
          ...op.i32(100), ...op.i32(self.length), ...op.i32(200), ...op.i32(4),
          ...op.i32(onReply), ...op.i32(0), ...op.i32(onReply), ...op.i32(0), ...op.call(im.callNew),
          ...op.i32(200), ...op.i32(4), ...op.call(im.callData),
          ...op.call(im.callPerform), ...op.drop
        ],
        { export: 'canister_update call_self' }
      );
    });
    const caller = ENTRY + 8 + 5 + 1_500 + (f.id.toUint8Array().length + 4) + (2 + 5 + 500 + 50 * 4) + 5 + 5_000 + 1;
    const ping = ENTRY + REPLY;
    const callback = ENTRY + REPLY;
    expect(await f.count('call_self')).toBe(BigInt(caller + ping + callback));
  });

  test('stable memory: grow 100, read and write 20 plus 1 per byte, and 1,000 per 4 KiB page a message dirties first', async () => {
    f = await fixture((m, im) => {
      const write = (offset: number, size: number): number[] => [...op.i64(offset), ...op.i64(0), ...op.i64(size), ...op.call(im.stableWrite)];
      update(m, im, 'grow', [...op.i64(1), ...op.call(im.stableGrow), ...op.drop]);
      // 5,000 bytes at 0 dirty pages 0 and 1; the same range again dirties nothing new; 1 byte at 8192 dirties page 2.
      update(m, im, 'write', [...write(0, 5000), ...write(0, 5000), ...write(8192, 1)]);
      update(m, im, 'read', [...op.i64(0), ...op.i64(0), ...op.i64(10), ...op.call(im.stableRead)]);
    });
    expect(await f.count('grow')).toBe(BigInt(ENTRY + 1 + 5 + 100 + 1 + REPLY));
    const writeCall = (size: number): number => 3 + 5 + 20 + size;
    expect(await f.count('write')).toBe(BigInt(ENTRY + writeCall(5000) + writeCall(5000) + writeCall(1) + 3 * 1_000 + REPLY));
    // A new message starts with no dirty pages: the same writes pay the page charge again.
    expect(await f.count('write')).toBe(BigInt(ENTRY + writeCall(5000) + writeCall(5000) + writeCall(1) + 3 * 1_000 + REPLY));
    expect(await f.count('read')).toBe(BigInt(ENTRY + 3 + 5 + 20 + 10 + REPLY));
  });

  test('System API charges count against the limit at once (IC0522 inside the call, not after)', async () => {
    const replica = await LocalReplica.create({ seed: 12, instructionLimits: { update: 10_000n } });
    f = { replica } as Fixture;
    const id = await replica.createCanister();
    const m = new ModuleBuilder();
    const print = m.import('debug_print', [I32, I32]);
    m.func([...op.i32(0), ...op.i32(20_000), ...op.call(print), ...op.unreachable], { export: 'canister_update big_print' });
    await replica.installCode({ canisterId: id, wasm: m.build() });
    await expect(replica.updateCall({ canisterId: id, method: 'big_print', arg: ARG })).rejects.toMatchObject({ errorCode: 'IC0522' });
  });
});
