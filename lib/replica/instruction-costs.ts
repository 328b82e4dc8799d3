// What one Wasm instruction and one System API call cost, in the IC's own units, so that
// `performance_counter`, cycles and IC0522 agree with a real replica. The numbers follow
// dfinity/ic: `instruction_to_cost` in rs/embedders/src/wasm_utils/instrumentation.rs (opcodes),
// the `overhead` table in rs/embedders/src/wasmtime_embedder/system_api_complexity.rs (fixed
// System API charges), the per-byte rules in rs/embedders/src/wasmtime_embedder/linker.rs
// (`charge_for_cpu_and_mem`, BYTE_TRANSMISSION_COST_FACTOR) and the Wasm-native stable memory
// functions in rs/embedders/src/wasm_utils/system_api_replacements.rs (20 + 1 per byte, 1,000 per
// newly dirtied 4 KiB page). Written from reading those files; the table layout is ours.
// Wasm32 costs; a 64-bit memory pays 2 for loads and stores, as on the IC.

/** Opcodes the metering pass treats specially (block structure and dynamic costs). */
export const Op = {
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  brTable: 0x0e,
  return: 0x0f,
  returnCall: 0x12,
  returnCallIndirect: 0x13,
  prefixFC: 0xfc
} as const;

/** 0xFC sub-opcodes whose size operand (top of stack) is charged 1 per byte/element at run time. */
export const FC_MEMORY_INIT = 8;
export const FC_MEMORY_COPY = 10;
export const FC_MEMORY_FILL = 11;
export const FC_TABLE_INIT = 12;
export const FC_TABLE_COPY = 14;
export const FC_TABLE_FILL = 17;

/** Every instruction the IC does not list costs 1. */
const DEFAULT_COST = 1;

const SINGLE_BYTE = buildSingleByteTable();

function buildSingleByteTable(): Uint16Array {
  const t = new Uint16Array(256).fill(DEFAULT_COST);
  const set = (from: number, to: number, cost: number): void => void t.fill(cost, from, to + 1);
  set(0x02, 0x03, 0); // block, loop: they only mark structure
  set(0x05, 0x05, 0); // else
  set(0x0b, 0x0b, 0); // end
  set(0x04, 0x04, 2); // if
  set(0x0c, 0x0e, 2); // br, br_if, br_table
  set(0x10, 0x10, 5); // call (imports included: the System API's own overhead comes on top)
  set(0x11, 0x11, 10); // call_indirect
  set(0x12, 0x12, 3); // return_call
  set(0x13, 0x13, 60); // return_call_indirect
  set(0x23, 0x24, 2); // global.get, global.set
  set(0x25, 0x26, 5); // table.get, table.set
  set(0x3f, 0x3f, 20); // memory.size
  set(0x40, 0x40, 300); // memory.grow
  set(0x5b, 0x66, 3); // f32/f64 comparisons
  set(0x6d, 0x70, 10); // i32 div_s, div_u, rem_s, rem_u
  set(0x7f, 0x82, 10); // i64 div_s, div_u, rem_s, rem_u
  // f32 unary and binary operators, 0x8b abs … 0x98 copysign.
  [1, 1, 2, 2, 2, 2, 5, 2, 2, 2, 3, 18, 18, 2].forEach((c, i) => set(0x8b + i, 0x8b + i, c));
  // f64 operators, 0x99 abs … 0xa6 copysign.
  [1, 1, 2, 2, 2, 2, 8, 2, 2, 2, 5, 18, 18, 3].forEach((c, i) => set(0x99 + i, 0x99 + i, c));
  set(0xa8, 0xab, 20); // i32.trunc_f32/f64_s/u
  set(0xae, 0xb1, 20); // i64.trunc_f32/f64_s/u
  // Conversions to float: signed 3, unsigned 16 (0xb2 … 0xba, 0xb6 is f32.demote_f64 at 1).
  [3, 16, 3, 16, 1, 3, 16, 3, 16].forEach((c, i) => set(0xb2 + i, 0xb2 + i, c));
  set(0xd1, 0xd1, 5); // ref.is_null
  set(0xd2, 0xd2, 130); // ref.func
  return t;
}

/** Cost of a single-byte opcode (everything but the 0xFC prefix, which `prefixedCost` prices). */
export function opcodeCost(op: number, memory64: boolean): number {
  if (memory64 && op >= 0x28 && op <= 0x3e) return 2;
  return SINGLE_BYTE[op];
}

/** Static cost of a 0xFC-prefixed instruction (the bulk ones also pay their size at run time). */
export function prefixedCost(sub: number): number {
  if (sub <= 7) return 20; // saturating float-to-int truncations
  if (sub === 9 || sub === 13 || sub === 15) return 300; // data.drop, elem.drop, table.grow
  return 100; // memory/table init, copy, fill; table.size
}

/** The size operand of these instructions is charged as instructions before they run. */
export function hasDynamicCost(sub: number): boolean {
  return sub === FC_MEMORY_INIT || sub === FC_MEMORY_COPY || sub === FC_MEMORY_FILL || sub === FC_TABLE_INIT || sub === FC_TABLE_COPY || sub === FC_TABLE_FILL;
}

/**
 * Fixed instructions charged when a System API function is called (on top of the `call`'s 5).
 * Functions not listed cost 500, the IC's common overhead.
 */
const SYSTEM_API_COMMON_OVERHEAD = 500n;
const SYSTEM_API_OVERHEAD: Readonly<Record<string, bigint>> = {
  call_new: 1_500n,
  call_perform: 5_000n,
  debug_print: 100n,
  is_controller: 1_000n,
  performance_counter: 200n,
  // Stable memory is Wasm-native on the IC: size costs nothing beyond the call, grow 100,
  // reads and writes 20 plus their bytes.
  stable_size: 0n,
  stable64_size: 0n,
  stable_grow: 100n,
  stable64_grow: 100n,
  stable_read: 20n,
  stable64_read: 20n,
  stable_write: 20n,
  stable64_write: 20n
};

export function systemApiOverhead(name: string): bigint {
  return SYSTEM_API_OVERHEAD[name] ?? SYSTEM_API_COMMON_OVERHEAD;
}

/**
 * Bytes that leave the canister (reply, reject, inter-canister payload) cost this many
 * instructions each; bytes copied between the heap and the System API (arguments, caller,
 * stable memory, log lines, …) cost 1.
 */
export const TRANSMITTED_BYTE_COST = 50n;
export const COPIED_BYTE_COST = 1n;

/** A stable memory write pays this for every 4 KiB page it dirties first in the message. */
export const STABLE_DIRTY_PAGE_COST = 1_000n;
export const OS_PAGE_BYTES = 4096;

/**
 * The OS pages of [offset, offset + size) not yet in `dirty`, which it then adds: what a stable
 * write is charged STABLE_DIRTY_PAGE_COST for.
 */
export function newlyDirtiedPages(dirty: Set<number>, offset: number, size: number): number {
  if (size <= 0) return 0;
  let fresh = 0;
  for (let page = Math.floor(offset / OS_PAGE_BYTES), last = Math.floor((offset + size - 1) / OS_PAGE_BYTES); page <= last; page++) {
    if (dirty.has(page)) continue;
    dirty.add(page);
    fresh++;
  }
  return fresh;
}
