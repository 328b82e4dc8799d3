// Wasm instrumentation, done by a small rewriter of our own rather than binaryen: binaryen.js
// parses and re-prints the whole 3.4 MB Azle module (seconds, and it may reorder/optimize code),
// while this pass only splices bytes into function bodies (about 0.2 s) and keeps everything else
// byte-identical. It does four things:
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
// 4. Adds the write barrier (write-barrier.ts; 32-bit memories): stores mark the heap pages they
//    touch, so a commit or rollback visits only those pages. Not charged.
import { InvalidWasmError } from './errors.js';
import { analyzeCode, meterCode, skipImmediates, type CodeLayout } from './metering.js';
import { Reader, SectionId, Writer, readSections, writeSections, type Section } from './wasm-binary.js';
import {
  BARRIER_TYPES,
  DIRTY_RESET_EXPORT,
  DIRTY_TABLE_EXPORT,
  barrierTableType,
  markPageBody,
  markRangeBody,
  resetBody,
  type BarrierIndices
} from './write-barrier.js';

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
  /** Whether stores mark dirty pages (the DIRTY_* exports exist); false for memory64 modules. */
  barrier: boolean;
}

export function instrument(original: Uint8Array, options: { writeBarrier?: boolean } = {}): InstrumentedModule {
  const sections = readSections(original);
  let importedGlobals = 0;
  let importedTables = 0;
  let definedTables = 0;
  let definedGlobals = 0;
  let importedFunctions = 0;
  let definedFunctions = 0;
  let types = 0;
  const typeParams: number[] = [];
  const functionTypes: number[] = [];
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
      for (let n = types; n > 0; n--) typeParams.push(readFuncType(r));
    } else if (s.id === SectionId.Function) {
      definedFunctions = r.u32();
      for (let n = definedFunctions; n > 0; n--) functionTypes.push(r.u32());
    } else if (s.id === SectionId.Memory) {
      if (r.u32() > 0) memory64 ||= skipLimits(r);
    } else if (s.id === SectionId.Code) {
      code = analyzeCode(s.body, { memory64, barrier: (options.writeBarrier ?? true) && !memory64 }); // a Memory section precedes Code
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

  // Added functions (the run-time charging helper, then the barrier's), types, globals and the
  // barrier table all go after every existing one, so no existing index moves.
  // A module without code has no stores (and no Code section to append the barrier's functions to).
  const barrier = (options.writeBarrier ?? true) && !memory64 && code !== undefined;
  const firstAdded = importedFunctions + definedFunctions;
  const helper = code?.dynamic ? firstAdded : undefined;
  const addedTypes = helper === undefined ? [] : [Uint8Array.from([0x60, 0x01, 0x7e, 0x01, 0x7e])]; // (i64) -> i64
  const addedFunctionTypes = addedTypes.map((_, i) => types + i);
  const firstBarrierFunction = firstAdded + addedTypes.length;
  const ix: BarrierIndices = {
    table: importedTables + definedTables,
    markPage: firstBarrierFunction,
    markRange: firstBarrierFunction + 1
  };
  const appended = barrier ? [markPageBody(ix), markRangeBody(ix), resetBody(ix)] : [];
  if (barrier) {
    addedFunctionTypes.push(...BARRIER_TYPES.map((_, i) => types + addedTypes.length + i));
    addedTypes.push(...BARRIER_TYPES);
  }
  const added: Added = {
    globals: [BUDGET_GLOBAL],
    exports: [
      ...globalExports.map((name, i) => ({ name, kind: 3, index: mutableGlobals[i] })),
      { name: BUDGET_EXPORT, kind: 3, index: budgetGlobal },
      ...(addedTableExport ? [{ name: addedTableExport, kind: 1, index: 0 }] : []),
      ...(barrier
        ? [
            { name: DIRTY_TABLE_EXPORT, kind: 1, index: ix.table },
            { name: DIRTY_RESET_EXPORT, kind: 0, index: ix.markRange + 1 }
          ]
        : [])
    ]
  };
  const paramCounts = functionTypes.map((t) => typeParams[t]);
  const rewrite = (id: number, body: Uint8Array | undefined): Uint8Array | undefined => {
    if (id === SectionId.Global) return withEntries(body, added.globals);
    if (id === SectionId.Export) return withEntries(body, added.exports.map(exportEntry));
    if (id === SectionId.Table) return barrier ? withEntries(body, [barrierTableType()]) : body;
    if (id === SectionId.Type) return addedTypes.length ? withEntries(body, addedTypes) : body;
    if (id === SectionId.Function) return addedFunctionTypes.length ? withEntries(body, addedFunctionTypes.map(leb)) : body;
    if (id === SectionId.Code && body) return meterCode(body, code!, { budget: budgetGlobal, helper, appended, barrier: barrier ? { ...ix, paramCounts } : undefined });
    return body;
  };
  // Sections this pass may need although the module has none (a module without functions has no
  // Code section, and then needs no added functions either).
  const mustExist = [SectionId.Global, SectionId.Export, ...(barrier ? [SectionId.Table] : [])];
  return { wasm: writeSections(rewriteSections(sections, mustExist, rewrite)), globalExports, tableExport, barrier };
}

