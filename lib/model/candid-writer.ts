// Candid values written by functions compiled once per type, instead of @dfinity/candid's
// IDL.encode, which rebuilds the type table for every message and allocates a buffer per value.
// Inside an Azle canister (QuickJS) every JS operation costs hundreds of Wasm instructions, so a
// write must be a few native calls (TypedArray.set, DataView setters, the platform's UTF-8
// encoder) and no per-message type work. A compiled writer accepts the values `type.covariant`
// accepts (and records without a prototype, which IDL.encode cannot read) and writes exactly the
// bytes `type.encodeValue` writes (tested against IDL.encode); types it does not cover (reserved,
// empty, rec, func, service, vectors of fixed-width numbers wider than a byte) make
// `compileWriter` throw, and callers keep IDL.encode.
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { isWellFormedText, utf8Encoder } from './text.js';

/** Raised when a value does not fit the compiled type: the caller re-runs IDL's path for its message. */
export class ValueMismatch extends Error {}

/** A growable byte buffer with a DataView over it (little-endian writes, as Candid is). */
export class ByteSink {
  buf: Uint8Array;
  view: DataView;
  at = 0;

  constructor(capacity = 64) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  reserve(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.at + n));
    next.set(this.buf.subarray(0, this.at));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.at++] = b;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }

  /** Unsigned LEB128 of a safe integer (lengths, indexes). */
  leb(n: number): void {
    while (n >= 0x80) {
      this.byte((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    this.byte(n);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.at;
  }

  /** A view of the bytes written from `from` on (valid until the next write). */
  written(from: number): Uint8Array {
    return this.buf.subarray(from, this.at);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.at);
  }
}

export type Writer = (out: ByteSink, value: unknown) => void;

export interface WriterOptions {
  /** Refuse text with a lone surrogate (ValueMismatch) instead of writing U+FFFD as TextEncoder does. */
  strictText?: boolean;
}

const mismatch = (): never => {
  throw new ValueMismatch();
};

const hasOwn = (x: object, k: string): boolean => Object.prototype.hasOwnProperty.call(x, k);

function bigLeb(out: ByteSink, v: bigint): void {
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.byte(v === 0n ? low : low | 0x80);
  } while (v !== 0n);
}

function bigSleb(out: ByteSink, v: bigint): void {
  for (;;) {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (low & 0x40) === 0) || (v === -1n && (low & 0x40) !== 0);
    out.byte(done ? low : low | 0x80);
    if (done) return;
  }
}

/** A number or bigint as a bigint when it is an integer in [min, max]; else a mismatch. */
function integer(v: unknown, min: bigint, max: bigint): bigint {
  let b: bigint;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number' && Number.isInteger(v)) b = BigInt(v);
  else return mismatch();
  if (b < min || b > max) mismatch();
  return b;
}

class WriterCompiler extends IDL.Visitor<null, Writer> {
  constructor(private readonly options: WriterOptions) {
    super();
  }

