// The shard store in a real Azle canister on the local replica: PagedKv over StableBTreeMaps
// (stableKv) answers like MemoryKv, keeps every entry across upgrades (the heap directory and leaf
// cache are rebuilt from stable memory), rolls back heap and stable memory together when a message
// traps after writing, and handles 10,000 entries written in batches.
import { IDL } from '@dfinity/candid';
import type { Principal } from '@dfinity/principal';
import { join } from 'node:path';
import { LocalReplica } from 'shardorm/replica';
import { buildAzleCanister } from '../../lib/build/azle.js';
import { shuffle, Xoshiro128, randomBytes } from '../../lib/random/prng.js';
import { MemoryKv } from '../../lib/repository/store.js';

type Pair = [Uint8Array, Uint8Array];
interface StoreCanister {
  insert(entries: Pair[]): Promise<number>;
  writeThenTrap(entries: Pair[], keys: Uint8Array[]): Promise<number>;
  delete(keys: Uint8Array[]): Promise<number>;
  get(key: Uint8Array): Promise<[Uint8Array] | []>;
  range(lo: Uint8Array, hi: Uint8Array, limit: number): Promise<Pair[]>;
  keysInRange(lo: Uint8Array, hi: Uint8Array, limit: number): Promise<[Uint8Array, number][]>;
  stats(): Promise<[number, bigint, number]>;
  check(): Promise<string>;
  fill(start: number, count: number, valueBytes: number, alsoRaw: boolean): Promise<number>;
  measureSplitPoint(start: bigint, end: bigint): Promise<[bigint, bigint, [bigint] | [], [bigint] | []]>;
}

const BATCH_ENTRIES = 500;
const LOW = new Uint8Array(0);
const HIGH = new Uint8Array(4097).fill(0xff);

const idl: IDL.InterfaceFactory = ({ IDL: I }) => {
  const Blob = I.Vec(I.Nat8);
  const Pair = I.Tuple(Blob, Blob);
  return I.Service({
    insert: I.Func([I.Vec(Pair)], [I.Nat32], []),
    writeThenTrap: I.Func([I.Vec(Pair), I.Vec(Blob)], [I.Nat32], []),
    delete: I.Func([I.Vec(Blob)], [I.Nat32], []),
    get: I.Func([Blob], [I.Opt(Blob)], ['query']),
    range: I.Func([Blob, Blob, I.Nat32], [I.Vec(Pair)], ['query']),
    keysInRange: I.Func([Blob, Blob, I.Nat32], [I.Vec(I.Tuple(Blob, I.Nat32))], ['query']),
    stats: I.Func([], [I.Tuple(I.Nat32, I.Nat64, I.Nat32)], ['query']),
    check: I.Func([], [I.Text], ['query']),
    fill: I.Func([I.Nat32, I.Nat32, I.Nat32, I.Bool], [I.Nat32], []),
    measureSplitPoint: I.Func([I.Nat, I.Nat], [I.Tuple(I.Nat64, I.Nat64, I.Opt(I.Nat), I.Opt(I.Nat))], [])
  });
};

let replica: LocalReplica;
let wasm: Uint8Array;

beforeAll(async () => {
  wasm = (await buildAzleCanister({ root: join(process.cwd(), '__tests__/fixtures/stable_store'), name: 'stable_store' })).wasm;
  replica = await LocalReplica.create({ seed: 8 });
}, 300_000);

afterAll(() => replica?.tearDown());

async function freshCanister(): Promise<[Principal, StoreCanister]> {
  const id = await replica.createCanister();
  await replica.installCode({ canisterId: id, wasm, mode: 'install' });
  return [id, replica.createActor<StoreCanister>(idl, id)];
}

const plain = (pairs: Pair[]): [number[], number[]][] => pairs.map(([k, v]) => [[...k], [...v]]);
const plainKeys = (pairs: [Uint8Array, number][]): [number[], number][] => pairs.map(([k, n]) => [[...k], n]);

