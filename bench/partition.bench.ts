// Partitioning benchmark, one run, side by side: shard-key hash candidates (throughput, avalanche,
// uniformity), partitioner lookups/s and memory per shard (RangePartitioner, AnchorHash, npm
// `hashring`, npm `jump-consistent-hash`, and a reference jump hash), and the fraction of keys that
// move from N to N+1 shards. Prints a markdown section. Figures are ratios within this run.
//   npm run bench -- partition        (or: node --expose-gc node_modules/tsx/dist/cli.mjs bench/partition.bench.ts)
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { buildSync } from 'esbuild';
import { getQuickJS, newQuickJSWASMModule } from 'quickjs-emscripten';
import * as ngModule from '@jitl/quickjs-ng-wasmfile-release-sync';
import { AnchorHashPartitioner, HASH_SPACE, hashShardKey, RangePartitioner } from '../lib/partition/index.js';
import { randomBytes, Xoshiro128 } from '../lib/random/prng.js';
import { fnv1a64BigInt, fnv1a64Halves, jumpRef, sha256Trunc, xxh64BigInt } from './partition-candidates.js';

const require = createRequire(import.meta.url);
const HashRing = require('hashring') as new (servers: string[]) => { get(key: string): string };
const { jumpConsistentHash } = require('jump-consistent-hash') as { jumpConsistentHash: (key: string, buckets: number) => number };
const { XXH64 } = require('xxh3-ts') as { XXH64: (b: Buffer, seed: bigint) => bigint };

