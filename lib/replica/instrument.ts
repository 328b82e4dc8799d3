// Wasm instrumentation, done by a small rewriter of our own rather than binaryen: binaryen.js
// parses and re-prints the whole 3.4 MB Azle module (seconds, and it may reorder/optimize code),
// while this pass only splices bytes into function bodies (about 0.2 s) and keeps everything else
// byte-identical. It does three things:
// 1. Exports every mutable global (`__shardorm_global_<i>`; Rust's `__stack_pointer` is not
//    exported) so executions can be rolled back, and the function table (`__shardorm_table`) so
//    the replica can invoke call-back closures (`call_new`'s `fun` indices) like the IC does.
// 2. Adds a mutable i64 global `__shardorm_budget` (instructions left in this execution).
// 3. Meters: at the start of every straight-line segment it subtracts the segment's instruction
//    count and executes `unreachable` when the budget goes negative (the replica then reports
//    IC0522). Charging per segment rather than per function/loop matters for interpreters such as
//    QuickJS, whose dispatch loop is one huge switch: a per-loop charge over-counts ~1000x.
import { InvalidWasmError } from './errors.js';
import { Reader, SectionId, Writer, readSections, writeSections, type Section } from './wasm-binary.js';

/** Export names the instrumentation adds all start with this; a module may not use it. */
const RESERVED_EXPORT_PREFIX = '__shardorm_';
export const BUDGET_EXPORT = `${RESERVED_EXPORT_PREFIX}budget`;
const TABLE_EXPORT = `${RESERVED_EXPORT_PREFIX}table`;
const GLOBAL_EXPORT_PREFIX = `${RESERVED_EXPORT_PREFIX}global_`;

export interface InstrumentedModule {
  wasm: Uint8Array;
  /** Names of the exported mutable globals, in global index order (what a snapshot saves). */
  globalExports: string[];
  /** Export name of the function table, undefined when the module has none. */
  tableExport?: string;
}

export function instrument(original: Uint8Array): InstrumentedModule {
  const sections = readSections(original);
  let importedGlobals = 0;
  let importedTables = 0;
  let definedTables = 0;
  let definedGlobals = 0;
  const mutableGlobals: number[] = [];
  const exportNames = new Set<string>();
  let tableAlreadyExported: string | undefined;
  for (const s of sections) {
    const r = new Reader(s.body);
    if (s.id === SectionId.Import) {
      for (let n = r.u32(); n > 0; n--) {
        r.name();
        r.name();
        const kind = r.byte();
        if (kind === 0) r.u32();
        else if (kind === 1) {
          r.byte();
          skipLimits(r);
          importedTables++;
        } else if (kind === 2) {
          skipLimits(r);
        } else if (kind === 3) {
          r.byte();
          if (r.byte() === 1) mutableGlobals.push(importedGlobals);
          importedGlobals++;
        } else throw new InvalidWasmError(`unsupported import kind ${kind}`);
      }
    } else if (s.id === SectionId.Table) {
      definedTables = r.u32();
    } else if (s.id === SectionId.Global) {
      for (let n = r.u32(); n > 0; n--) {
        r.byte();
        if (r.byte() === 1) mutableGlobals.push(importedGlobals + definedGlobals);
        skipConstExpr(r);
        definedGlobals++;
      }
    } else if (s.id === SectionId.Export) {
      for (let n = r.u32(); n > 0; n--) {
        const name = r.name();
        const kind = r.byte();
        const index = r.u32();
        exportNames.add(name);
        if (kind === 1 && index === 0) tableAlreadyExported = name;
      }
    }
  }
  const budgetGlobal = importedGlobals + definedGlobals;
  const globalExports = mutableGlobals.map((i) => `${GLOBAL_EXPORT_PREFIX}${i}`);
  const hasTable = importedTables + definedTables > 0;
  const tableExport = hasTable ? (tableAlreadyExported ?? TABLE_EXPORT) : undefined;
  const addedTableExport = tableAlreadyExported ? undefined : tableExport;
  const reserved = [...exportNames].find((n) => n.startsWith(RESERVED_EXPORT_PREFIX));
  if (reserved) throw new InvalidWasmError(`module exports "${reserved}": the export prefix ${RESERVED_EXPORT_PREFIX} is reserved for the local replica's instrumentation; rename it`);

  const out: Section[] = [];
  let sawGlobal = false;
  let sawExport = false;
  for (const s of sections) {
    // Sections must stay in order: insert a missing global section before exports etc.
    if (!sawGlobal && s.id !== SectionId.Custom && sectionOrder(s.id) > sectionOrder(SectionId.Global)) {
      out.push(globalSection(undefined));
      sawGlobal = true;
    }
    if (!sawExport && s.id !== SectionId.Custom && sectionOrder(s.id) > sectionOrder(SectionId.Export)) {
      out.push(exportSection(undefined, globalExports, mutableGlobals, budgetGlobal, addedTableExport));
      sawExport = true;
    }
    if (s.id === SectionId.Global) {
      out.push(globalSection(s.body));
      sawGlobal = true;
    } else if (s.id === SectionId.Export) {
      out.push(exportSection(s.body, globalExports, mutableGlobals, budgetGlobal, addedTableExport));
      sawExport = true;
    } else if (s.id === SectionId.Code) {
      out.push({ id: s.id, body: meterCode(s.body, budgetGlobal) });
    } else out.push(s);
  }
  if (!sawGlobal) out.push(globalSection(undefined));
  if (!sawExport) out.push(exportSection(undefined, globalExports, mutableGlobals, budgetGlobal, addedTableExport));
  return { wasm: writeSections(out), globalExports, tableExport };
}

