// Shard store benchmark: instructions of one operation inside a real Azle canister, counted by the
// replica's metering through performanceCounter(0) around the call (exact, stable on a noisy
// machine). PagedKv (stableKv) against a raw Azle StableBTreeMap holding the same bytes: one
// insert, one get, one delete, and a 100-entry page read at the middle and at the end of 1k, 10k
// and 100k entries (PagedKv.range from the position's key vs StableBTreeMap items(index, 100)),
// plus what loading the directory costs the first call after an upgrade, and the split point
// (byte-weighted median hash of the whole range) from PagedKv's per-leaf sums against the row walk
// it replaced (__tests__/shard/median-oracle.ts) over the same store.
// Run: npx tsx bench/store.bench.ts   (prints a markdown section; STORE_BENCH_SIZES=1000,10000 for fewer sizes)
import { IDL } from '@dfinity/candid';
import { join } from 'node:path';
import { buildAzleCanister } from '../lib/build/azle.js';
import { LocalReplica } from '../lib/replica/index.js';

const SIZES = (process.env.STORE_BENCH_SIZES ?? '1000,10000,100000').split(',').map(Number);
/** Entries per fill call (the fixture's own bound is 5,000). */
const FILL_BATCH_ENTRIES = 2_500;
const VALUE_BYTES = 100;
const PAGE_ENTRIES = 100;
/** Point operations averaged per figure (new keys for inserts, existing keys for gets). */
const SAMPLES = 20;
/** Generated keys at and above this index are never part of the filled data set. */
const FRESH_KEYS_FROM = 10_000_000;

interface StoreBench {
  fill(start: number, count: number, valueBytes: number, alsoRaw: boolean): Promise<number>;
  generatedKey(n: number): Promise<Uint8Array>;
  measureInsert(key: Uint8Array, value: Uint8Array): Promise<[bigint, bigint]>;
  measureGet(key: Uint8Array): Promise<[bigint, bigint]>;
  measureDelete(key: Uint8Array): Promise<[bigint, bigint]>;
  measurePage(index: number, length: number): Promise<[bigint, bigint, boolean]>;
  measureDirectoryLoad(): Promise<bigint>;
  stats(): Promise<[number, bigint, number]>;
  measureSplitPoint(start: bigint, end: bigint): Promise<[bigint, bigint, [bigint] | [], [bigint] | []]>;
}

const idl: IDL.InterfaceFactory = ({ IDL: I }) => {
  const Blob = I.Vec(I.Nat8);
  const Two = I.Tuple(I.Nat64, I.Nat64);
  return I.Service({
    fill: I.Func([I.Nat32, I.Nat32, I.Nat32, I.Bool], [I.Nat32], []),
    generatedKey: I.Func([I.Nat32], [Blob], ['query']),
    measureInsert: I.Func([Blob, Blob], [Two], []),
    measureGet: I.Func([Blob], [Two], ['query']),
    measureDelete: I.Func([Blob], [Two], []),
    measurePage: I.Func([I.Nat32, I.Nat32], [I.Tuple(I.Nat64, I.Nat64, I.Bool)], ['query']),
    measureDirectoryLoad: I.Func([], [I.Nat64], ['query']),
    stats: I.Func([], [I.Tuple(I.Nat32, I.Nat64, I.Nat32)], ['query']),
    measureSplitPoint: I.Func([I.Nat, I.Nat], [I.Tuple(I.Nat64, I.Nat64, I.Opt(I.Nat), I.Opt(I.Nat))], [])
  });
};