const KEYS = 100_000; // distinct keys per measurement (defeats hashring's 5,000-entry LRU cache)
const MIN_MS = 200; // each timing repeats its loop for at least this long, best of ROUNDS
const ROUNDS = 4;
const enc = new TextEncoder();
const keyStrings = Array.from({ length: KEYS }, (_, i) => `user-${i}`);
const keyBytes = keyStrings.map((k) => enc.encode(k));
const keyHashes = keyBytes.map(hashShardKey);
const out: string[] = [];
const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(0)} k` : n.toFixed(0));
const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/** Operations per second of each `op(i)` over i in [0, KEYS). Rounds are interleaved (op 1, op 2, ...,
 * op 1, ...) and the best round kept, so a burst of load from other processes hits every op alike. */
function race(ops: ((i: number) => unknown)[]): number[] {
  const best = ops.map(() => 0);
  let sink: unknown;
  for (let r = 0; r < ROUNDS; r++) {
    ops.forEach((op, k) => {
      let n = 0;
      const t0 = performance.now();
      let t = t0;
      while (t - t0 < MIN_MS) {
        for (let i = 0; i < KEYS; i += 1) sink = op(i);
        n += KEYS;
        t = performance.now();
      }
      best[k] = Math.max(best[k], (n * 1000) / (t - t0));
    });
  }
  if (sink === Symbol.for('never')) console.log(sink);
  return best;
}

// ---------- hash candidates (implementations in partition-candidates.ts) ----------
function long(): Uint8Array[] {
  return keyBytes.map((_, i) => Uint8Array.from({ length: 64 }, (_, j) => (i * 31 + j * 7 + (i >> 8) * j) & 255));
}
const xxhBigInt = (b: Uint8Array) => XXH64(Buffer.from(b.buffer, b.byteOffset, b.length), 0n);

const candidates: [string, (b: Uint8Array) => bigint, string][] = [
  ['XXH64, 32-bit halves (chosen: lib/partition/hash.ts)', hashShardKey, 'xxh64'],
  ['XXH64, BigInt (npm xxh3-ts; needs Buffer)', xxhBigInt, 'xxh64'],
  ['XXH64, plain BigInt (bench-only, runs in QuickJS)', xxh64BigInt, 'xxh64'],
  ['FNV-1a 64, 32-bit halves', fnv1a64Halves, 'fnv'],
  ['FNV-1a 64, BigInt', fnv1a64BigInt, 'fnv'],
  ['SHA-256 truncated to 64 bits (@noble/hashes)', sha256Trunc, 'sha'],
];

for (const b of [...keyBytes.slice(0, 2_000), ...long()] as Uint8Array[]) {
  if (fnv1a64Halves(b) !== fnv1a64BigInt(b) || hashShardKey(b) !== xxhBigInt(b) || xxh64BigInt(b) !== xxhBigInt(b)) throw new Error('bench: candidate implementations disagree');
}

const AVALANCHE_SAMPLES = 1_000;
/** Worst |P(output bit flips) − 0.5| over all (input bit, output bit) pairs, and over the top 16 output bits. */
function avalanche(f: (b: Uint8Array) => bigint, len: number): { all: number; top16: number } {
  const random = new Xoshiro128(12345);
  const flips = new Float64Array(len * 8 * 64);
  const halves = (h: bigint): [number, number] => [Number(h >> 32n), Number(h & 0xffffffffn)];
  for (let s = 0; s < AVALANCHE_SAMPLES; s++) {
    const b = randomBytes(random, len);
    const [h0, l0] = halves(f(b));
    for (let bit = 0; bit < len * 8; bit++) {
      b[bit >> 3] ^= 1 << (bit & 7);
      const [h1, l1] = halves(f(b));
      b[bit >> 3] ^= 1 << (bit & 7);
      const dh = h0 ^ h1, dl = l0 ^ l1;
      for (let o = 0; o < 32; o++) {
        flips[bit * 64 + o] += (dl >>> o) & 1;
        flips[bit * 64 + 32 + o] += (dh >>> o) & 1;
      }
    }
  }
  let all = 0, top16 = 0;
  flips.forEach((c, i) => {
    const bias = Math.abs(c / AVALANCHE_SAMPLES - 0.5);
    all = Math.max(all, bias);
    if (i % 64 >= 48) top16 = Math.max(top16, bias);
  });
  return { all, top16 };
}
/** Expected worst bias of an ideal hash: max of 4,096 |N(0, 0.5/√S)| ≈ 4.25 σ. */
const AVALANCHE_NOISE = (4.25 * 0.5) / Math.sqrt(AVALANCHE_SAMPLES);

/** Sequential keys 'user-i' into 256 ranges by the top 8 bits: max/mean and chi²/df (≈1 when uniform). */
function uniformity(f: (b: Uint8Array) => bigint): { maxMean: number; chi: number } {
  const counts = new Float64Array(256);
  for (const b of keyBytes) counts[Number(f(b) >> 56n)]++;
  const mean = keyBytes.length / 256;
  let chi = 0;
  counts.forEach((c) => (chi += (c - mean) ** 2 / mean));
  return { maxMean: Math.max(...counts) / mean, chi: chi / 255 };
}

out.push('## Partitioning: shard-key hash and partitioners', '', 'Command: `npm run bench -- partition` (runs `node --expose-gc node_modules/tsx/dist/cli.mjs bench/partition.bench.ts`).', '');
out.push(`### Shard-key hash candidates (${KEYS / 1000}k keys \`user-<i>\`, 6-10 bytes; 64-byte keys)`, '');
out.push('| candidate | hashes/s (short keys) | hashes/s (64-byte keys) | avalanche worst bias (all / top-16 bits) | top-8-bit ranges: max/mean, chi²/df |');
out.push('|---|---:|---:|---:|---:|');
const quality = new Map<string, string>();
const longKeys = long();
const shortRates = race(candidates.map(([, f]) => (i: number) => f(keyBytes[i])));
const longRates = race(candidates.map(([, f]) => (i: number) => f(longKeys[i])));
for (const [k, [name, f, algo]] of candidates.entries()) {
  const a = shortRates[k], b = longRates[k];
  if (!quality.has(algo)) {
    const av = avalanche(f, 8), u = uniformity(f);
    quality.set(algo, `${av.all.toFixed(3)} / ${av.top16.toFixed(3)} | ${u.maxMean.toFixed(3)}, ${u.chi.toFixed(2)}`);
  }
  out.push(`| ${name} | ${fmt(a)} | ${fmt(b)} | ${quality.get(algo)} |`);
}
out.push(
  '',
  `Avalanche: ${AVALANCHE_SAMPLES} random 8-byte inputs, each of the 64 input bits flipped; an ideal hash flips every output bit with p = 0.5,`,
  `so its worst bias is sampling noise, ≈ ${AVALANCHE_NOISE.toFixed(3)} here. 0.5 means some output bit never (or always) changes. Ranges are`,
  'chosen by the top bits, so the top-16 column matters most. chi²/df ≈ 1 for a uniform spread of sequential keys.',
  '',
);