/** Every answer the test compares before and after an upgrade. */
async function answers(store: StoreCanister, probes: [Uint8Array, Uint8Array, number][]): Promise<unknown> {
  return {
    stats: await store.stats(),
    check: await store.check(),
    ranges: await Promise.all(probes.map(async ([lo, hi, limit]) => plain(await store.range(lo, hi, limit)))),
    keys: await Promise.all(probes.map(async ([lo, hi, limit]) => plainKeys(await store.keysInRange(lo, hi, limit))))
  };
}

test('entries with empty, prefix and 4 KiB keys and 64 KiB values read back the same after an upgrade', async () => {
  const [id, store] = await freshCanister();
  const model = new MemoryKv();
  const random = new Xoshiro128(3);
  const entries: Pair[] = [[LOW, new Uint8Array([1])], [new Uint8Array([0]), new Uint8Array(0)], [new Uint8Array([0, 0]), new Uint8Array(64 * 1024).fill(7)], [new Uint8Array(4096).fill(0xfe), new Uint8Array([2])]];
  for (let i = 0; i < 300; i++) entries.push([randomBytes(random, 1 + (i % 6)), randomBytes(random, i % 40)]);
  for (let i = 0; i < entries.length; i += 100) await store.insert(entries.slice(i, i + 100));
  for (const [k, v] of entries) model.set(k, v);
  const removed = entries.slice(10, 60).map(([k]) => k);
  let deleted = 0;
  for (const k of removed) if (model.delete(k) !== undefined) deleted++;
  expect(await store.delete(removed)).toBe(deleted);

  const probes: [Uint8Array, Uint8Array, number][] = [[LOW, HIGH, 10_000], [new Uint8Array([0]), new Uint8Array([0, 1]), 5], [new Uint8Array([100]), new Uint8Array([200]), 30], [new Uint8Array([200]), new Uint8Array([100]), 30]];
  const before = await answers(store, probes);
  expect(before).toEqual({
    stats: [model.size(), BigInt(model.bytes()), expect.any(Number)],
    check: 'ok',
    ranges: probes.map(([lo, hi, limit]) => plain(model.range(lo, hi, limit))),
    keys: probes.map(([lo, hi, limit]) => plainKeys(model.keysInRange(lo, hi, limit)))
  });

  await replica.upgradeCanister({ canisterId: id, wasm });
  expect(await answers(store, probes)).toEqual(before);
  expect(await store.get(new Uint8Array([0, 0]))).toEqual([new Uint8Array(64 * 1024).fill(7)]);

  // The upgraded canister keeps writing where it left off.
  const more: Pair[] = [[new Uint8Array([0, 0]), new Uint8Array([9])], [new Uint8Array([5, 5, 5]), new Uint8Array(3)]];
  await store.insert(more);
  for (const [k, v] of more) model.set(k, v);
  expect(plain(await store.range(LOW, HIGH, 10_000))).toEqual(plain(model.range(LOW, HIGH, 10_000)));
  expect(await store.check()).toBe('ok');
}, 300_000);

test('a message that traps after writing, splitting and merging leaves changes nothing: the cached leaves roll back with stable memory', async () => {
  const [, store] = await freshCanister();
  const model = new MemoryKv();
  const random = new Xoshiro128(21);
  const entries: Pair[] = Array.from({ length: 2_000 }, (_, n) => [randomBytes(random, 12), randomBytes(random, n % 50)]);
  for (let i = 0; i < entries.length; i += BATCH_ENTRIES) await store.insert(entries.slice(i, i + BATCH_ENTRIES));
  for (const [k, v] of entries) model.set(k, v);
  const probes: [Uint8Array, Uint8Array, number][] = [[LOW, HIGH, 10_000]];
  const before = await answers(store, probes);
  // New keys (leaf splits), overwrites of other lengths, and deletes of most keys (leaf merges and drops).
  const fresh: Pair[] = Array.from({ length: 1_500 }, () => [randomBytes(random, 12), randomBytes(random, 30)]);
  const overwrites: Pair[] = entries.slice(0, 300).map(([k]) => [k, new Uint8Array(77)]);
  await expect(store.writeThenTrap([...fresh, ...overwrites], entries.slice(300, 1_900).map(([k]) => k))).rejects.toThrow(/trapped after 1800 writes and 1600 deletes/);
  expect(await answers(store, probes)).toEqual(before);
  // The next message writes on top of the state before the trap.
  await store.insert(overwrites);
  for (const [k, v] of overwrites) model.set(k, v);
  expect(plain(await store.range(LOW, HIGH, 10_000))).toEqual(plain(model.range(LOW, HIGH, 10_000)));
  expect(await store.check()).toBe('ok');
}, 300_000);

