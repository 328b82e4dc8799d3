// Candid for the shard protocol without @dfinity/candid's per-message type work. Measured in an
// Azle canister (bench/shard-canister.bench.ts), `IDL.encode` of a one-value ShardResponse spends
// ~26 M of its ~28 M instructions rebuilding the type table, and `IDL.decode` of a one-get
// ShardRequest ~21 M, for a few hundred bytes of values. A CandidCodec computes the type-table
// header of its types once; it encodes as header ‖ values written by writers compiled from the
// types (lib/model/candid-writer.ts: byte-identical to IDL.encode; a value they do not take goes
// to encodeValue) and decodes messages whose header is exactly that canonical one with readers
// compiled from the types (lib/model/candid-reader.ts). Any other header (another library's type
// table, subtyping) goes to IDL.decode, so every valid message still decodes and every invalid
// one is still refused.
import { IDL } from '@dfinity/candid';
import { Cursor, compileReader, headerText, startsWithHeader, type Reader } from '../model/candid-reader.js';
import { ByteSink, canonicalHeader, compileWriter, ValueMismatch, type Writer } from '../model/candid-writer.js';

export class CandidCodec {
  /** Messages decoded by the compiled readers and by IDL.decode. */
  readonly stats = { fast: 0, full: 0 };
  private header?: { bytes: Uint8Array; text: string };
  private readers?: Reader[];
  /** Compiled writers, or null when a type has none (then values go through encodeValue). */
  private writers?: Writer[] | null;

  constructor(readonly types: IDL.Type[]) {}

  /** "DIDL" ‖ type table ‖ argument types: what IDL.encode writes before the values. */
  private canonicalHeader(): { bytes: Uint8Array; text: string } {
    if (this.header === undefined) {
      const bytes = canonicalHeader(this.types);
      this.header = { bytes, text: headerText(bytes) };
    }
    return this.header;
  }

  private compiledWriters(): Writer[] | null {
    if (this.writers === undefined) {
      try {
        this.writers = this.types.map((t) => compileWriter(t));
      } catch {
        this.writers = null;
      }
    }
    return this.writers;
  }

  /** Byte-identical to IDL.encode(types, values) for values of the types (not checked again). */
  encode(values: unknown[]): Uint8Array {
    const header = this.canonicalHeader().bytes;
    const writers = this.compiledWriters();
    if (writers !== null) {
      const out = new ByteSink(header.length + 256);
      out.bytes(header);
      try {
        for (let i = 0; i < writers.length; i++) writers[i](out, values[i]);
        return out.finish();
      } catch (e) {
        if (!(e instanceof ValueMismatch)) throw e;
        // a value the compiled writer does not take: encodeValue decides (and names the problem)
      }
    }
    return concatAll([header, ...this.types.map((t, i) => new Uint8Array(t.encodeValue(values[i])))]);
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
    this.readers ??= this.types.map((t) => compileReader(t));
    return this.readers;
  }

  decode(bytes: Uint8Array): unknown[] {
    const header = this.canonicalHeader();
    if (startsWithHeader(bytes, 0, header.bytes, header.text)) {
      const readers = this.compiledReaders();
      const cursor = new Cursor(bytes);
      cursor.at = header.bytes.length;
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

function concatAll(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
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
