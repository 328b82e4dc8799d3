// Hash and jump-hash candidates compared by bench/partition.bench.ts (bench-only code: the
// chosen hash lives in lib/partition/hash.ts). The FNV and XXH64 functions use no imports in their
// bodies, so the benchmark can also run their source text inside QuickJS.
import { sha256 } from '@noble/hashes/sha2';
import { hashFromBytes } from '../lib/partition/index.js';

const M64 = (1n << 64n) - 1n;
export function fnv1a64BigInt(b: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < b.length; i++) h = ((h ^ BigInt(b[i])) * 0x100000001b3n) & M64;
  return h;
}
/** FNV-1a 64 in 32-bit halves: h * 0x100000001b3 = h * 0x1b3 + (h << 40). */
export function fnv1a64Halves(b: Uint8Array): bigint {
  let hi = 0xcbf29ce4, lo = 0x84222325;
  for (let i = 0; i < b.length; i++) {
    lo = (lo ^ b[i]) >>> 0;
    const l0 = lo & 0xffff, l1 = lo >>> 16;
    const low = l0 * 0x1b3 + ((l1 * 0x1b3) % 0x10000) * 0x10000;
    const carry = Math.floor((l1 * 0x1b3) / 0x10000) + Math.floor(low / 0x100000000);
    hi = (Math.imul(hi, 0x1b3) + carry + (lo << 8)) >>> 0;
    lo = low >>> 0;
  }
  return (BigInt(hi) << 32n) | BigInt(lo);
}
/** XXH64 seed 0 in plain BigInt (bench-only, Buffer-free so it also runs in QuickJS). */
export function xxh64BigInt(b: Uint8Array): bigint {
  const P1 = 0x9e3779b185ebca87n, P2 = 0xc2b2ae3d27d4eb4fn, P3 = 0x165667b19e3779f9n, P4 = 0x85ebca77c2b2ae63n, P5 = 0x27d4eb2f165667c5n;
  const M = (1n << 64n) - 1n;
  const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & M;
  const u32 = (p: number) => BigInt((b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0);
  const u64 = (p: number) => u32(p) | (u32(p + 4) << 32n);
  const round = (acc: bigint, x: bigint) => (rotl((acc + x * P2) & M, 31n) * P1) & M;
  let p = 0, h: bigint;
  if (b.length >= 32) {
    const v = [(P1 + P2) & M, P2, 0n, (M + 1n - P1) & M];
    for (; p + 32 <= b.length; p += 32) for (let k = 0; k < 4; k++) v[k] = round(v[k], u64(p + 8 * k));
    h = (rotl(v[0], 1n) + rotl(v[1], 7n) + rotl(v[2], 12n) + rotl(v[3], 18n)) & M;
    for (const x of v) h = (((h ^ round(0n, x)) * P1) + P4) & M;
  } else h = P5;
  h = (h + BigInt(b.length)) & M;
  for (; p + 8 <= b.length; p += 8) h = ((rotl(h ^ round(0n, u64(p)), 27n) * P1) + P4) & M;
  if (p + 4 <= b.length) { h = ((rotl(h ^ ((u32(p) * P1) & M), 23n) * P2) + P3) & M; p += 4; }
  for (; p < b.length; p++) h = (rotl(h ^ ((BigInt(b[p]) * P5) & M), 11n) * P1) & M;
  h = ((h ^ (h >> 33n)) * P2) & M;
  h = ((h ^ (h >> 29n)) * P3) & M;
  return h ^ (h >> 32n);
}
export function sha256Trunc(b: Uint8Array): bigint {
  return hashFromBytes(sha256(b).subarray(0, 8)); // the first 8 digest bytes, big endian
}
/** Bench-only Lamping–Veach jump hash over our 64-bit key hash (the algorithm done correctly). */
export function jumpRef(key: bigint, buckets: number): number {
  let b = -1, j = 0;
  while (j < buckets) {
    b = j;
    key = BigInt.asUintN(64, key * 2862933555777941757n + 1n);
    j = Math.floor(((b + 1) * 2147483648) / (Number(key >> 33n) + 1));
  }
  return b;
}
