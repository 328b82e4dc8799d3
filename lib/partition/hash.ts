/**
 * The shard-key hash: **XXH64 with seed 0** (Yann Collet's xxHash64, spec:
 * github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md), over the shard key's bytes.
 *
 * Why XXH64 (see bench/partition.bench.ts): it passes avalanche/uniformity checks (FNV-1a does
 * not: its top bits, which pick the range, barely depend on the last input byte), it has
 * published test vectors and ports in every language (Rust, Motoko, Python tools can compute the
 * same placement). Done in 32-bit halves it is ~5x faster than a BigInt XXH64 and SHA-256 in V8
 * (clients, tests, MemoryCluster); inside QuickJS (canisters) the two forms are within ~30% of
 * each other (~10 µs a short key either way), so the one implementation serves both. Both forms
 * give the same numbers, so the implementation can change without moving any key.
 *
 * Portability: only `Math.imul`, 32-bit bit operations and exact double arithmetic below 2^53,
 * which behave identically in every ES2020 engine (V8, QuickJS). No BigInt until the final
 * result, no WebAssembly, no Node Buffer/crypto. Known-answer vectors in
 * __tests__/partition/hash.test.ts pin the function: changing it relocates every stored key.
 */
import { check } from './errors.js';

/** Size of the hash space: hashes are unsigned 64-bit integers in [0, HASH_SPACE). */
export const HASH_SPACE = 1n << 64n;

/** Upper bound on a shard key's encoded size; a key this large is a modelling mistake. */
export const MAX_SHARD_KEY_BYTES = 64 * 1024;

// XXH64 primes as [high 32 bits, low 32 bits].
const P1H = 0x9e3779b1, P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d, P2L = 0x27d4eb4f;
const P3H = 0x165667b1, P3L = 0x9e3779f9;
const P4H = 0x85ebca77, P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f, P5L = 0x165667c5;

const imul = Math.imul; // one lookup, not one per call (QuickJS does not inline it)

// Result registers of the 64-bit helpers: avoids allocating a pair per operation.
let rH = 0;
let rL = 0;

/** r = a * b mod 2^64. The low product is split in 16-bit halves so every double stays exact. */
function mul(aH: number, aL: number, bH: number, bL: number): void {
  const a0 = aL & 0xffff, a1 = aL >>> 16, b0 = bL & 0xffff, b1 = bL >>> 16;
  const mid = a1 * b0 + a0 * b1; // < 2^33; `& 0xffff` and `/ 0x10000 >>> 0` split it exactly
  const low = a0 * b0 + (mid & 0xffff) * 0x10000; // < 2^33
  rL = low >>> 0;
  rH = (a1 * b1 + ((mid / 0x10000) >>> 0) + (low > 0xffffffff ? 1 : 0) + imul(aH, bL) + imul(aL, bH)) >>> 0;
}

/** r = a + b mod 2^64. */
function add(aH: number, aL: number, bH: number, bL: number): void {
  const low = aL + bL;
  rL = low >>> 0;
  rH = (aH + bH + (low > 0xffffffff ? 1 : 0)) >>> 0;
}

/** r = rotl(a, n) for 0 < n < 32 (the only rotations XXH64 uses). */
function rotl(aH: number, aL: number, n: number): void {
  const h = ((aH << n) | (aL >>> (32 - n))) >>> 0;
  rL = ((aL << n) | (aH >>> (32 - n))) >>> 0;
  rH = h;
}

/** r = rotl(acc + input * P2, 31) * P1 */
function round(accH: number, accL: number, inH: number, inL: number): void {
  mul(inH, inL, P2H, P2L);
  add(accH, accL, rH, rL);
  rotl(rH, rL, 31);
  mul(rH, rL, P1H, P1L);
}

function read32(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}

