// Metering of function bodies, the third job of the instrumentation (instrument.ts): where the
// IC's instrumentation would put its instruction-counter decrements, and how much each one
// charges (instruction-costs.ts). Also the instruction decoder both passes need to skip
// immediates.
import { InvalidWasmError } from './errors.js';
import { FC_MEMORY_COPY, FC_MEMORY_FILL, Op, hasDynamicCost, opcodeCost, prefixedCost } from './instruction-costs.js';
import { Reader, Writer } from './wasm-binary.js';

/** A metering point: a static charge for the segment starting here, or a run-time size charge. */
interface Site {
  /** Offset in the body right after which the metering code goes. */
  at: number;
  cost: number;
  /** Set for bulk memory/table instructions: the type of their size operand on top of the stack. */
  dynamic?: 'i32' | 'i64';
}

export interface CodeLayout {
  /** Per function body: its byte range in the code section and its metering sites. */
  bodies: { start: number; end: number; sites: Site[] }[];
  /** Whether any body needs the run-time charging helper. */
  dynamic: boolean;
}

export function analyzeCode(body: Uint8Array, memory64: boolean): CodeLayout {
  const r = new Reader(body);
  const bodies: CodeLayout['bodies'] = [];
  let dynamic = false;
  for (let count = r.u32(); count > 0; count--) {
    const size = r.u32();
    const start = r.offset;
    const end = start + size;
    const fr = new Reader(body, start, end);
    for (let n = fr.u32(); n > 0; n--) {
      fr.u32();
      fr.byte();
    }
    const sites = findSites(fr, end, memory64);
    dynamic ||= sites.some((s) => s.dynamic);
    bodies.push({ start, end, sites });
    r.offset = end;
  }
  return { bodies, dynamic };
}

export function meterCode(body: Uint8Array, layout: CodeLayout, budget: number, helper: number | undefined): Uint8Array {
  const w = new Writer();
  w.u32(layout.bodies.length + (helper === undefined ? 0 : 1));
  for (const { start, end, sites } of layout.bodies) {
    const fw = new Writer();
    let from = start;
    for (const site of sites) {
      fw.bytes(body.subarray(from, site.at));
      if (site.dynamic) dynamicSnippet(fw, helper!, site.dynamic);
      else meteringSnippet(fw, budget, site.cost);
      from = site.at;
    }
    fw.bytes(body.subarray(from, end));
    const fnBytes = fw.finish();
    w.u32(fnBytes.length);
    w.bytes(fnBytes);
  }
  if (helper !== undefined) {
    const h = helperBody(budget);
    w.u32(h.length);
    w.bytes(h);
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
function findSites(r: Reader, end: number, memory64: boolean): Site[] {
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
      continue;
    }
    site.cost += opcodeCost(op, memory64);
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
