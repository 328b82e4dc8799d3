// The compiled Candid path (lib/model/candid-writer.ts, candid-reader.ts) and the entity codec on
// top of it, against @dfinity/candid: writers are IDL.encode byte for byte, readers give what
// IDL.decode gives, every field type round-trips through bytes that arrive from elsewhere (not the
// in-process shortcut), and malformed bytes are refused with a ValidationError before a shard
// writes anything.
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import fc from 'fast-check';
import { codecFor, Field, getEntityMetadata, MemoryKv, PrimaryKey, rowAddress, ShardedCollection, ShardKey, ValidationError } from 'shardorm';
import { Cursor, compileReader } from '../../lib/model/candid-reader.js';
import { ByteSink, canonicalHeader, compileWriter } from '../../lib/model/candid-writer.js';
import { EntityRegistry } from '../../lib/model/registry.js';
import { isWellFormedText } from '../../lib/model/text.js';
import { executeOp } from '../../lib/shard/executor.js';
import { arbFor, arbType, PRIMITIVES, runs } from './candid-arbitraries.js';

/** JSON-comparable form (bigints, principals and byte arrays spelled out; typed arrays as arrays). */
const normal = (v: unknown): unknown =>
  JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : ArrayBuffer.isView(x) ? Array.from(x as Uint8Array, Number) : x?._isPrincipal ? `p:${x.toText()}` : x)));

function compiled(type: IDL.Type): { write: ReturnType<typeof compileWriter>; read: ReturnType<typeof compileReader> } | undefined {
  try {
    return { write: compileWriter(type), read: compileReader(type) };
  } catch {
    return undefined; // outside the compiled set (vectors of wide fixed-width numbers): callers keep IDL
  }
}

function checkAgainstIdl(type: IDL.Type, value: unknown): void {
  const reference = new Uint8Array(IDL.encode([type], [value]));
  const c = compiled(type);
  if (c === undefined) return;
  const header = canonicalHeader([type]);
  const sink = new ByteSink(4);
  sink.bytes(header);
  c.write(sink, value);
  expect(sink.finish()).toEqual(reference);
  const cursor = new Cursor(reference);
  cursor.at = header.length;
  expect(normal(c.read(cursor))).toEqual(normal(IDL.decode([type], reference)[0]));
  expect(cursor.at).toBe(reference.length);
}

describe('compiled writers and readers agree with @dfinity/candid', () => {
  it.each(PRIMITIVES.map((t) => [t.display(), t] as const))('%s', (_name, type) => {
    fc.assert(fc.property(arbFor(type), (v) => checkAgainstIdl(type, v)), { numRuns: runs(100, 2000) });
  });

  it('random nested types', () => {
    fc.assert(fc.property(arbType.chain((t) => fc.tuple(fc.constant(t), arbFor(t))), ([t, v]) => checkAgainstIdl(t, v)), { numRuns: runs(300, 5000) });
  });

  it('accepts the other JS forms IDL.encode accepts, with the same bytes', () => {
    checkAgainstIdl(IDL.Nat64, 5); // a number for nat64
    checkAgainstIdl(IDL.Nat8, 7n); // a bigint for nat8
    checkAgainstIdl(IDL.Vec(IDL.Nat8), [1, 2, 255]); // an array for a blob
    checkAgainstIdl(IDL.Vec(IDL.Nat8), new Int8Array([-1, 0, 1])); // another byte-wide typed array
    checkAgainstIdl(IDL.Tuple(IDL.Text), ['a', 'extra']); // tuples may be longer
    checkAgainstIdl(IDL.Int, -(1n << 70n));
    checkAgainstIdl(IDL.Nat, 2 ** 60); // a number above 2^53 takes the bigint path
  });
});

@ShardedCollection({ name: 'every_type' })
class EveryType {
  @ShardKey @Field(IDL.Text) page!: string;
  @PrimaryKey @Field(IDL.Nat32) n!: number;
  @Field(IDL.Bool) flag!: boolean;
  @Field(IDL.Null) nothing!: null;
  @Field(IDL.Nat) nat!: bigint;
  @Field(IDL.Int) int!: bigint;
  @Field(IDL.Nat8) n8!: number;
  @Field(IDL.Nat16) n16!: number;
  @Field(IDL.Nat64) n64!: bigint;
  @Field(IDL.Int8) i8!: number;
  @Field(IDL.Int16) i16!: number;
  @Field(IDL.Int32) i32!: number;
  @Field(IDL.Int64) i64!: bigint;
  @Field(IDL.Float32) f32!: number;
  @Field(IDL.Float64) f64!: number;
  @Field(IDL.Principal) who!: Principal;
  @Field(IDL.Vec(IDL.Nat8)) blob!: Uint8Array;
  @Field(IDL.Vec(IDL.Text)) tags!: string[];
  @Field(IDL.Opt(IDL.Text)) title?: string;
  @Field(IDL.Record({ x: IDL.Float64, y: IDL.Opt(IDL.Int16) })) point!: { x: number; y: [] | [number] };
  @Field(IDL.Variant({ a: IDL.Null, b: IDL.Text })) choice!: { a: null } | { b: string };
  @Field(IDL.Tuple(IDL.Text, IDL.Int)) pair!: [string, bigint];
  @Field(IDL.Text, { default: 'none' }) note!: string;
}