/** XXH64(bytes, seed 0); leaves the result in (rH, rL). */
function xxh64(b: Uint8Array): void {
  const len = b.length;
  let p = 0;
  let hH: number, hL: number;
  if (len >= 32) {
    let v1H = 0x60ea27ee, v1L = 0xadc0b5d6; // P1 + P2
    let v2H = P2H, v2L = P2L;
    let v3H = 0, v3L = 0;
    let v4H = 0x61c8864e, v4L = 0x7a143579; // -P1
    do {
      round(v1H, v1L, read32(b, p + 4), read32(b, p)); v1H = rH; v1L = rL;
      round(v2H, v2L, read32(b, p + 12), read32(b, p + 8)); v2H = rH; v2L = rL;
      round(v3H, v3L, read32(b, p + 20), read32(b, p + 16)); v3H = rH; v3L = rL;
      round(v4H, v4L, read32(b, p + 28), read32(b, p + 24)); v4H = rH; v4L = rL;
      p += 32;
    } while (p + 32 <= len);
    rotl(v1H, v1L, 1); hH = rH; hL = rL;
    rotl(v2H, v2L, 7); add(hH, hL, rH, rL); hH = rH; hL = rL;
    rotl(v3H, v3L, 12); add(hH, hL, rH, rL); hH = rH; hL = rL;
    rotl(v4H, v4L, 18); add(hH, hL, rH, rL); hH = rH; hL = rL;
    const vs = [v1H, v1L, v2H, v2L, v3H, v3L, v4H, v4L];
    for (let i = 0; i < 8; i += 2) {
      round(0, 0, vs[i], vs[i + 1]); // merge round: h = (h ^ round(0, v)) * P1 + P4
      mul((hH ^ rH) >>> 0, (hL ^ rL) >>> 0, P1H, P1L);
      add(rH, rL, P4H, P4L); hH = rH; hL = rL;
    }
  } else {
    hH = P5H; hL = P5L;
  }
  add(hH, hL, 0, len); hH = rH; hL = rL;
  for (; p + 8 <= len; p += 8) {
    round(0, 0, read32(b, p + 4), read32(b, p));
    rotl((hH ^ rH) >>> 0, (hL ^ rL) >>> 0, 27);
    mul(rH, rL, P1H, P1L);
    add(rH, rL, P4H, P4L); hH = rH; hL = rL;
  }
  if (p + 4 <= len) {
    mul(0, read32(b, p), P1H, P1L);
    rotl((hH ^ rH) >>> 0, (hL ^ rL) >>> 0, 23);
    mul(rH, rL, P2H, P2L);
    add(rH, rL, P3H, P3L); hH = rH; hL = rL;
    p += 4;
  }
  for (; p < len; p++) {
    mul(0, b[p], P5H, P5L);
    rotl((hH ^ rH) >>> 0, (hL ^ rL) >>> 0, 11);
    mul(rH, rL, P1H, P1L); hH = rH; hL = rL;
  }
  // Avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32.
  mul(hH, (hL ^ (hH >>> 1)) >>> 0, P2H, P2L); hH = rH; hL = rL;
  mul((hH ^ (hH >>> 29)) >>> 0, (hL ^ ((hL >>> 29) | (hH << 3))) >>> 0, P3H, P3L); hH = rH; hL = rL;
  rH = hH;
  rL = (hL ^ hH) >>> 0;
}

/**
 * The fixed 64-bit shard-key hash (XXH64, seed 0) as an unsigned bigint in [0, 2^64).
 * `hashShardKey(utf8('abc')) === 0x44bc2cf5ad770999n`.
 */
export function hashShardKey(bytes: Uint8Array): bigint {
  check(bytes instanceof Uint8Array, 'invalid-argument', () => 'hashShardKey expects a Uint8Array: encode the shard key to bytes first');
  check(bytes.length <= MAX_SHARD_KEY_BYTES, 'invalid-argument', () =>
    `shard key is ${bytes.length} bytes, above MAX_SHARD_KEY_BYTES (${MAX_SHARD_KEY_BYTES}): use a shorter shard key (e.g. an id, not a document)`);
  xxh64(bytes);
  return (BigInt(rH) << 32n) | BigInt(rL);
}

/** Throws 'hash-out-of-range' unless `hash` is a bigint in [0, 2^64). */
export function checkHash(hash: bigint): void {
  check(typeof hash === 'bigint' && hash >= 0n && hash < HASH_SPACE, 'hash-out-of-range', () =>
    `hash ${String(hash)} is not an unsigned 64-bit bigint: pass a value from hashShardKey`);
}

/** Big-endian 8-byte form of a hash: byte order equals numeric order (for ordered storage keys). */
export function hashToBytes(hash: bigint): Uint8Array {
  checkHash(hash);
  const out = new Uint8Array(8);
  const hi = Number(hash >> 32n), lo = Number(hash & 0xffffffffn);
  for (let i = 0; i < 4; i++) {
    out[i] = (hi >>> (24 - 8 * i)) & 0xff;
    out[4 + i] = (lo >>> (24 - 8 * i)) & 0xff;
  }
  return out;
}

/** Inverse of hashToBytes. */
export function hashFromBytes(bytes: Uint8Array): bigint {
  check(bytes instanceof Uint8Array && bytes.length === 8, 'invalid-argument', () =>
    'hashFromBytes expects exactly 8 bytes (the big-endian form written by hashToBytes)');
  const hi = read32BE(bytes, 0), lo = read32BE(bytes, 4);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

function read32BE(b: Uint8Array, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}