  override visitType<T>(t: IDL.Type<T>): Writer {
    throw new Error(`no compiled writer for ${t.display()}`);
  }
  override visitNull(): Writer {
    return (_out, v) => {
      if (v !== null) mismatch();
    };
  }
  override visitBool(): Writer {
    return (out, v) => (typeof v === 'boolean' ? out.byte(v ? 1 : 0) : mismatch());
  }
  override visitText(): Writer {
    const strict = this.options.strictText === true;
    return (out, v) => {
      if (typeof v !== 'string' || (strict && !isWellFormedText(v))) return mismatch();
      const bytes = utf8Encoder().encode(v);
      out.leb(bytes.length);
      out.bytes(bytes);
    };
  }
  override visitNat(): Writer {
    return (out, v) => {
      if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v <= Number.MAX_SAFE_INTEGER ? out.leb(v) : bigLeb(out, BigInt(v));
      if (typeof v !== 'bigint' || v < 0n) return mismatch();
      bigLeb(out, v);
    };
  }
  override visitInt(): Writer {
    return (out, v) => {
      if (typeof v === 'bigint') return bigSleb(out, v);
      if (typeof v !== 'number' || !Number.isInteger(v)) return mismatch();
      bigSleb(out, BigInt(v));
    };
  }
  override visitFixedNat(t: IDL.FixedNatClass): Writer {
    const bits = t._bits;
    const max = (1n << BigInt(bits)) - 1n;
    if (bits === 64) return (out, v) => (out.reserve(8), out.view.setBigUint64(out.at, integer(v, 0n, max), true), (out.at += 8));
    const width = bits / 8;
    const limit = 2 ** bits;
    return (out, v) => {
      const n = typeof v === 'number' ? v : Number(integer(v, 0n, max));
      if (!Number.isInteger(n) || n < 0 || n >= limit) mismatch();
      out.reserve(width);
      if (width === 1) out.buf[out.at] = n;
      else if (width === 2) out.view.setUint16(out.at, n, true);
      else out.view.setUint32(out.at, n, true);
      out.at += width;
    };
  }
  override visitFixedInt(t: IDL.FixedIntClass): Writer {
    const bits = t._bits;
    const min = -(1n << BigInt(bits - 1));
    const max = (1n << BigInt(bits - 1)) - 1n;
    if (bits === 64) return (out, v) => (out.reserve(8), out.view.setBigInt64(out.at, integer(v, min, max), true), (out.at += 8));
    const width = bits / 8;
    const half = 2 ** (bits - 1);
    return (out, v) => {
      const n = typeof v === 'number' ? v : Number(integer(v, min, max));
      if (!Number.isInteger(n) || n < -half || n >= half) mismatch();
      out.reserve(width);
      if (width === 1) out.view.setInt8(out.at, n);
      else if (width === 2) out.view.setInt16(out.at, n, true);
      else out.view.setInt32(out.at, n, true);
      out.at += width;
    };
  }
  override visitFloat(t: IDL.FloatClass): Writer {
    const wide = t._bits === 64;
    return (out, v) => {
      const n = typeof v === 'number' ? v : v instanceof Number ? v.valueOf() : mismatch();
      out.reserve(wide ? 8 : 4);
      if (wide) out.view.setFloat64(out.at, n, true);
      else out.view.setFloat32(out.at, n, true);
      out.at += wide ? 8 : 4;
    };
  }
  override visitPrincipal(): Writer {
    return (out, v) => {
      if (!(v as { _isPrincipal?: boolean } | null)?._isPrincipal) return mismatch();
      const bytes = (v as { toUint8Array(): Uint8Array }).toUint8Array();
      out.byte(1);
      out.leb(bytes.length);
      out.bytes(bytes);
    };
  }
  override visitVec<T>(_t: IDL.VecClass<T>, ty: IDL.Type<T>): Writer {
    const fixed = ty instanceof IDL.FixedNatClass || ty instanceof IDL.FixedIntClass ? (ty as IDL.FixedNatClass)._bits : 0;
    if (fixed > 8) throw new Error(`no compiled writer for vec ${ty.display()}`);
    const item = ty.accept(this, null);
    return (out, v) => {
      if (fixed === 8 && ArrayBuffer.isView(v) && (v as Uint8Array).BYTES_PER_ELEMENT === 1) {
        const view = v as ArrayBufferView;
        out.leb(view.byteLength);
        return out.bytes(view instanceof Uint8Array ? view : new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
      }
      if (!Array.isArray(v)) return mismatch();
      out.leb(v.length);
      for (let i = 0; i < v.length; i++) item(out, v[i]);
    };
  }
  override visitOpt<T>(_t: IDL.OptClass<T>, ty: IDL.Type<T>): Writer {
    const inner = ty.accept(this, null);
    return (out, v) => {
      if (!Array.isArray(v) || v.length > 1) return mismatch();
      out.byte(v.length);
      if (v.length === 1) inner(out, v[0]);
    };
  }
  override visitRecord(_t: IDL.RecordClass, fields: [string, IDL.Type][]): Writer {
    const names = fields.map(([name]) => name);
    const writers = fields.map(([, ty]) => ty.accept(this, null));
    return (out, v) => {
      if (typeof v !== 'object' || v === null) return mismatch();
      for (let i = 0; i < names.length; i++) {
        if (!hasOwn(v, names[i])) mismatch();
        writers[i](out, (v as Record<string, unknown>)[names[i]]);
      }
    };
  }
  override visitTuple<T extends unknown[]>(_t: IDL.TupleClass<T>, components: IDL.Type[]): Writer {
    const writers = components.map((ty) => ty.accept(this, null));
    return (out, v) => {
      if (!Array.isArray(v) || v.length < writers.length) return mismatch();
      for (let i = 0; i < writers.length; i++) writers[i](out, v[i]);
    };
  }
  override visitVariant(_t: IDL.VariantClass, fields: [string, IDL.Type][]): Writer {
    const index = new Map(fields.map(([name], i) => [name, i]));
    const writers = fields.map(([, ty]) => ty.accept(this, null));
    return (out, v) => {
      if (typeof v !== 'object' || v === null) return mismatch();
      const keys = Object.keys(v);
      if (keys.length !== 1 || Object.getOwnPropertySymbols(v).length > 0) return mismatch();
      const i = index.get(keys[0]);
      if (i === undefined) return mismatch();
      out.leb(i);
      writers[i](out, (v as Record<string, unknown>)[keys[0]]);
    };
  }
}

/** A writer of values of `type` (throws when the type is outside what is compiled; see the file comment). */
export function compileWriter(type: IDL.Type, options: WriterOptions = {}): Writer {
  return type.accept(new WriterCompiler(options), null);
}

/** A value of the type, any value: the type table does not depend on it. */
class SampleValue extends IDL.Visitor<null, unknown> {
  override visitType<T>(t: IDL.Type<T>): unknown {
    throw new Error(`no sample of ${t.display()}`);
  }
  override visitNull(): unknown {
    return null;
  }
  override visitBool(): unknown {
    return false;
  }
  override visitText(): unknown {
    return '';
  }
  override visitNumber(): unknown {
    return 0n;
  }
  override visitFixedNat(t: IDL.FixedNatClass): unknown {
    return t._bits <= 32 ? 0 : 0n;
  }
  override visitFixedInt(t: IDL.FixedIntClass): unknown {
    return t._bits <= 32 ? 0 : 0n;
  }
  override visitFloat(): unknown {
    return 0;
  }
  override visitPrincipal(): unknown {
    return Principal.anonymous();
  }
  override visitVec(): unknown {
    return [];
  }
  override visitOpt(): unknown {
    return [];
  }
  override visitRecord(_t: IDL.RecordClass, fields: [string, IDL.Type][]): unknown {
    return Object.fromEntries(fields.map(([name, ty]) => [name, ty.accept(this, null)]));
  }
  override visitTuple<T extends unknown[]>(_t: IDL.TupleClass<T>, components: IDL.Type[]): unknown {
    return components.map((ty) => ty.accept(this, null));
  }
  override visitVariant(_t: IDL.VariantClass, fields: [string, IDL.Type][]): unknown {
    const [name, ty] = fields[0];
    return { [name]: ty.accept(this, null) };
  }
}

/** "DIDL" ‖ type table ‖ argument types: what IDL.encode writes before the values of `types`. */
export function canonicalHeader(types: IDL.Type[]): Uint8Array {
  const samples = types.map((t) => t.accept(new SampleValue(), null));
  const full = new Uint8Array(IDL.encode(types, samples));
  let values = 0;
  for (let i = 0; i < types.length; i++) values += new Uint8Array(types[i].encodeValue(samples[i])).length;
  return full.slice(0, full.length - values);
}
