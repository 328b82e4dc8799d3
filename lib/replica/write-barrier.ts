// The write barrier, the instrumentation's fourth job (instrument.ts): every store and every bulk
// memory write marks the 64 KiB heap pages it touches in a table the module gets for it, so that
// after an execution the replica commits or rolls back only the marked pages (dirty-pages.ts)
// instead of comparing the whole heap — that compare was half of an Azle query's time. The
// barrier is not metered: metering.ts computes every charge from the original instructions, and
// the IC does not charge for its own dirty-page tracking either.
//
// Where the marks live: the canister owns its whole memory (no room to hide a bitmap there) and
// Node 20's V8 has no multi-memory, so the marks are a table of externrefs, one entry per page:
// null = dirty, anything else = clean. V8 compiles `table.get` to a load but `table.set` to a
// runtime call, so a store reads its page's entry (shift, load, compare, branch) and calls the
// marking function only when the page is still clean: about once per page per execution. (A
// cache of the last pages marked, in globals, missed on ~40 % of an Azle query's 46,000 stores.)
// An entry stands for its page and the first STRADDLE_BYTES of the next (a store of up to 8 bytes
// that starts in a page reaches at most 7 bytes into the next), so a store that straddles a page
// boundary needs no second check; the replica compares those few bytes of the next page too.
// Only for 32-bit memories: a memory64 module keeps the full compare (heap.ts).
import { sleb, uleb as u32, type Writer } from './wasm-binary.js';

export const BARRIER_PAGE_SHIFT = 16;
/** Table entries: one per 64 KiB page of a 4 GiB memory. */
export const BARRIER_TABLE_SIZE = 2 ** (32 - BARRIER_PAGE_SHIFT);
/** How far a store that starts in a page can reach into the next one (8-byte stores). */
export const STRADDLE_BYTES = 7;
export const DIRTY_TABLE_EXPORT = '__shardorm_dirty';
export const DIRTY_RESET_EXPORT = '__shardorm_dirty_reset';

/** A store or bulk memory write in a function body. */
export interface BarrierSite {
  /** Offset of the instruction's first byte, and right after its immediates. */
  at: number;
  end: number;
  /** Opcode (0x36..0x3e) for stores; the 0xFC sub-opcode (8, 10, 11) for bulk writes. */
  op: number;
  bulk: boolean;
  /** The store's static memarg offset. */
  offset: number;
}

/** Indices the barrier code refers to, fixed per module. */
export interface BarrierIndices {
  table: number;
  markPage: number;
  markRange: number;
}

const STORE_OPS = { first: 0x36, last: 0x3e };
/** 0xFC sub-opcodes that write memory: memory.init, memory.copy, memory.fill. */
const BULK_WRITES = new Set([8, 10, 11]);

export const isStore = (op: number): boolean => op >= STORE_OPS.first && op <= STORE_OPS.last;
export const isBulkWrite = (sub: number): boolean => BULK_WRITES.has(sub);

/**
 * Locals the barrier adds to a function that has sites, after all of its own: three i32 (address,
 * second operand or i32 value, size), then one each of i64, f32, f64 for stored values.
 */
export const BARRIER_LOCALS: [count: number, type: number][] = [
  [3, 0x7f],
  [1, 0x7e],
  [1, 0x7d],
  [1, 0x7c]
];

/** The temporary that holds a store's value while its address is saved. */
function valueLocal(op: number, base: number): number {
  if (op === 0x37 || op === 0x3c || op === 0x3d || op === 0x3e) return base + 3; // i64 stores
  if (op === 0x38) return base + 4; // f32.store
  if (op === 0x39) return base + 5; // f64.store
  return base + 1; // i32 stores
}

/** Code before the instruction: saves the address (and, for bulk writes, the size). */
export function barrierPrefix(w: Writer, site: BarrierSite, base: number): void {
  if (site.bulk) {
    localOp(w, 0x21, base + 2); // size
    localOp(w, 0x21, base + 1); // source / value
    localOp(w, 0x22, base); // destination (tee)
    localOp(w, 0x20, base + 1);
    localOp(w, 0x20, base + 2);
    return;
  }
  const value = valueLocal(site.op, base);
  localOp(w, 0x21, value);
  localOp(w, 0x22, base);
  localOp(w, 0x20, value);
}

