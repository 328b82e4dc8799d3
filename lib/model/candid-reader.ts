// Candid values read by functions compiled once per type, for messages whose type table is
// exactly the canonical one of that type (canonicalHeader in candid-writer.ts): then the wire
// types are the expected types and no subtyping rule applies, so a reader only has to walk the
// values. Every read is bounded by the message and checked (bool and opt flags, variant indexes,
// UTF-8 of text, lengths); a reader throws a RangeError or TypeError on a malformed value, and
// its callers give such messages to IDL.decode for the precise answer. Values come out as
// IDL.decode makes them (tested against it). Fixed-width numbers are read with DataView (native)
// and lengths without bigints: in QuickJS each JS operation costs hundreds of Wasm instructions.
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { binaryString, utf8FatalDecoder } from './text.js';

export type Reader = (r: Cursor) => unknown;

export class Cursor {
  at = 0;
  readonly view: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Moves past `n` bytes and returns where they start. */
  skip(n: number): number {
    const start = this.at;
    if (n < 0 || start + n > this.bytes.length) throw new RangeError('candid: message ends early');
    this.at = start + n;
    return start;
  }

  take(n: number): Uint8Array {
    const start = this.skip(n);
    return this.bytes.subarray(start, start + n);
  }

  byte(): number {
    if (this.at >= this.bytes.length) throw new RangeError('candid: message ends early');
    return this.bytes[this.at++];
  }

  /** Unsigned LEB128 as a bigint. */
  leb(): bigint {
    let value = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = this.byte();
      value |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return value;
    }
  }

  /** Signed LEB128 as a bigint. */
  sleb(): bigint {
    let value = 0n;
    let shift = 0n;
    let b: number;
    do {
      b = this.byte();
      value |= BigInt(b & 0x7f) << shift;
      shift += 7n;
    } while (b & 0x80);
    return b & 0x40 ? value - (1n << shift) : value;
  }

  /** A length (LEB128), bounded by what is left of the message. */
  length(): number {
    const first = this.at < this.bytes.length ? this.bytes[this.at] : 0x80;
    let n: number;
    if (first < 0x80) (n = first), this.at++; // one byte: most lengths
    else n = this.index();
    if (n > this.bytes.length - this.at) throw new RangeError('candid: a length exceeds the message');
    return n;
  }

  /** An unsigned LEB128 below 2^49 as a number (variant indexes, lengths). */
  index(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      n += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) break;
      scale *= 0x80;
      if (scale > 2 ** 49) throw new RangeError('candid: a length or index is too large');
    }
    return n;
  }
}

/** Texts up to this many bytes are tried as ASCII first (one String.fromCharCode.apply: its argument bound). */
export const ASCII_TEXT_MAX_BYTES = 4096;

/**
 * UTF-8 as a fatal TextDecoder decodes it. ASCII bytes are their own text, recognised by native
 * calls without the decoder's per-call work (in a canister ~30,000 instructions, most of a short
 * text's decode): in the string of the bytes as char codes, a code of 0x80–0xFF is exactly what
 * encodeURIComponent writes as %C2.. or %C3.. (ASCII escapes start %0–%7), and that search costs
 * less than half of a regular expression's walk in QuickJS. Anything else goes to the decoder,
 * which refuses ill-formed bytes.
 */
function readText(bytes: Uint8Array): string {
  if (bytes.length <= ASCII_TEXT_MAX_BYTES) {
    const binary = binaryString(bytes);
    if (encodeURIComponent(binary).indexOf('%C') < 0) return binary;
  }
  return utf8FatalDecoder().decode(bytes);
}

/** Elements of zero bytes a compiled vector reader builds at most (IDL.decode takes longer ones). */
export const MAX_ZERO_SIZED_ELEMENTS = 1 << 16;

function zeroSized(t: IDL.Type): boolean {
  if (t instanceof IDL.NullClass) return true;
  if (t instanceof IDL.RecordClass) return t._fields.every(([, f]) => zeroSized(f)); // tuples are records
  return false;
}

