// Metering of function bodies, the third job of the instrumentation (instrument.ts): where the
// IC's instrumentation would put its instruction-counter decrements, and how much each one
// charges (instruction-costs.ts). The same pass splices in the write barrier (write-barrier.ts)
// around stores; charges are computed from the original instructions only, so the barrier is
// never charged. Also the instruction decoder both passes need to skip immediates.
import { InvalidWasmError } from './errors.js';
import { FC_MEMORY_COPY, FC_MEMORY_FILL, Op, hasDynamicCost, opcodeCost, prefixedCost } from './instruction-costs.js';
import { Reader, Writer } from './wasm-binary.js';
import { BARRIER_LOCALS, barrierPrefix, barrierSuffix, isBulkWrite, isStore, type BarrierIndices, type BarrierSite } from './write-barrier.js';

/** A metering point: a static charge for the segment starting here, or a run-time size charge. */
interface Site {
  /** Offset in the body right after which the metering code goes. */
  at: number;
  cost: number;
  /** Set for bulk memory/table instructions: the type of their size operand on top of the stack. */
  dynamic?: 'i32' | 'i64';
}

interface Body {
  /** Byte range in the code section: the local declarations start at `start` (their entries at `entries`), code at `code`. */
  start: number;
  entries: number;
  code: number;
  end: number;
  /** Declared locals (not counting parameters) and entries declaring them. */
  locals: number;
  localEntries: number;
  sites: Site[];
  /** Stores and bulk memory writes, for the write barrier (empty when it is off). */
  writes: BarrierSite[];
}

export interface CodeLayout {
  bodies: Body[];
  /** Whether any body needs the run-time charging helper. */
  dynamic: boolean;
}

/** What meterCode splices in: the budget global, the charging helper, the barrier (optional). */
export interface MeterContext {
  budget: number;
  helper: number | undefined;
  /** Appended function bodies (after the helper), already encoded. */
  appended: Uint8Array[];
  barrier?: BarrierIndices & { paramCounts: number[] };
}

export function analyzeCode(body: Uint8Array, options: { memory64: boolean; barrier: boolean }): CodeLayout {
  const r = new Reader(body);
  const bodies: Body[] = [];
  let dynamic = false;
  for (let count = r.u32(); count > 0; count--) {
    const size = r.u32();
    const start = r.offset;
    const end = start + size;
    const fr = new Reader(body, start, end);
    let locals = 0;
    const localEntries = fr.u32();
    const entries = fr.offset;
    for (let n = localEntries; n > 0; n--) {
      locals += fr.u32();
      fr.byte();
    }
    const code = fr.offset;
    const writes: BarrierSite[] = [];
    const sites = findSites(fr, end, options.memory64, options.barrier ? writes : undefined);
    dynamic ||= sites.some((s) => s.dynamic);
    bodies.push({ start, entries, code, end, locals, localEntries, sites, writes });
    r.offset = end;
  }
  return { bodies, dynamic };
}

/** Insertions at one offset run in this order: a store's barrier ends before the next instruction's metering. */
const enum Rank {
  BarrierSuffix,
  Meter,
  Barrier
}

