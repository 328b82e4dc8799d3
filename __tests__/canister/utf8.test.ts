// The canister's UTF-8 TextEncoder/TextDecoder (lib/canister/utf8.ts) against Node's, which
// follow the WHATWG Encoding standard: same bytes for every string (lone surrogates included),
// same text for every byte string, a TypeError with `fatal` exactly when Node throws one.
import fc from 'fast-check';
import { installUtf8Codecs, Utf8Encoder, utf8DecoderClass } from '../../lib/canister/utf8.js';

const Decoder = utf8DecoderClass(TextDecoder as never);
const nodeEncoder = new TextEncoder();
/** Byte strings rich in UTF-8 edge cases: lead bytes, continuation bytes, BOM, surrogate and overlong forms. */
const edgyBytes = fc.array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0xef, 0xbb, 0xbf, 0xed, 0xa0, 0x80, 0xc0, 0xc2, 0xe0, 0xf0, 0xf4, 0x8f, 0x90, 0xf5)), { maxLength: 40 }).map((a) => Uint8Array.from(a));
const strings = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: fc.constantFrom('a', '\uD800', '\uDC00', '\uFFFD', 'é', '\uD83D\uDE00', '\u0000', '\uFEFF'), maxLength: 20 }));

function nodeDecode(bytes: Uint8Array, options: { fatal?: boolean; ignoreBOM?: boolean }): string | 'TypeError' {
  try {
    return new TextDecoder('utf-8', options).decode(bytes);
  } catch (e) {
    return (e as Error).name;
  }
}
function ourDecode(bytes: Uint8Array, options: { fatal?: boolean; ignoreBOM?: boolean }): string | 'TypeError' {
  try {
    return new Decoder('utf-8', options).decode(bytes);
  } catch (e) {
    return (e as Error).name;
  }
}

test('encode gives the bytes Node gives, for every string (lone surrogates become U+FFFD)', () => {
  fc.assert(fc.property(strings, (s) => expect(new Utf8Encoder().encode(s)).toEqual(nodeEncoder.encode(s))), { numRuns: 2000 });
});

test('encodeInto stops before a character that does not fit, as Node does', () => {
  fc.assert(
    fc.property(strings, fc.integer({ min: 0, max: 50 }), (s, size) => {
      const ours = new Uint8Array(size);
      const theirs = new Uint8Array(size);
      expect(new Utf8Encoder().encodeInto(s, ours)).toEqual(nodeEncoder.encodeInto(s, theirs));
      expect(ours).toEqual(theirs);
    }),
    { numRuns: 1000 }
  );
});

test('decode gives the text Node gives, with and without fatal and ignoreBOM', () => {
  fc.assert(
    fc.property(fc.oneof(edgyBytes, strings.map((s) => nodeEncoder.encode(s))), fc.boolean(), fc.boolean(), (bytes, fatal, ignoreBOM) => {
      expect(ourDecode(bytes, { fatal, ignoreBOM })).toEqual(nodeDecode(bytes, { fatal, ignoreBOM }));
    }),
    { numRuns: 3000 }
  );
});

test('long text crosses the chunk boundary intact; views and ArrayBuffers decode from their own bytes', () => {
  const long = 'a'.repeat(5000) + 'é😀' + 'b'.repeat(9000);
  expect(new Decoder().decode(nodeEncoder.encode(long))).toBe(long);
  expect(new Decoder().decode(nodeEncoder.encode('x'.repeat(10000)))).toBe('x'.repeat(10000));
  const buffer = nodeEncoder.encode('..hello..');
  expect(new Decoder().decode(buffer.subarray(2, 7))).toBe('hello');
  expect(new Decoder().decode(new DataView(buffer.buffer, buffer.byteOffset + 2, 5))).toBe('hello');
  expect(new Decoder().decode(nodeEncoder.encode('abc').buffer)).toBe('abc');
  expect(new Decoder().decode()).toBe('');
});

test('other labels and streaming decodes go to the decoder it replaced', () => {
  expect(new Decoder('utf-16le').decode(new Uint8Array([0x61, 0x00]))).toBe('a');
  const d = new Decoder();
  expect(d.decode(new Uint8Array([0xc3]), { stream: true }) + d.decode(new Uint8Array([0xa9]))).toBe('é');
  expect(() => new (utf8DecoderClass(undefined))('latin1')).toThrow(RangeError);
});

test('installUtf8Codecs replaces both globals once, keeping the old decoder for the rest', () => {
  const target: { TextEncoder?: unknown; TextDecoder?: unknown } = { TextEncoder, TextDecoder };
  installUtf8Codecs(target);
  const Installed = target.TextDecoder;
  expect(target.TextEncoder).toBe(Utf8Encoder);
  installUtf8Codecs(target);
  expect(target.TextDecoder).toBe(Installed);
});
