// Candid for the shard protocol without @dfinity/candid's per-message type work. Measured in an
// Azle canister (bench/shard-canister.bench.ts), `IDL.encode` of a one-value ShardResponse spends
// ~26 M of its ~28 M instructions rebuilding the type table, and `IDL.decode` of a one-get
// ShardRequest ~21 M, for a few hundred bytes of values. A CandidCodec computes the type-table
// header of its types once; it encodes as header ‖ encodeValue (byte-identical to IDL.encode) and
// decodes messages whose header is exactly that canonical one with readers compiled from the
// types. Any other header (another library's type table, subtyping) goes to IDL.decode, so every
// valid message still decodes and every invalid one is still refused.
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { concatBytes } from '@noble/hashes/utils'; // already in every bundle: @dfinity/principal uses it

type Reader = (r: Cursor) => unknown;

class Cursor {
  at = 0;
  constructor(readonly bytes: Uint8Array) {}

  take(n: number): Uint8Array {
    if (n < 0 || this.at + n > this.bytes.length) throw new RangeError('candid: message ends early');
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  byte(): number {
    return this.take(1)[0];
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

  /** A length or index (LEB128), bounded by what is left of the message. */
  length(): number {
    const n = this.leb();
    if (n > BigInt(this.bytes.length - this.at)) throw new RangeError('candid: a length exceeds the message');
    return Number(n);
  }

  fixed(bytes: number, signed: boolean): bigint {
    const b = this.take(bytes);
    let value = 0n;
    for (let i = bytes - 1; i >= 0; i--) value = (value << 8n) | BigInt(b[i]);
    return signed && b[bytes - 1] & 0x80 ? value - (1n << BigInt(bytes * 8)) : value;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Compiles a reader for values of a type laid out exactly as its own canonical type table says. */
class ReaderCompiler extends IDL.Visitor<null, Reader> {
  override visitType<T>(t: IDL.Type<T>): Reader {
    throw new Error(`fast candid: no reader for ${t.display()}`);
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
    return (r) => utf8.decode(r.take(r.length()));
  }
  override visitNat(): Reader {
    return (r) => r.leb();
  }
  override visitInt(): Reader {
    return (r) => r.sleb();
  }
  override visitFixedNat(t: IDL.FixedNatClass): Reader {
    const bytes = t._bits / 8;
    return bytes <= 4 ? (r) => Number(r.fixed(bytes, false)) : (r) => r.fixed(bytes, false);
  }
  override visitFixedInt(t: IDL.FixedIntClass): Reader {
    const bytes = t._bits / 8;
    return bytes <= 4 ? (r) => Number(r.fixed(bytes, true)) : (r) => r.fixed(bytes, true);
  }
  override visitPrincipal(): Reader {
    return (r) => {
      if (r.byte() !== 1) throw new RangeError('candid: opaque principal reference');
      return Principal.fromUint8Array(r.take(r.length()).slice());
    };
  }
  override visitVec<T>(_t: IDL.VecClass<T>, ty: IDL.Type<T>): Reader {
    if (ty instanceof IDL.FixedNatClass && ty._bits === 8) return (r) => r.take(r.length()).slice();
    const item = ty.accept(this, null);
    return (r) => {
      const n = r.length();
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
    const readers = fields.map(([name, ty]) => [name, ty.accept(this, null)] as const);
    return (r) => {
      const out: Record<string, unknown> = {};
      for (const [name, read] of readers) out[name] = read(r);
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
      const i = r.length();
      if (i >= readers.length) throw new RangeError('candid: variant index out of range');
      const [name, read] = readers[i];
      return { [name]: read(r) };
    };
  }
}

/** A value of the type, any value: the type table does not depend on it. */
class SampleValue extends IDL.Visitor<null, unknown> {
  override visitType<T>(t: IDL.Type<T>): unknown {
    throw new Error(`fast candid: no sample of ${t.display()}`);
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
  override visitNat(): unknown {
    return 0n;
  }
  override visitInt(): unknown {
    return 0n;
  }
  override visitFixedNat(t: IDL.FixedNatClass): unknown {
    return t._bits <= 32 ? 0 : 0n;
  }
  override visitFixedInt(t: IDL.FixedIntClass): unknown {
    return t._bits <= 32 ? 0 : 0n;
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

export class CandidCodec {
  /** Messages decoded by the compiled readers and by IDL.decode. */
  readonly stats = { fast: 0, full: 0 };
  private header?: Uint8Array;
  private readers?: Reader[];

  constructor(readonly types: IDL.Type[]) {}

  /** "DIDL" ‖ type table ‖ argument types: what IDL.encode writes before the values. */
  private canonicalHeader(): Uint8Array {
    if (this.header === undefined) {
      const samples = this.types.map((t) => t.accept(new SampleValue(), null));
      const full = new Uint8Array(IDL.encode(this.types, samples));
      const values = concatBytes(...this.types.map((t, i) => new Uint8Array(t.encodeValue(samples[i]))));
      this.header = full.slice(0, full.length - values.length);
    }
    return this.header;
  }

  /** Byte-identical to IDL.encode(types, values) for values of the types (not checked again). */
  encode(values: unknown[]): Uint8Array {
    return concatBytes(this.canonicalHeader(), ...this.types.map((t, i) => new Uint8Array(t.encodeValue(values[i]))));
  }

  /**
   * Builds the header and readers now (~40 M instructions per message type in Azle). A query
   * keeps no heap changes, so a canister prepares its codecs in init/post_upgrade, not lazily.
   */
  prepare(): void {
    this.canonicalHeader();
    this.compiledReaders();
  }

  private compiledReaders(): Reader[] {
    this.readers ??= this.types.map((t) => t.accept(new ReaderCompiler(), null));
    return this.readers;
  }

  decode(bytes: Uint8Array): unknown[] {
    const header = this.canonicalHeader();
    if (bytes.length >= header.length && header.every((b, i) => bytes[i] === b)) {
      const readers = this.compiledReaders();
      const cursor = new Cursor(bytes);
      cursor.at = header.length;
      try {
        const values = readers.map((read) => read(cursor));
        if (cursor.at === bytes.length) {
          this.stats.fast++;
          return values;
        }
      } catch {
        // not a well-formed canonical message: the full decoder gives the precise error
      }
    }
    this.stats.full++;
    return IDL.decode(this.types, bytes);
  }
}

const single = new WeakMap<IDL.Type, CandidCodec>();

/** The codec of one argument (or result) type, made once per type object. */
export function codecOf(type: IDL.Type): CandidCodec {
  let codec = single.get(type);
  if (codec === undefined) {
    codec = new CandidCodec([type]);
    single.set(type, codec);
  }
  return codec;
}