/** Compiles a reader for values of a type laid out exactly as its own canonical type table says. */
class ReaderCompiler extends IDL.Visitor<null, Reader> {
  override visitType<T>(t: IDL.Type<T>): Reader {
    throw new Error(`no compiled reader for ${t.display()}`);
  }
  override visitNull(): Reader {
    return () => null;
  }
  override visitBool(): Reader {
    return (r) => {
      const b = r.byte();
      if (b > 1) throw new RangeError('candid: bool out of range');
      return b === 1;
    };
  }
  override visitText(): Reader {
    return (r) => {
      const n = r.length();
      const at = r.at;
      r.at = at + n;
      return readText(r.bytes.subarray(at, at + n));
    };
  }
  override visitNat(): Reader {
    return (r) => r.leb();
  }
  override visitInt(): Reader {
    return (r) => r.sleb();
  }
  override visitFixedNat(t: IDL.FixedNatClass): Reader {
    switch (t._bits) {
      case 8:
        return (r) => r.byte();
      case 16:
        return (r) => r.view.getUint16(r.skip(2), true);
      case 32:
        return (r) => r.view.getUint32(r.skip(4), true);
      default:
        return (r) => r.view.getBigUint64(r.skip(8), true);
    }
  }
  override visitFixedInt(t: IDL.FixedIntClass): Reader {
    switch (t._bits) {
      case 8:
        return (r) => r.view.getInt8(r.skip(1));
      case 16:
        return (r) => r.view.getInt16(r.skip(2), true);
      case 32:
        return (r) => r.view.getInt32(r.skip(4), true);
      default:
        return (r) => r.view.getBigInt64(r.skip(8), true);
    }
  }
  override visitFloat(t: IDL.FloatClass): Reader {
    return t._bits === 64 ? (r) => r.view.getFloat64(r.skip(8), true) : (r) => r.view.getFloat32(r.skip(4), true);
  }
  override visitPrincipal(): Reader {
    return (r) => {
      if (r.byte() !== 1) throw new RangeError('candid: opaque principal reference');
      return Principal.fromUint8Array(r.take(r.length()).slice());
    };
  }
  override visitVec<T>(_t: IDL.VecClass<T>, ty: IDL.Type<T>): Reader {
    if (ty instanceof IDL.FixedNatClass && ty._bits === 8) {
      return (r) => {
        const n = r.length();
        const at = r.at;
        r.at = at + n;
        return r.bytes.slice(at, at + n);
      };
    }
    if (ty instanceof IDL.FixedNatClass || ty instanceof IDL.FixedIntClass) {
      throw new Error(`no compiled reader for vec ${ty.display()} (IDL.decode makes a typed array of it)`);
    }
    const item = ty.accept(this, null);
    // Elements of zero bytes (null, empty records) may outnumber the bytes left; others may not.
    const zero = zeroSized(ty);
    return (r) => {
      const n = zero ? r.index() : r.length();
      if (zero && n > MAX_ZERO_SIZED_ELEMENTS) throw new RangeError('candid: a vector of zero-sized values too long for the compiled reader');
      const out: unknown[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = item(r);
      return out;
    };
  }
  override visitOpt<T>(_t: IDL.OptClass<T>, ty: IDL.Type<T>): Reader {
    const inner = ty.accept(this, null);
    return (r) => {
      const flag = r.byte();
      if (flag > 1) throw new RangeError('candid: opt flag out of range');
      return flag === 0 ? [] : [inner(r)];
    };
  }
  override visitRecord(_t: IDL.RecordClass, fields: [string, IDL.Type][]): Reader {
    const names = fields.map(([name]) => name);
    const readers = fields.map(([, ty]) => ty.accept(this, null));
    return (r) => {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < names.length; i++) out[names[i]] = readers[i](r);
      return out;
    };
  }
  override visitTuple<T extends unknown[]>(_t: IDL.TupleClass<T>, components: IDL.Type[]): Reader {
    const readers = components.map((ty) => ty.accept(this, null));
    return (r) => readers.map((read) => read(r));
  }
  override visitVariant(_t: IDL.VariantClass, fields: [string, IDL.Type][]): Reader {
    const readers = fields.map(([name, ty]) => [name, ty.accept(this, null)] as const);
    return (r) => {
      const i = r.index();
      if (i >= readers.length) throw new RangeError('candid: variant index out of range');
      const [name, read] = readers[i];
      return { [name]: read(r) };
    };
  }
}

/** A reader of values of `type` (throws when the type is outside what is compiled). */
export function compileReader(type: IDL.Type): Reader {
  return type.accept(new ReaderCompiler(), null);
}

/** Whether `bytes` starts with `header` at `offset` (compared as text: native, not a byte loop). */
export function startsWithHeader(bytes: Uint8Array, offset: number, header: Uint8Array, headerText: string): boolean {
  if (bytes.length < offset + header.length) return false;
  return binaryString(bytes.subarray(offset, offset + header.length)) === headerText;
}

/** The text form startsWithHeader compares against. */
export function headerText(header: Uint8Array): string {
  return binaryString(header);
}