/** Mean of [paged, raw] pairs. */
function mean(samples: [bigint, bigint][]): [number, number] {
  const sum = samples.reduce(([a, b], [x, y]) => [a + Number(x), b + Number(y)], [0, 0]);
  return [sum[0] / samples.length, sum[1] / samples.length];
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const ratio = (a: number, b: number): string => (a >= b ? `${(a / b).toFixed(2)}×` : `1/${(b / a).toFixed(1)}`);

async function main(): Promise<void> {
  const wasm = (await buildAzleCanister({ root: join(process.cwd(), '__tests__/fixtures/stable_store'), name: 'stable_store' })).wasm;
  const replica = await LocalReplica.create({ seed: 1 });
  const id = await replica.createCanister();
  await replica.installCode({ canisterId: id, wasm });
  const store = replica.createActor<StoreBench>(idl, id);
  const rows: string[] = [];
  const splitRows: string[] = [];
  const value = new Uint8Array(VALUE_BYTES).fill(1);
  let filled = 0;
  for (const size of SIZES) {
    while (filled < size) filled = await store.fill(filled, Math.min(FILL_BATCH_ENTRIES, size - filled), VALUE_BYTES, true);
    const fresh = await Promise.all(Array.from({ length: SAMPLES }, (_, i) => store.generatedKey(FRESH_KEYS_FROM + size + i)));
    const inserts: [bigint, bigint][] = [];
    for (const key of fresh) inserts.push(await store.measureInsert(key, value));
    const deletes: [bigint, bigint][] = [];
    for (const key of fresh) deletes.push(await store.measureDelete(key));
    const gets: [bigint, bigint][] = [];
    for (let i = 0; i < SAMPLES; i++) gets.push(await store.measureGet(await store.generatedKey(Math.floor((i * size) / SAMPLES))));
    const [, , leaves] = await store.stats();
    const line = (what: string, [paged, raw]: [number, number]): string => `| ${size.toLocaleString('en-US')} | ${what} | ${fmt(paged)} | ${fmt(raw)} | ${ratio(paged, raw)} |`;
    rows.push(line(`insert a new key (mean of ${SAMPLES})`, mean(inserts)));
    rows.push(line(`get (mean of ${SAMPLES})`, mean(gets)));
    rows.push(line(`delete (mean of ${SAMPLES})`, mean(deletes)));
    for (const [where, index] of [['middle', Math.floor(size / 2)], ['end', size - PAGE_ENTRIES]] as const) {
      const [paged, raw, same] = await store.measurePage(index, PAGE_ENTRIES);
      if (!same) throw new Error(`page at ${index} of ${size}: PagedKv and StableBTreeMap disagree`);
      rows.push(line(`${PAGE_ENTRIES}-entry page at the ${where} (position ${index.toLocaleString('en-US')})`, [Number(paged), Number(raw)]));
    }
    rows.push(`| ${size.toLocaleString('en-US')} | load the directory after an upgrade (${leaves} leaves) | ${fmt(Number(await store.measureDirectoryLoad()))} | — | — |`);
    const [sums, walk, fromSums, byWalk] = await store.measureSplitPoint(0n, 2n ** 64n);
    if (String(fromSums) !== String(byWalk)) throw new Error(`split point of ${size}: ${fromSums} from the sums, ${byWalk} by the row walk`);
    splitRows.push(`| ${size.toLocaleString('en-US')} | ${leaves} | ${fmt(Number(sums))} | ${fmt(Number(sums) / leaves)} | ${fmt(Number(walk))} | ${fmt(Number(walk) / size)} | ${ratio(Number(sums), Number(walk))} |`);
    console.error(`store bench: ${size} done`);
  }
  await replica.tearDown();

  console.log('## Shard store (bench/store.bench.ts)\n');
  console.log('`npx tsx bench/store.bench.ts` — instructions of one operation inside the Azle canister');
  console.log(`(\`__tests__/fixtures/stable_store\`), performanceCounter(0) around the call; keys 20 bytes`);
  console.log(`(storage-key-like, random order), values ${VALUE_BYTES} bytes. "raw" is an Azle StableBTreeMap with a`);
  console.log('raw-bytes Serializable holding the same entries; its page is `items(index, 100)`. "1/x": PagedKv needs x');
  console.log('times fewer instructions.\n');
  console.log('| entries | operation | PagedKv | raw StableBTreeMap | PagedKv / raw |\n|---|---|---|---|---|');
  for (const row of rows) console.log(row);
  console.log('\nSplit point of the whole hash range (`medianHash`, the byte-weighted median a split asks the shard for), the same');
  console.log('answer both ways: from PagedKv\'s per-leaf sums (directory in the heap, a few leaf reads near the median) vs the');
  console.log('row walk it replaced (every row and value read; kept as the test oracle).\n');
  console.log('| entries | leaves | from the sums | per leaf | row walk | per row | sums / walk |\n|---|---:|---:|---:|---:|---:|---|');
  for (const row of splitRows) console.log(row);
}

await main();