const everyType = fc.record({
  page: fc.string({ unit: 'grapheme', maxLength: 12 }),
  n: fc.nat({ max: 2 ** 32 - 1 }),
  flag: fc.boolean(),
  nothing: fc.constant(null),
  nat: fc.bigInt({ min: 0n, max: 1n << 90n }),
  int: fc.bigInt({ min: -(1n << 90n), max: 1n << 90n }),
  n8: fc.nat({ max: 255 }),
  n16: fc.nat({ max: 65535 }),
  n64: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  i8: fc.integer({ min: -128, max: 127 }),
  i16: fc.integer({ min: -32768, max: 32767 }),
  i32: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  i64: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
  f32: fc.float({ noNaN: true }),
  f64: fc.double({ noNaN: true }),
  who: fc.uint8Array({ maxLength: 29 }).map((b) => Principal.fromUint8Array(b)),
  blob: fc.uint8Array({ maxLength: 40 }),
  tags: fc.array(fc.string({ unit: 'grapheme', maxLength: 6 }), { maxLength: 4 }),
  title: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
  point: fc.record({ x: fc.double({ noNaN: true }), y: fc.option(fc.integer({ min: -32768, max: 32767 }), { nil: undefined }).map((v) => (v === undefined ? [] : [v])) }, { noNullPrototype: true }),
  choice: fc.oneof(fc.constant({ a: null }), fc.string({ maxLength: 5 }).map((b) => ({ b }))),
  pair: fc.tuple(fc.string({ maxLength: 5 }), fc.bigInt({ min: -1000n, max: 1000n })),
  note: fc.string({ maxLength: 8 }),
}, { noNullPrototype: true });

describe('entity codec: the compiled path', () => {
  const meta = getEntityMetadata(EveryType);
  const codec = codecFor(meta);

  it('every field type round-trips through bytes that arrived from elsewhere, byte-identical to IDL.encode', () => {
    fc.assert(
      fc.property(everyType, (entity) => {
        const bytes = codec.encode(entity);
        expect(bytes.subarray(3)).toEqual(new Uint8Array(IDL.encode([codec.writeType], [{ ...entity, title: entity.title === undefined ? [] : [entity.title] }])));
        const arrived = bytes.slice(); // a copy: what a shard reads from a request
        expect((codec as unknown as { decodeFast(b: Uint8Array): unknown }).decodeFast(arrived)).toBeDefined(); // the compiled reader took it
        const { record } = codec.decode(arrived);
        expect(normal(record)).toEqual(normal({ ...entity, f32: Math.fround(entity.f32) }));
        expect(normal(codec.decode(bytes).record)).toEqual(normal(record)); // the in-process shortcut gives the same record
      }),
      { numRuns: runs(200, 3000) },
    );
  });

  it('the in-process shortcut is only taken for immutable field values, and gives a fresh record each time', () => {
    @ShardedCollection({ name: 'scalars' })
    class Scalars {
      @ShardKey @Field(IDL.Text) k!: string;
      @Field(IDL.Nat8) small!: number;
      @Field(IDL.Opt(IDL.Principal)) who?: Principal;
    }
    const c = codecFor(getEntityMetadata(Scalars));
    const bytes = c.encode({ k: 'a', small: 7n, who: Principal.anonymous() }); // 7n decodes as 7: not remembered
    expect(c.decode(bytes).record.small).toBe(7);
    const plain = c.encode({ k: 'a', small: 7 });
    const first = c.decode(plain).record;
    first.small = 9;
    expect(c.decode(plain).record).toEqual({ k: 'a', small: 7, who: undefined });
    const arrays = codecFor(meta);
    const entity = fc.sample(everyType, { numRuns: 1, seed: 3 })[0];
    const withArrays = arrays.encode(entity);
    entity.tags.push('later'); // mutated after encoding: the bytes still decide
    expect(arrays.decode(withArrays).record.tags).not.toContain('later');
  });

  it('lone surrogates anywhere are refused with a ValidationError naming the field', () => {
    const entity = fc.sample(everyType, { numRuns: 1, seed: 5 })[0];
    expect(() => codec.encode({ ...entity, tags: ['ok', 'bad\uD800'] })).toThrow(ValidationError);
    expect(() => codec.encode({ ...entity, tags: ['ok', 'bad\uD800'] })).toThrow(/EveryType\.tags contains a lone UTF-16 surrogate/);
    expect(() => codec.encode({ ...entity, page: '\uDC00' })).toThrow(/EveryType\.page contains a lone/);
  });
});