test('10,000 entries inserted in batches: ranges correct before and after an upgrade', async () => {
  const [id, store] = await freshCanister();
  const model = new MemoryKv();
  const random = new Xoshiro128(10);
  const entries: Pair[] = shuffle(random, Array.from({ length: 10_000 }, (_, n) => {
    const key = new Uint8Array(16);
    key.set([0x6e, 0x00, 0x01]);
    key.set(randomBytes(random, 8), 3);
    key.set([n >>> 8, n & 0xff], 11);
    return [key, randomBytes(random, n % 64)] as Pair;
  }));
  for (let i = 0; i < entries.length; i += BATCH_ENTRIES) expect(await store.insert(entries.slice(i, i + BATCH_ENTRIES))).toBe(Math.min(i + BATCH_ENTRIES, entries.length));
  for (const [k, v] of entries) model.set(k, v);
  const sorted = model.range(LOW, HIGH, Number.MAX_SAFE_INTEGER);
  const probes: [Uint8Array, Uint8Array, number][] = [0, 1, 2_500, 5_000, 9_950].map((p) => [sorted[p][0], HIGH, 100]);
  probes.push([sorted[1234][0], sorted[1300][0], 1_000], [sorted[9_999][0], HIGH, 100]);
  const before = await answers(store, probes);
  expect(before).toEqual({
    stats: [10_000, BigInt(model.bytes()), expect.any(Number)],
    check: 'ok',
    ranges: probes.map(([lo, hi, limit]) => plain(model.range(lo, hi, limit))),
    keys: probes.map(([lo, hi, limit]) => plainKeys(model.keysInRange(lo, hi, limit)))
  });
  const [, , leaves] = await store.stats();
  expect(leaves).toBeGreaterThanOrEqual(10_000 / 128);

  await replica.upgradeCanister({ canisterId: id, wasm });
  expect(await answers(store, probes)).toEqual(before);
}, 600_000);

test('the split point of a large store costs instructions per leaf, not per row (counted in the canister)', async () => {
  const [, store] = await freshCanister();
  const FILL = 5_000;
  const measured: Array<{ rows: number; leaves: number; sums: bigint; walk: bigint }> = [];
  let rows = 0;
  for (const target of [2_500, 20_000]) {
    for (; rows < target; rows += Math.min(FILL, target - rows)) await store.fill(rows, Math.min(FILL, target - rows), 100, false);
    const [sums, walk, fromSums, byWalk] = await store.measureSplitPoint(0n, 2n ** 64n);
    expect(fromSums).toEqual(byWalk);
    expect(fromSums.length).toBe(1);
    const [size, , leaves] = await store.stats();
    expect(size).toBe(target);
    measured.push({ rows: target, leaves, sums, walk });
  }
  const [small, large] = measured;
  expect(large.leaves).toBeGreaterThan(6 * small.leaves);
  // The row walk grows with the rows; the sums cost a bounded number of leaf reads plus heap work
  // per leaf: one more leaf (~86 rows here) costs less than one more row of the walk.
  expect(large.walk).toBeGreaterThan(6n * small.walk);
  const perLeaf = (large.sums - small.sums) / BigInt(large.leaves - small.leaves);
  const perWalkedRow = (large.walk - small.walk) / BigInt(large.rows - small.rows);
  expect(perLeaf).toBeLessThan(perWalkedRow);
  expect(large.sums * 50n).toBeLessThan(large.walk);
}, 600_000);