/** Wasm requires this order for non-custom sections (DataCount sits before Code). */
function sectionOrder(id: number): number {
  return id === SectionId.DataCount ? 9.5 : id;
}

/** The module's global section (or none) plus the budget global, which takes the next index. */
function globalSection(body: Uint8Array | undefined): Section {
  const w = new Writer();
  const r = body ? new Reader(body) : undefined;
  const count = r ? r.u32() : 0;
  w.u32(count + 1);
  if (r) w.bytes(body!.subarray(r.offset));
  // (global $budget (mut i64) (i64.const 0))
  w.bytes(Uint8Array.from([0x7e, 0x01, 0x42, 0x00, 0x0b]));
  return { id: SectionId.Global, body: w.finish() };
}

function exportSection(
  body: Uint8Array | undefined,
  names: string[],
  indices: number[],
  budgetGlobal: number,
  tableExport: string | undefined
): Section {
  const w = new Writer();
  const r = body ? new Reader(body) : undefined;
  const count = r ? r.u32() : 0;
  w.u32(count + names.length + 1 + (tableExport ? 1 : 0));
  if (r) w.bytes(body!.subarray(r.offset));
  names.forEach((name, i) => {
    w.name(name);
    w.byte(3);
    w.u32(indices[i]);
  });
  w.name(BUDGET_EXPORT);
  w.byte(3);
  w.u32(budgetGlobal);
  if (tableExport) {
    w.name(tableExport);
    w.byte(1);
    w.u32(0);
  }
  return { id: SectionId.Export, body: w.finish() };
}

function skipLimits(r: Reader): void {
  const flags = r.byte();
  r.u32();
  if (flags & 1) r.u32();
}

function skipConstExpr(r: Reader): void {
  for (;;) {
    const op = r.byte();
    if (op === 0x0b) return;
    skipImmediates(r, op);
  }
}

interface Site {
  /** Offset in the body right after which the metering code goes. */
  at: number;
  cost: number;
}

function meterCode(body: Uint8Array, budget: number): Uint8Array {
  const r = new Reader(body);
  const w = new Writer();
  const count = r.u32();
  w.u32(count);
  for (let f = 0; f < count; f++) {
    const size = r.u32();
    const end = r.offset + size;
    const fr = new Reader(body, r.offset, end);
    for (let n = fr.u32(); n > 0; n--) {
      fr.u32();
      fr.byte();
    }
    const sites = findSites(fr, end);
    const fw = new Writer();
    let from = r.offset;
    for (const site of sites) {
      fw.bytes(body.subarray(from, site.at));
      meteringSnippet(fw, budget, site.cost);
      from = site.at;
    }
    fw.bytes(body.subarray(from, end));
    const fnBytes = fw.finish();
    w.u32(fnBytes.length);
    w.bytes(fnBytes);
    r.offset = end;
  }
  return w.finish();
}

/**
 * Metering sites of one function body: one per straight-line segment (function entry, loop
 * header, if/else arms, the code after a block ends or after a conditional branch). Each site is
 * charged with the number of instructions of its segment, so the count is exact up to the
 * segment granularity (a segment left early by a trap is charged in full).
 */
function findSites(r: Reader, end: number): Site[] {
  let site: Site = { at: r.offset, cost: 0 };
  const sites: Site[] = [site];
  const open = (): void => {
    site = { at: r.offset, cost: 0 };
    sites.push(site);
  };
  let depth = 1;
  while (r.offset < end) {
    const op = r.byte();
    site.cost++;
    if (op === 0x02 || op === 0x03 || op === 0x04) {
      skipBlockType(r);
      depth++;
      if (op !== 0x02) open();
    } else if (op === 0x05) open();
    else if (op === 0x0b) {
      depth--;
      if (depth === 0) {
        if (r.offset !== end) throw new InvalidWasmError('code after function end');
      } else open();
    } else {
      skipImmediates(r, op);
      if (op === 0x0d || op === 0x0e) open();
    }
  }
  if (depth !== 0) throw new InvalidWasmError('unbalanced blocks in function body');
  return sites.filter((s) => s.cost > 0);
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

function skipBlockType(r: Reader): void {
  const b = r.bytes[r.offset];
  if (b === 0x40 || (b >= 0x6f && b <= 0x7f)) r.offset++;
  else r.skipLeb();
}

/** Skips the immediates of one instruction (MVP, sign-ext, sat-conv, bulk memory, ref types). */
function skipImmediates(r: Reader, op: number): void {
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
