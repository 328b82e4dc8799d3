import { createRequire } from 'node:module';
import fc from 'fast-check';
import { HASH_SPACE, hashFromBytes, hashShardKey, hashToBytes, MAX_SHARD_KEY_BYTES, PartitionError } from '../../lib/partition/index.js';
import { LONG } from './keys.js';

// An independent XXH64 (BigInt + Buffer, Node only) as the oracle for random inputs.
const { XXH64 } = createRequire(import.meta.url)('xxh3-ts') as { XXH64: (b: Buffer, seed: bigint) => bigint };
const utf8 = (s: string) => new TextEncoder().encode(s);
const hex = (h: bigint) => h.toString(16).padStart(16, '0');

/** xxhsum's sanity buffer: byte i = top byte of PRIME32 * PRIME64^i (mod 2^64). */
function sanityBuffer(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let g = 2654435761n;
  for (let i = 0; i < n; i++) {
    out[i] = Number(g >> 56n);
    g = (g * 11400714785074694797n) % HASH_SPACE;
  }
  return out;
}

describe('hashShardKey = XXH64 seed 0 (known answers: changing them relocates every stored key)', () => {
  test.each([
    [0, 'ef46db3751d8e999'],
    [1, 'e934a84adb052768'],
    [4, '9136a0dca57457ee'],
    [14, '8282dcc4994e35c8'],
    [222, 'b641ae8cb691c174'],
  ])('xxhsum sanity buffer, length %i', (len, expected) => {
    expect(hex(hashShardKey(sanityBuffer(len)))).toBe(expected);
  });

  test.each([
    ['', 'ef46db3751d8e999'],
    ['a', 'd24ec4f1a98c6e5b'],
    ['abc', '44bc2cf5ad770999'],
    ['user-42', '397e9d3a76af7c81'],
    ['snippets/page-1', '20c8a5c7dcba59e1'],
    ['0123456789abcdef0123456789abcdef', '642a94958e71e6c5'],
    ['The quick brown fox jumps over the lazy dog', '0b242d361fda71bc'],
  ])('utf8(%j)', (s, expected) => {
    expect(hex(hashShardKey(utf8(s)))).toBe(expected);
  });

  test('agrees with an independent XXH64 on random inputs of every tail length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(hashShardKey(bytes)).toBe(XXH64(Buffer.from(bytes), 0n));
      }),
      { numRuns: LONG ? 20_000 : 500 },
    );
  });

  test('reads only the view it is given (subarray with an offset)', () => {
    const big = sanityBuffer(300);
    expect(hashShardKey(big.subarray(7, 229))).toBe(XXH64(Buffer.from(big.subarray(7, 229)), 0n));
  });

  test('rejects non-bytes and oversized keys with a typed error', () => {
    expect(() => hashShardKey('abc' as unknown as Uint8Array)).toThrow(/encode the shard key to bytes/);
    const err = (() => { try { hashShardKey(new Uint8Array(MAX_SHARD_KEY_BYTES + 1)); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(PartitionError);
    expect((err as PartitionError).code).toBe('invalid-argument');
    expect((err as Error).message).toMatch(/use a shorter shard key/);
  });
});

describe('hashToBytes / hashFromBytes', () => {
  const u64 = fc.bigInt({ min: 0n, max: HASH_SPACE - 1n });
  test('round-trips and byte order equals numeric order', () => {
    fc.assert(
      fc.property(u64, u64, (a, b) => {
        const ba = hashToBytes(a), bb = hashToBytes(b);
        expect(hashFromBytes(ba)).toBe(a);
        expect(Math.sign(Buffer.compare(Buffer.from(ba), Buffer.from(bb)))).toBe(a < b ? -1 : a > b ? 1 : 0);
      }),
      { numRuns: LONG ? 20_000 : 1_000 },
    );
    expect([...hashToBytes(HASH_SPACE - 1n)]).toEqual([255, 255, 255, 255, 255, 255, 255, 255]);
  });

  test('rejects values outside [0, 2^64)', () => {
    expect(() => hashToBytes(HASH_SPACE)).toThrow(PartitionError);
    expect(() => hashToBytes(-1n)).toThrow(/pass a value from hashShardKey/);
    expect(() => hashFromBytes(new Uint8Array(7))).toThrow(/exactly 8 bytes/);
  });
});
