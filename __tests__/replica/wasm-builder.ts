// A tiny WebAssembly module builder for hand-written test canisters (no wat2wasm offline): enough
// to exercise semantics Azle cannot reach (non-exported globals, best-effort calls, persistence).
import { sleb, uleb } from '../../lib/replica/wasm-binary.js';

export const I32 = 0x7f;
export const I64 = 0x7e;

export const u32 = uleb;
export { sleb };
const str = (s: string): number[] => [...u32(Buffer.byteLength(s)), ...Buffer.from(s)];
const vec = (items: number[][]): number[] => [...u32(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => (body.length ? [id, ...u32(body.length), ...body] : []);

/** Instruction helpers (byte arrays). */
export const op = {
  i32: (n: number) => [0x41, ...sleb(n)],
  i64: (n: number) => [0x42, ...sleb(n)],
  call: (f: number) => [0x10, ...u32(f)],
  drop: [0x1a],
  globalGet: (g: number) => [0x23, ...u32(g)],
  globalSet: (g: number) => [0x24, ...u32(g)],
  localGet: (l: number) => [0x20, ...u32(l)],
  i32Add: [0x6a],
  i32Load: [0x28, 2, 0],
  i32Store: [0x36, 2, 0],
  i32Store8: [0x3a, 0, 0],
  unreachable: [0x00],
  ifThen: (body: number[]) => [0x04, 0x40, ...body, 0x0b],
  loop: (body: number[]) => [0x03, 0x40, ...body, 0x0b]
};

export class ModuleBuilder {
  private types: string[] = [];
  private imports: number[][] = [];
  private funcs: { type: number; body: number[] }[] = [];
  private globals: number[][] = [];
  private exports: number[][] = [];
  private elements: number[] = [];
  private data: number[][] = [];
  private customs: number[][] = [];
  /** Name the memory is exported under (the IC accepts any). */
  memoryName = 'memory';
  /** Initial size of the memory, in 64 KiB pages. */
  memoryPages = 2;

  private type(params: number[], results: number[]): number {
    const key = [0x60, ...vec(params.map((p) => [p])), ...vec(results.map((r) => [r]))].join(',');
    if (!this.types.includes(key)) this.types.push(key);
    return this.types.indexOf(key);
  }

  import(name: string, params: number[], results: number[] = []): number {
    this.imports.push([...str('ic0'), ...str(name), 0, ...u32(this.type(params, results))]);
    return this.imports.length - 1;
  }

  /** Defines a function; imports must all be declared before the first call to func(). */
  func(body: number[], options: { export?: string; params?: number[]; locals?: number } = {}): number {
    const index = this.imports.length + this.funcs.length;
    const locals = options.locals ? [[...u32(options.locals), I32]] : [];
    this.funcs.push({ type: this.type(options.params ?? [], []), body: [...vec(locals), ...body, 0x0b] });
    if (options.export) this.exports.push([...str(options.export), 0, ...u32(index)]);
    return index;
  }

  /** A mutable i32 global that is NOT exported. */
  global(init: number): number {
    this.globals.push([I32, 1, ...op.i32(init), 0x0b]);
    return this.globals.length - 1;
  }

  /** Puts a function in the table; returns its table index (for call_new callbacks). */
  tableEntry(func: number): number {
    this.elements.push(func);
    return this.elements.length - 1;
  }

  segment(offset: number, bytes: Uint8Array | number[]): void {
    this.data.push([0, ...op.i32(offset), 0x0b, ...vec([...bytes].map((b) => [b]))]);
  }

  custom(name: string, bytes: number[] = []): void {
    this.customs.push(section(0, [...str(name), ...bytes]));
  }

  build(): Uint8Array {
    const n = this.elements.length;
    return Uint8Array.from([
      0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
      ...section(1, vec(this.types.map((t) => t.split(',').map(Number)))),
      ...section(2, vec(this.imports)),
      ...section(3, vec(this.funcs.map((f) => u32(f.type)))),
      ...section(4, n ? vec([[0x70, 0, ...u32(n)]]) : []),
      ...section(5, vec([[0, ...u32(this.memoryPages)]])),
      ...section(6, this.globals.length ? vec(this.globals) : []),
      ...section(7, vec([[...str(this.memoryName), 2, 0], ...this.exports])),
      ...section(9, n ? vec([[0, ...op.i32(0), 0x0b, ...vec(this.elements.map((e) => u32(e)))]]) : []),
      ...section(10, vec(this.funcs.map((f) => [...u32(f.body.length), ...f.body]))),
      ...section(11, this.data.length ? vec(this.data) : []),
      ...this.customs.flat()
    ]);
  }
}