export function meterCode(body: Uint8Array, layout: CodeLayout, ctx: MeterContext): Uint8Array {
  const w = new Writer();
  w.u32(layout.bodies.length + (ctx.helper === undefined ? 0 : 1) + ctx.appended.length);
  layout.bodies.forEach((fn, index) => {
    const fw = new Writer();
    const barrier = fn.writes.length > 0 ? ctx.barrier : undefined;
    const base = barrier ? barrier.paramCounts[index] + fn.locals : 0;
    if (barrier) {
      fw.u32(fn.localEntries + BARRIER_LOCALS.length);
      fw.bytes(body.subarray(fn.entries, fn.code));
      for (const [count, type] of BARRIER_LOCALS) {
        fw.u32(count);
        fw.byte(type);
      }
    } else fw.bytes(body.subarray(fn.start, fn.code));
    const inserts: { at: number; rank: Rank; emit: () => void }[] = fn.sites.map((site) => ({
      at: site.at,
      rank: Rank.Meter,
      emit: () => (site.dynamic ? dynamicSnippet(fw, ctx.helper!, site.dynamic) : meteringSnippet(fw, ctx.budget, site.cost))
    }));
    if (barrier) {
      for (const site of fn.writes) {
        inserts.push({ at: site.at, rank: Rank.Barrier, emit: () => barrierPrefix(fw, site, base) });
        inserts.push({ at: site.end, rank: Rank.BarrierSuffix, emit: () => barrierSuffix(fw, site, base, barrier) });
      }
      inserts.sort((a, b) => a.at - b.at || a.rank - b.rank);
    }
    let from = fn.code;
    for (const insert of inserts) {
      fw.bytes(body.subarray(from, insert.at));
      insert.emit();
      from = insert.at;
    }
    fw.bytes(body.subarray(from, fn.end));
    const fnBytes = fw.finish();
    w.u32(fnBytes.length);
    w.bytes(fnBytes);
  });
  for (const extra of [...(ctx.helper === undefined ? [] : [helperBody(ctx.budget)]), ...ctx.appended]) {
    w.u32(extra.length);
    w.bytes(extra);
  }
  return w.finish();
}

/** Instructions that end a straight-line segment: code after them starts a new one. */
const SEGMENT_END = new Set<number>([Op.loop, Op.if, Op.else, Op.end, Op.br, Op.brIf, Op.brTable, Op.return, Op.unreachable, Op.returnCall, Op.returnCallIndirect]);

/**
 * Metering sites of one function body, cut where the IC cuts them: the function entry (which
 * starts at 1, so an empty function still costs something), and after every `loop`, `if`,
 * `else`, `end`, branch, `return` and `unreachable` (`block` does not cut). Each segment is
 * charged at its start with the IC cost of its instructions, including the one that ends it; bulk
 * memory and table instructions also charge their size operand just before they run. A segment
 * left early by a trap is charged in full, as on the IC.
 */
function findSites(r: Reader, end: number, memory64: boolean, writes: BarrierSite[] | undefined): Site[] {
  let site: Site = { at: r.offset, cost: 1 };
  const sites: Site[] = [site];
  let depth = 1;
  while (r.offset < end) {
    const at = r.offset;
    const op = r.byte();
    if (op === Op.prefixFC) {
      const sub = r.u32();
      if (hasDynamicCost(sub)) {
        const wide = memory64 && (sub === FC_MEMORY_COPY || sub === FC_MEMORY_FILL);
        sites.push({ at, cost: 0, dynamic: wide ? 'i64' : 'i32' });
      }
      site.cost += prefixedCost(sub);
      skipPrefixed(r, sub);
      if (writes && isBulkWrite(sub)) writes.push({ at, end: r.offset, op: sub, bulk: true, offset: 0 });
      continue;
    }
    site.cost += opcodeCost(op, memory64);
    if (writes && isStore(op)) {
      r.u32(); // alignment
      const offset = r.u32();
      writes.push({ at, end: r.offset, op, bulk: false, offset });
      continue;
    }
    skipImmediates(r, op);
    if (op === Op.block || op === Op.loop || op === Op.if) depth++;
    else if (op === Op.end) {
      depth--;
      if (depth === 0) {
        if (r.offset !== end) throw new InvalidWasmError('code after function end');
        break;
      }
    }
    if (SEGMENT_END.has(op)) {
      site = { at: r.offset, cost: 0 };
      sites.push(site);
    }
  }
  if (depth !== 0) throw new InvalidWasmError('unbalanced blocks in function body');
  return sites.filter((s) => s.cost > 0 || s.dynamic);
}