interface Added {
  globals: Uint8Array[];
  exports: { name: string; kind: number; index: number }[];
}

/** (global $budget (mut i64) (i64.const 0)) */
const BUDGET_GLOBAL = Uint8Array.from([0x7e, 0x01, 0x42, 0x00, 0x0b]);

/**
 * Rewrites every non-custom section and inserts the missing ones of `mustExist` (rewritten from
 * nothing) where the order Wasm requires puts them.
 */
function rewriteSections(sections: Section[], mustExist: number[], rewrite: (id: number, body: Uint8Array | undefined) => Uint8Array | undefined): Section[] {
  const missing = mustExist.filter((id) => !sections.some((s) => s.id === id)).sort((a, b) => sectionOrder(a) - sectionOrder(b));
  const out: Section[] = [];
  const insertBefore = (order: number): void => {
    while (missing.length && sectionOrder(missing[0]) < order) {
      const id = missing.shift()!;
      out.push({ id, body: rewrite(id, undefined)! });
    }
  };
  for (const s of sections) {
    if (s.id !== SectionId.Custom) insertBefore(sectionOrder(s.id));
    out.push(s.id === SectionId.Custom ? s : { id: s.id, body: rewrite(s.id, s.body)! });
  }
  insertBefore(Infinity);
  return out;
}

/** Wasm requires this order for non-custom sections (DataCount sits before Code). */
function sectionOrder(id: number): number {
  return id === SectionId.DataCount ? 9.5 : id;
}

/** A vector section's body (or none) with more entries at its end. */
function withEntries(body: Uint8Array | undefined, entries: Uint8Array[]): Uint8Array {
  const w = new Writer();
  const r = body ? new Reader(body) : undefined;
  w.u32((r ? r.u32() : 0) + entries.length);
  if (r) w.bytes(body!.subarray(r.offset));
  for (const e of entries) w.bytes(e);
  return w.finish();
}

function exportEntry(e: { name: string; kind: number; index: number }): Uint8Array {
  const w = new Writer();
  w.name(e.name);
  w.byte(e.kind);
  w.u32(e.index);
  return w.finish();
}

/** Reads a function type; returns its parameter count. */
function readFuncType(r: Reader): number {
  if (r.byte() !== 0x60) throw new InvalidWasmError('type section entry is not a function type');
  const params = r.u32();
  r.skip(params);
  r.skip(r.u32());
  return params;
}

/** Skips a limits entry; true when it declares a 64-bit memory. */
function skipLimits(r: Reader): boolean {
  const flags = r.byte();
  r.u32();
  if (flags & 1) r.u32();
  return (flags & 4) !== 0;
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