/** Code after the instruction (reached only if it did not trap): marks the pages written. */
export function barrierSuffix(w: Writer, site: BarrierSite, base: number, ix: BarrierIndices): void {
  localOp(w, 0x20, base);
  if (site.bulk) {
    localOp(w, 0x20, base + 2);
    call(w, ix.markRange);
    return;
  }
  if (site.offset !== 0) {
    w.byte(0x41);
    w.s64(BigInt(site.offset | 0)); // the effective address fits in u32: the store succeeded
    w.byte(0x6a); // i32.add
  }
  w.bytes(Uint8Array.from([0x41, BARRIER_PAGE_SHIFT, 0x76])); // i32.const 16; i32.shr_u
  localOp(w, 0x22, base);
  // if (!ref.is_null(dirty[page])) markPage(page)
  w.byte(0x25);
  w.u32(ix.table);
  w.bytes(Uint8Array.from([0xd1, 0x45, 0x04, 0x40])); // ref.is_null; i32.eqz; if
  localOp(w, 0x20, base);
  call(w, ix.markPage);
  w.byte(0x0b);
}

/** (func (param $page i32)): dirty[page] = null (a call: V8 runs table.set out of line anyway). */
export function markPageBody(ix: BarrierIndices): Uint8Array {
  return Uint8Array.from([0x00, 0x20, 0x00, 0xd0, 0x6f, 0x26, ...u32(ix.table), 0x0b]);
}

/** (func (param $dst i32) (param $n i32)): marks every page of [dst, dst + n). */
export function markRangeBody(ix: BarrierIndices): Uint8Array {
  // if (n == 0) return; end = (dst + n - 1) >> 16; page = dst >> 16;
  // loop { dirty[page] = null; page++; br_if page <= end }
  return Uint8Array.from([
    0x01, 0x01, 0x7f, // one i32 local: $end (index 2)
    0x20, 0x01, 0x45, 0x04, 0x40, 0x0f, 0x0b,
    0x20, 0x00, 0x20, 0x01, 0x6a, 0x41, 0x01, 0x6b, 0x41, BARRIER_PAGE_SHIFT, 0x76, 0x21, 0x02,
    0x20, 0x00, 0x41, BARRIER_PAGE_SHIFT, 0x76, 0x21, 0x00,
    0x03, 0x40,
    0x20, 0x00, 0xd0, 0x6f, 0x26, ...u32(ix.table),
    0x20, 0x00, 0x41, 0x01, 0x6a, 0x22, 0x00, 0x20, 0x02, 0x4d, 0x0d, 0x00,
    0x0b,
    0x0b
  ]);
}

/** (func (param $clean externref)): every entry clean (after instantiation). */
export function resetBody(ix: BarrierIndices): Uint8Array {
  return Uint8Array.from([
    0x00,
    0x41, 0x00, 0x20, 0x00, 0x41, ...sleb(BARRIER_TABLE_SIZE), 0xfc, 0x11, ...u32(ix.table), // table.fill
    0x0b
  ]);
}

/** The table entry: externref, exactly BARRIER_TABLE_SIZE entries. */
export function barrierTableType(): Uint8Array {
  return Uint8Array.from([0x6f, 0x01, ...u32(BARRIER_TABLE_SIZE), ...u32(BARRIER_TABLE_SIZE)]);
}

/** Function types of markPage, markRange and reset, in that order. */
export const BARRIER_TYPES = [Uint8Array.from([0x60, 0x01, 0x7f, 0x00]), Uint8Array.from([0x60, 0x02, 0x7f, 0x7f, 0x00]), Uint8Array.from([0x60, 0x01, 0x6f, 0x00])];

function localOp(w: Writer, op: number, index: number): void {
  w.byte(op);
  w.u32(index);
}

function call(w: Writer, fn: number): void {
  w.byte(0x10);
  w.u32(fn);
}
