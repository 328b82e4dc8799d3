// Wasm instrumentation, done by a small rewriter of our own rather than binaryen: binaryen.js
// parses and re-prints the whole 3.4 MB Azle module (seconds, and it may reorder/optimize code),
// while this pass only splices bytes into function bodies (about 0.2 s) and keeps everything else
// byte-identical. It does three things:
// 1. Exports every mutable global (`__shardorm_global_<i>`; Rust's `__stack_pointer` is not
//    exported) so executions can be rolled back, and the function table (`__shardorm_table`) so
//    the replica can invoke call-back closures (`call_new`'s `fun` indices) like the IC does.
// 2. Adds a mutable i64 global `__shardorm_budget` (instructions left in this execution).
// 3. Meters (metering.ts): at the start of every straight-line segment it subtracts the
//    segment's cost in the IC's units (instruction-costs.ts) and executes `unreachable` when the
//    budget goes negative (the replica then reports IC0522); bulk memory instructions call an
//    appended helper function that charges their size. Charging per segment rather than per
//    function/loop matters for interpreters such as QuickJS, whose dispatch loop is one huge
//    switch: a per-loop charge over-counts ~1000x.
import { InvalidWasmError } from './errors.js';
import { analyzeCode, meterCode, skipImmediates, type CodeLayout } from './metering.js';
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
  let importedFunctions = 0;
  let definedFunctions = 0;
  let types = 0;
  let memory64 = false;
  let code: CodeLayout | undefined;
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
        if (kind === 0) {
          r.u32();
          importedFunctions++;
        } else if (kind === 1) {
          r.byte();
          skipLimits(r);
          importedTables++;
        } else if (kind === 2) {
          memory64 ||= skipLimits(r);
        } else if (kind === 3) {
          r.byte();
          if (r.byte() === 1) mutableGlobals.push(importedGlobals);
          importedGlobals++;
        } else throw new InvalidWasmError(`unsupported import kind ${kind}`);
      }
    } else if (s.id === SectionId.Type) {
      types = r.u32();
    } else if (s.id === SectionId.Function) {
      definedFunctions = r.u32();
    } else if (s.id === SectionId.Memory) {
      if (r.u32() > 0) memory64 ||= skipLimits(r);
    } else if (s.id === SectionId.Code) {
      code = analyzeCode(s.body, memory64);
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

  // The run-time charging helper is appended after every defined function, with a type appended
  // after every existing one, so no existing index moves.
  const helper = code?.dynamic ? importedFunctions + definedFunctions : undefined;
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
      out.push({ id: s.id, body: meterCode(s.body, code!, budgetGlobal, helper) });
    } else if (helper !== undefined && s.id === SectionId.Type) {
      out.push({ id: s.id, body: appendEntry(s.body, Uint8Array.from([0x60, 0x01, 0x7e, 0x01, 0x7e])) }); // (i64) -> i64
    } else if (helper !== undefined && s.id === SectionId.Function) {
      out.push({ id: s.id, body: appendEntry(s.body, leb(types)) });
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

/** Skips a limits entry; true when it declares a 64-bit memory. */
function skipLimits(r: Reader): boolean {
  const flags = r.byte();
  r.u32();
  if (flags & 1) r.u32();
  return (flags & 4) !== 0;
}

/** A vector section's body with one more entry at its end. */
function appendEntry(body: Uint8Array, entry: Uint8Array): Uint8Array {
  const r = new Reader(body);
  const w = new Writer();
  w.u32(r.u32() + 1);
  w.bytes(body.subarray(r.offset));
  w.bytes(entry);
  return w.finish();
}

function leb(n: number): Uint8Array {
  const w = new Writer();
  w.u32(n);
  return w.finish();
}

function skipConstExpr(r: Reader): void {
  for (;;) {
    const op = r.byte();
    if (op === 0x0b) return;
    skipImmediates(r, op);
  }
}