// ---------- partitioners ----------
interface Contender {
  name: string;
  build(n: number): unknown;
  /** end-to-end lookup of key i (from its bytes or string) */
  lookup(p: unknown, i: number, n: number): unknown;
  /** lookup of key i given its precomputed 64-bit hash, when the scheme allows it */
  lookupHash?(p: unknown, i: number, n: number): unknown;
  grow(p: unknown, n: number, owners: unknown[]): unknown;
}
const ids = (n: number) => Array.from({ length: n }, (_, i) => `shard-${i}`);
const contenders: Contender[] = [
  {
    name: 'RangePartitioner (even, split fullest at median)',
    build: (n) => RangePartitioner.even(ids(n)),
    lookup: (p, i) => (p as RangePartitioner).shardFor(hashShardKey(keyBytes[i])),
    lookupHash: (p, i) => (p as RangePartitioner).shardFor(keyHashes[i]),
    grow: (p, n, owners) => {
      const r = p as RangePartitioner;
      const load = new Map<unknown, number>();
      owners.forEach((o) => load.set(o, (load.get(o) ?? 0) + 1));
      const fullest = [...load.entries()].sort((a, b) => b[1] - a[1])[0][0] as string;
      const mine = keyHashes.filter((_, i) => owners[i] === fullest).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      return r.split(fullest, mine[mine.length >> 1], `shard-${n}`);
    },
  },
  {
    name: 'AnchorHashPartitioner (capacity 4N)',
    build: (n) => AnchorHashPartitioner.create({ capacity: 4 * n, shards: ids(n) }),
    lookup: (p, i) => (p as AnchorHashPartitioner).shardFor(hashShardKey(keyBytes[i])),
    lookupHash: (p, i) => (p as AnchorHashPartitioner).shardFor(keyHashes[i]),
    grow: (p, n) => (p as AnchorHashPartitioner).addShard(`shard-${n}`),
  },
  {
    name: 'npm hashring 3.2 (ketama, md5, 160 points/server)',
    build: (n) => new HashRing(ids(n)),
    lookup: (p, i) => (p as InstanceType<typeof HashRing>).get(keyStrings[i]),
    grow: (_p, n) => new HashRing(ids(n + 1)),
  },
  {
    name: 'npm jump-consistent-hash 1.1',
    build: (n) => n,
    lookup: (_p, i, n) => jumpConsistentHash(keyStrings[i], n),
    grow: (_p, n) => n + 1,
  },
  {
    name: 'jump hash, reference (bench-only, on XXH64, BigInt)',
    build: (n) => n,
    lookup: (_p, i, n) => jumpRef(hashShardKey(keyBytes[i]), n),
    lookupHash: (_p, i, n) => jumpRef(keyHashes[i], n),
    grow: (_p, n) => n + 1,
  },
];

function gc(): void {
  let g = (globalThis as { gc?: () => void }).gc;
  if (!g) {
    setFlagsFromString('--expose-gc');
    g = runInNewContext('gc') as () => void;
  }
  g();
  g();
}

/** Heap bytes per shard: build `copies` partitioners of n shards and divide the heap growth. */
function bytesPerShard(c: Contender, n: number, copies: number): number {
  if (c.name.startsWith('npm jump') || c.name.startsWith('jump')) return 0; // state is the shard count
  gc();
  const before = process.memoryUsage().heapUsed;
  const keep = Array.from({ length: copies }, () => c.build(n));
  gc();
  const after = process.memoryUsage().heapUsed;
  if (keep.length !== copies) throw new Error('unreachable');
  return (after - before) / (copies * n);
}

const ownersOf = (c: Contender, p: unknown, n: number) => keyStrings.map((_, i) => c.lookup(p, i, n));
function movedAndBalance(c: Contender, n: number): { moved: number; maxMean: number; selfDisagree: number } {
  const p = c.build(n);
  const before = ownersOf(c, p, n);
  const again = ownersOf(c, p, n);
  const q = c.grow(p, n, before);
  const after = ownersOf(c, q, n + 1);
  const load = new Map<unknown, number>();
  after.forEach((o) => load.set(o, (load.get(o) ?? 0) + 1));
  return {
    moved: after.filter((o, i) => o !== before[i]).length / KEYS,
    maxMean: Math.max(...load.values()) / (KEYS / (n + 1)),
    selfDisagree: again.filter((o, i) => o !== before[i]).length / KEYS,
  };
}