describe('malformed stored values are refused before anything is written', () => {
  @ShardedCollection({ name: 'notes_malformed', access: { read: 'anyone', write: 'anyone' } })
  class Note {
    @ShardKey @Field(IDL.Text) owner!: string;
    @PrimaryKey @Field(IDL.Text) id!: string;
    @Field(IDL.Text) body!: string;
    @Field(IDL.Bool) done!: boolean;
    @Field(IDL.Opt(IDL.Nat64)) at?: bigint;
  }
  const meta = getEntityMetadata(Note);
  const codec = codecFor(meta);
  const good = codec.encode({ owner: 'o', id: 'i', body: 'héllo', done: true, at: 5n }).slice();
  const header = 3 + canonicalHeader([codec.writeType]).length;
  const text = (s: string) => Array.from(new TextEncoder().encode(s));
  // Values after the header, in field-hash order; find the body's bytes to corrupt them.
  const bodyAt = good.findIndex((_, i) => i >= header && text('héllo').every((b, j) => good[i + j] === b));

  const corruptions: [string, (b: Uint8Array) => Uint8Array][] = [
    ['truncated', (b) => b.slice(0, b.length - 1)],
    ['a trailing byte', (b) => new Uint8Array([...b, 0])],
    ['invalid UTF-8 in a text', (b) => b.map((x, i) => (i === bodyAt + 1 ? 0xff : x))],
    ['a UTF-8-encoded surrogate', (b) => new Uint8Array([...b.subarray(0, bodyAt), 0xed, 0xa0, 0x80, ...b.subarray(bodyAt + 3)])],
    ['a text length past the end', (b) => b.map((x, i) => (i === bodyAt - 1 ? 0x7f : x))],
    ['an unknown format byte', (b) => b.map((x, i) => (i === 0 ? 9 : x))],
    ['another type table', (b) => b.map((x, i) => (i === 4 + 3 ? x ^ 0x01 : x))],
  ];

  it.each(corruptions)('%s', (_name, corrupt) => {
    const bytes = corrupt(good);
    expect(() => codec.decode(bytes)).toThrow(ValidationError);
    const kv = new MemoryKv();
    const addr = rowAddress(meta, { owner: 'o', id: 'i' });
    const put = () => executeOp({ kv, registry: new EntityRegistry([Note]), owns: () => true }, { kind: 'put', collection: meta.name, hash: addr.hash, key: addr.key, value: bytes, mode: 'upsert' });
    expect(put).toThrow(ValidationError);
    expect(kv.size()).toBe(0);
  });

  it('the flag bytes of bool and opt are checked', () => {
    const done = codec.encode({ owner: 'o', id: 'i', body: '', done: false }).slice();
    const flags = [...done.keys()].filter((i) => i >= header && done[i] === 0); // bool false, opt none
    for (const i of flags) expect(() => codec.decode(done.map((x, j) => (j === i ? 2 : x)))).toThrow(ValidationError);
  });
});

describe('compiled text reader', () => {
  /** A Candid text message around raw bytes (length as one-byte LEB128 when short). */
  const textMessage = (bytes: Uint8Array): Uint8Array => {
    const header = canonicalHeader([IDL.Text]);
    const sink = new ByteSink(header.length + bytes.length + 10);
    sink.bytes(header);
    let n = bytes.length;
    const leb: number[] = [];
    do {
      leb.push((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
      n = Math.floor(n / 0x80);
    } while (n > 0);
    sink.bytes(new Uint8Array(leb));
    sink.bytes(bytes);
    return sink.finish();
  };
  const read = compileReader(IDL.Text);
  const fatal = new TextDecoder('utf-8', { fatal: true });
  /** The reader's answer, or 'refused' when it throws (callers then give the message to IDL.decode). */
  const readerAnswer = (bytes: Uint8Array): string => {
    const message = textMessage(bytes);
    const cursor = new Cursor(message);
    cursor.at = canonicalHeader([IDL.Text]).length;
    try {
      return read(cursor) as string;
    } catch {
      return 'refused';
    }
  };
  const decoderAnswer = (bytes: Uint8Array): string => {
    try {
      return fatal.decode(bytes);
    } catch {
      return 'refused';
    }
  };

  it('ASCII, every byte 0x00-0xff alone and next to ASCII, BOMs and ill-formed UTF-8 read as a fatal decoder reads them', () => {
    const cases: number[][] = [[], [0x7f], [0x20, 0x25, 0x43], [0x25, 0x43, 0x32], [0xef, 0xbb, 0xbf, 0x61], [0xc2, 0x80], [0xc3, 0xbf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82, 0xac]];
    for (let b = 0; b < 256; b++) cases.push([b], [0x61, b, 0x62]);
    for (const c of cases) expect([c, readerAnswer(new Uint8Array(c))]).toEqual([c, decoderAnswer(new Uint8Array(c))]);
  });

  it('random byte strings and random strings read as a fatal decoder reads them', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => expect(readerAnswer(bytes)).toBe(decoderAnswer(bytes))), { numRuns: runs(500, 5000) });
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => expect(readerAnswer(new TextEncoder().encode(s))).toBe(isWellFormedText(s) ? s : new TextDecoder().decode(new TextEncoder().encode(s)))), { numRuns: runs(500, 5000) });
  });
});
