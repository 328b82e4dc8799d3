// The strict request-body decoder: it reads what agents send exactly as @dfinity/cbor does, and
// refuses, with a reason, what a lenient decoder would let through.
import { Cbor } from '@dfinity/agent';
import { decodeCbor, MAX_CBOR_DEPTH } from '../../lib/replica/http/cbor.js';
import { HttpInterfaceError } from '../../lib/replica/http/errors.js';

const hex = (text: string) => Buffer.from(text.replace(/\s/g, ''), 'hex');
const refusal = (bytes: Uint8Array): string => {
  try {
    decodeCbor(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(HttpInterfaceError);
    expect((error as HttpInterfaceError).status).toBe(400);
    return (error as Error).message;
  }
  throw new Error('decoded without complaint');
};

test('decodes what the agent encodes, like @dfinity/cbor', () => {
  const value = { content: { request_type: 'call', arg: new Uint8Array([1, 2]), ingress_expiry: 1_800_000_000_000_000_000n, n: 7, paths: [[new Uint8Array([9])]] }, ok: true };
  const bytes = Cbor.encode(value);
  expect(decodeCbor(bytes)).toEqual(Cbor.decode(bytes));
  expect(decodeCbor(hex('d9d9f7 1b 0000000000000100'))).toBe(256);
});

test('indefinite-length arrays, maps and strings are read', () => {
  expect(decodeCbor(hex('9f 01 02 ff'))).toEqual([1, 2]);
  expect({ ...(decodeCbor(hex('bf 61 61 01 ff')) as object) }).toEqual({ a: 1 });
  expect(decodeCbor(hex('5f 41 01 42 02 03 ff'))).toEqual(new Uint8Array([1, 2, 3]));
  expect(decodeCbor(hex('7f 61 68 61 69 ff'))).toBe('hi');
});

test.each([
  ['trailing bytes', '01 02', /1 bytes follow the CBOR request envelope \(at byte 1\)/],
  ['a truncated byte string', '45 0102', /declares length 5, more than the 2 bytes left/],
  ['a truncated integer', '1a 0001', /truncated: needs 4 more bytes/],
  ['a float', 'fb 3ff8000000000000', /floating-point number at byte 0/],
  ['a half float', 'f9 3c00', /floating-point/],
  ['a negative integer', '20', /negative integer/],
  ['an unknown tag', 'c1 00', /Unsupported CBOR tag 1/],
  ['a duplicate map key', 'a2 6161 01 6161 02', /key "a" twice/],
  ['a non-text map key', 'a1 01 02', /map key at byte 1 is not a text string/],
  ['invalid UTF-8', '62 c328', /not valid UTF-8/],
  ['a stray break', 'ff', /Unexpected CBOR "break"/],
  ['an unterminated indefinite array', '9f 01', /ends inside an indefinite-length item/],
  ['a mixed indefinite string', '5f 61 61 ff', /Malformed chunk/],
  ['an empty body', '', /truncated/]
])('refuses %s', (_name, bytes, reason) => {
  expect(refusal(hex(bytes))).toMatch(reason);
});

test('nesting is bounded and "__proto__" is only a key', () => {
  expect(refusal(Buffer.concat([Buffer.alloc(MAX_CBOR_DEPTH + 1, 0x81), hex('00')]))).toMatch(/nesting deeper than 32/);
  expect(decodeCbor(Buffer.concat([Buffer.alloc(MAX_CBOR_DEPTH, 0x81), hex('00')]))).toBeDefined();
  const map = decodeCbor(hex('a1 69 5f5f70726f746f5f5f a0')) as Record<string, unknown>;
  expect(Object.keys(map)).toEqual(['__proto__']);
  expect(Object.getPrototypeOf(map)).toBeNull();
});