for (const n of [8, 64]) {
  out.push(`### Partitioners, N = ${n} shards (${KEYS / 1000}k distinct keys)`, '');
  out.push(`| partitioner | lookups/s from key bytes | lookups/s from 64-bit hash | heap bytes/shard | keys moved N→N+1 (ideal ${pct(1 / (n + 1))}) | max/mean load after | same lookup twice disagrees |`);
  out.push('|---|---:|---:|---:|---:|---:|---:|');
  const built = contenders.map((c) => c.build(n));
  const e2eRates = race(contenders.map((c, k) => (i: number) => c.lookup(built[k], i, n)));
  const withHash = contenders.filter((c) => c.lookupHash);
  const hashRates = race(withHash.map((c) => (i: number) => c.lookupHash!(built[contenders.indexOf(c)], i, n)));
  for (const [k, c] of contenders.entries()) {
    const e2e = e2eRates[k];
    const onHash = c.lookupHash ? fmt(hashRates[withHash.indexOf(c)]) : 'n/a (hashes the string itself)';
    const mem = bytesPerShard(c, n, n === 8 ? 400 : 50);
    const m = movedAndBalance(c, n);
    out.push(`| ${c.name} | ${fmt(e2e)} | ${onHash} | ${mem.toFixed(0)} | ${pct(m.moved)} | ${m.maxMean.toFixed(3)} | ${pct(m.selfDisagree)} |`);
  }
  out.push('');
}
// ---------- the same code in QuickJS (the engine family Azle canisters run) ----------
/** The QuickJS-ng build variant (its typings describe the CommonJS default export). */
function ngVariant(): Parameters<typeof newQuickJSWASMModule>[0] {
  const m = ngModule as unknown as { default?: unknown };
  return (m.default ?? m) as Parameters<typeof newQuickJSWASMModule>[0];
}
/** Rates measured inside QuickJS (quickjs-emscripten, Wasm in Node): BigInt cost there decides "halves vs BigInt". */
async function quickjsRates(engine: 'quickjs' | 'quickjs-ng'): Promise<Record<string, number>> {
  const lib = buildSync({ entryPoints: ['lib/partition/index.ts'], bundle: true, write: false, format: 'iife', globalName: 'P', platform: 'neutral', target: 'es2020' });
  const probe = `${lib.outputFiles[0].text};
    const M64 = (1n << 64n) - 1n;
    const __name = (f) => f; // tsx's keepNames helper, referenced by the functions' source below
    ${fnv1a64BigInt.toString()}
    ${fnv1a64Halves.toString()}
    ${xxh64BigInt.toString()}
    const keys = [];
    for (let i = 0; i < 20000; i++) keys.push(Uint8Array.from('user-' + i, (c) => c.charCodeAt(0)));
    const hashes = keys.map((k) => P.hashShardKey(k));
    const ids = Array.from({ length: 64 }, (_, i) => 'shard-' + i);
    const range = P.RangePartitioner.even(ids), anchor = P.AnchorHashPartitioner.create({ capacity: 256, shards: ids });
    const ops = {
      xxh: (i) => P.hashShardKey(keys[i]),
      xxhBigInt: (i) => xxh64BigInt(keys[i]),
      fnvHalves: (i) => fnv1a64Halves(keys[i]),
      fnvBigInt: (i) => fnv1a64BigInt(keys[i]),
      range: (i) => range.shardFor(hashes[i]),
      anchor: (i) => anchor.shardFor(hashes[i]),
    };
    const best = {};
    for (let r = 0; r < ${ROUNDS}; r++) for (const [name, f] of Object.entries(ops)) { // interleaved, best round
      let n = 0; const t0 = Date.now(); let t = t0;
      while (t - t0 < ${MIN_MS}) { for (let i = 0; i < keys.length; i++) f(i); n += keys.length; t = Date.now(); }
      best[name] = Math.max(best[name] || 0, (n * 1000) / (t - t0));
    }
    JSON.stringify(best);`;
  const vm = (engine === 'quickjs' ? await getQuickJS() : await newQuickJSWASMModule(ngVariant())).newContext();
  try {
    const handle = vm.unwrapResult(vm.evalCode(probe));
    const rates = JSON.parse(vm.getString(handle)) as Record<string, number>;
    handle.dispose();
    return rates;
  } finally {
    vm.dispose();
  }
}
const qjs = await quickjsRates('quickjs'), ng = await quickjsRates('quickjs-ng');
out.push('### The same code inside QuickJS (Wasm builds from quickjs-emscripten 0.32; Azle 0.33 runs QuickJS-ng via rquickjs 0.9)', '');
out.push('| operation (short keys `user-<i>`, N = 64) | per second, QuickJS 2025-09-13 | per second, QuickJS-ng 0.12.1 |', '|---|---:|---:|');
const row = (label: string, k: string) => out.push(`| ${label} | ${fmt(qjs[k])} | ${fmt(ng[k])} |`);
row('hashShardKey = XXH64, 32-bit halves', 'xxh');
row('XXH64, plain BigInt (bench-only)', 'xxhBigInt');
row('FNV-1a 64, 32-bit halves', 'fnvHalves');
row('FNV-1a 64, BigInt', 'fnvBigInt');
row('RangePartitioner.shardFor (64 shards)', 'range');
row('AnchorHashPartitioner.shardFor (64 of 256 buckets)', 'anchor');
out.push('');

out.push(
  'Notes: "from key bytes" includes XXH64 of the key for ours and jump-ref; hashring hashes the key string with md5 (node:crypto) and',
  'jump-consistent-hash takes the string. RangePartitioner grows by splitting its fullest shard at the median key hash, so it moves',
  'about half of one shard (1/2N) and only that shard\'s keys; the others move ~1/(N+1) spread over every shard.',
  'npm jump-consistent-hash 1.1 derives its key with nanoid\'s *random* generator, so its lookups are not deterministic (last column).',
  `Hash space: [0, ${HASH_SPACE}).`,
);
console.log(out.join('\n'));
