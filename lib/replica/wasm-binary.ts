// Minimal WebAssembly binary reading/writing: LEB128 and section framing. Just enough for the
// instrumentation pass (instrument.ts); everything else about a module is left to V8.
import { InvalidWasmError } from './errors.js';

export const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

export const enum SectionId {
  Custom = 0,
  Type = 1,
  Import = 2,
  Function = 3,
  Table = 4,
  Memory = 5,
  Global = 6,
  Export = 7,
  Start = 8,
  Element = 9,
  Code = 10,
  Data = 11,
  DataCount = 12
}

export interface Section {
  id: number;
  /** Payload without the id byte and size. */
  body: Uint8Array;
}

/** A cursor over a byte array that throws InvalidWasmError instead of reading past the end. */
export class Reader {
  offset: number;
  constructor(
    readonly bytes: Uint8Array,
    offset = 0,
    readonly end = bytes.length
  ) {
    this.offset = offset;
  }

  get done(): boolean {
    return this.offset >= this.end;
  }

  byte(): number {
    if (this.offset >= this.end) throw new InvalidWasmError('unexpected end of module');
    return this.bytes[this.offset++];
  }

  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
      if (shift > 35) throw new InvalidWasmError('LEB128 integer too long');
    }
    return result;
  }

  /** Skips a signed or unsigned LEB128 of any width. */
  skipLeb(): void {
    let count = 0;
    while (this.byte() & 0x80) {
      if (++count > 10) throw new InvalidWasmError('LEB128 integer too long');
    }
  }

  skip(n: number): void {
    if (this.offset + n > this.end) throw new InvalidWasmError('unexpected end of module');
    this.offset += n;
  }

  name(): string {
    const len = this.u32();
    const start = this.offset;
    this.skip(len);
    return new TextDecoder().decode(this.bytes.subarray(start, start + len));
  }
}

/** Growable output buffer. */
export class Writer {
  private chunks: Uint8Array[] = [];
  private current = new Uint8Array(1 << 16);
  private used = 0;
  length = 0;

  byte(b: number): void {
    if (this.used === this.current.length) this.flush(1 << 16);
    this.current[this.used++] = b;
    this.length++;
  }

  bytes(data: Uint8Array): void {
    if (data.length > this.current.length - this.used) this.flush(Math.max(1 << 16, data.length));
    this.current.set(data, this.used);
    this.used += data.length;
    this.length += data.length;
  }

  u32(value: number): void {
    do {
      let b = value % 128;
      value = Math.floor(value / 128);
      if (value !== 0) b |= 0x80;
      this.byte(b);
    } while (value !== 0);
  }

  s64(value: bigint): void {
    for (;;) {
      const b = Number(value & 0x7fn);
      value >>= 7n;
      const done = (value === 0n && (b & 0x40) === 0) || (value === -1n && (b & 0x40) !== 0);
      this.byte(done ? b : b | 0x80);
      if (done) return;
    }
  }

  name(text: string): void {
    const encoded = new TextEncoder().encode(text);
    this.u32(encoded.length);
    this.bytes(encoded);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const chunk of [...this.chunks, this.current.subarray(0, this.used)]) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }

  private flush(nextSize: number): void {
    this.chunks.push(this.current.subarray(0, this.used));
    this.current = new Uint8Array(nextSize);
    this.used = 0;
  }
}

/** Unsigned LEB128 bytes of a u32 (for instruction bytes assembled as arrays). */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 bytes of an i32. */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}

export function readSections(wasm: Uint8Array): Section[] {
  if (wasm.length < 8 || WASM_MAGIC.some((b, i) => wasm[i] !== b)) {
    throw new InvalidWasmError('not a WebAssembly module (bad magic or version)');
  }
  const reader = new Reader(wasm, 8);
  const sections: Section[] = [];
  while (!reader.done) {
    const id = reader.byte();
    const size = reader.u32();
    const start = reader.offset;
    reader.skip(size);
    sections.push({ id, body: wasm.subarray(start, start + size) });
  }
  return sections;
}

export function writeSections(sections: Section[]): Uint8Array {
  const w = new Writer();
  w.bytes(Uint8Array.from(WASM_MAGIC));
  for (const s of sections) {
    w.byte(s.id);
    w.u32(s.body.length);
    w.bytes(s.body);
  }
  return w.finish();
}