function meteringSnippet(w: Writer, budget: number, cost: number): void {
  // budget -= cost; if (budget < 0) unreachable
  w.byte(0x23);
  w.u32(budget);
  w.byte(0x42);
  w.s64(BigInt(cost));
  w.byte(0x7d);
  w.byte(0x24);
  w.u32(budget);
  w.byte(0x23);
  w.u32(budget);
  w.byte(0x42);
  w.byte(0x00);
  w.byte(0x53);
  w.byte(0x04);
  w.byte(0x40);
  w.byte(0x00);
  w.byte(0x0b);
}

/** Charges the size operand on top of the stack and leaves it there. */
function dynamicSnippet(w: Writer, helper: number, operand: 'i32' | 'i64'): void {
  if (operand === 'i32') w.byte(0xad); // i64.extend_i32_u
  w.byte(0x10);
  w.u32(helper);
  if (operand === 'i32') w.byte(0xa7); // i32.wrap_i64
}

/** (func (param i64) (result i64)): budget -= n; if (budget < 0) unreachable; return n */
function helperBody(budget: number): Uint8Array {
  const w = new Writer();
  w.u32(0); // no locals
  w.byte(0x23);
  w.u32(budget);
  w.bytes(Uint8Array.from([0x20, 0x00, 0x7d])); // local.get 0; i64.sub
  w.byte(0x24);
  w.u32(budget);
  w.byte(0x23);
  w.u32(budget);
  w.bytes(Uint8Array.from([0x42, 0x00, 0x53, 0x04, 0x40, 0x00, 0x0b, 0x20, 0x00, 0x0b]));
  return w.finish();
}

function skipBlockType(r: Reader): void {
  const b = r.bytes[r.offset];
  if (b === 0x40 || (b >= 0x6f && b <= 0x7f)) r.offset++;
  else r.skipLeb();
}

/** Skips the immediates of one instruction (MVP, sign-ext, sat-conv, bulk memory, ref types). */
export function skipImmediates(r: Reader, op: number): void {
  if ((op >= 0x45 && op <= 0xc4) || op <= 0x01 || op === 0x05 || op === 0x0b || op === 0x0f) return;
  if (op === 0x1a || op === 0x1b || op === 0xd1) return;
  if (op === 0x0c || op === 0x0d || op === 0x10 || op === 0x12 || (op >= 0x20 && op <= 0x26) || op === 0xd2) {
    r.u32();
    return;
  }
  if (op >= 0x28 && op <= 0x3e) {
    r.u32();
    r.u32();
    return;
  }
  switch (op) {
    case 0x02:
    case 0x03:
    case 0x04:
      skipBlockType(r);
      return;
    case 0x0e:
      for (let n = r.u32() + 1; n > 0; n--) r.u32();
      return;
    case 0x11:
    case 0x13:
      r.u32();
      r.u32();
      return;
    case 0x1c:
      for (let n = r.u32(); n > 0; n--) r.byte();
      return;
    case 0x3f:
    case 0x40:
      r.u32();
      return;
    case 0x41:
    case 0x42:
      r.skipLeb();
      return;
    case 0x43:
      r.skip(4);
      return;
    case 0x44:
      r.skip(8);
      return;
    case 0xd0:
      r.byte();
      return;
    case 0xfc:
      skipPrefixed(r, r.u32());
      return;
  }
  throw new InvalidWasmError(`unsupported instruction opcode 0x${op.toString(16)} (SIMD, threads and exceptions are not supported)`);
}

function skipPrefixed(r: Reader, sub: number): void {
  if (sub <= 7) return;
  if (sub === 8 || sub === 12 || sub === 14) {
    r.u32();
    r.u32();
  } else if (sub === 10) {
    r.u32();
    r.u32();
  } else if (sub === 9 || sub === 11 || sub === 13 || (sub >= 15 && sub <= 17)) r.u32();
  else throw new InvalidWasmError(`unsupported instruction 0xfc ${sub}`);
}
