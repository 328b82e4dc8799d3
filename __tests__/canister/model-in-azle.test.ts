// The model layer runs inside a real Azle canister (Azle's QuickJS) on the local replica and
// agrees with Node: the shard-key hash, decorators with `context.metadata`, codecs, hydration into
// class instances (methods work), @Version conflicts, indexes, and a MemoryCluster that splits.
import { IDL } from '@dfinity/candid';
import { join } from 'node:path';
import { hashShardKey } from 'shardorm';
import { LocalReplica } from 'shardorm/replica';
import { buildAzleCanister } from '../../lib/build/azle.js';

interface ModelCanister {
  hashes(keys: Uint8Array[]): Promise<bigint[]>;
  insertMany(owner: string, count: number): Promise<number>;
  retag(owner: string, n: bigint, tag: string, expectedVersion: bigint): Promise<string>;
  find(owner: string, tag: string): Promise<string[]>;
  count(): Promise<number>;
}

const idl: IDL.InterfaceFactory = ({ IDL: I }) =>
  I.Service({
    hashes: I.Func([I.Vec(I.Vec(I.Nat8))], [I.Vec(I.Nat64)], ['query']),
    insertMany: I.Func([I.Text, I.Nat32], [I.Nat32], []),
    retag: I.Func([I.Text, I.Nat64, I.Text, I.Nat64], [I.Text], []),
    find: I.Func([I.Text, I.Text], [I.Vec(I.Text)], []),
    count: I.Func([], [I.Nat32], [])
  });

let replica: LocalReplica;
let canister: ModelCanister;

beforeAll(async () => {
  const built = await buildAzleCanister({ root: join(process.cwd(), '__tests__/fixtures/model_canister'), name: 'model_canister' });
  replica = await LocalReplica.create({ seed: 5 });
  const id = await replica.createCanister();
  await replica.installCode({ canisterId: id, wasm: built.wasm, mode: 'install' });
  canister = replica.createActor<ModelCanister>(idl, id);
}, 180_000);

afterAll(() => replica?.tearDown());

test('hashShardKey gives the same 64-bit hashes inside the canister as in Node', async () => {
  const encoder = new TextEncoder();
  const keys = [new Uint8Array(), new Uint8Array([0]), new Uint8Array(255).map((_, i) => i), ...['a', 'user-1', 'pageId:Ω', 'x'.repeat(1000)].map((s) => encoder.encode(s))];
  expect(Array.from(await canister.hashes(keys))).toEqual(keys.map((k) => hashShardKey(k)));
});

test('entities declared with decorators are stored, split across shards, found and versioned in the canister', async () => {
  // Rows of one shard key never split apart, so spread the notes over several owners.
  let shards = 0;
  for (const owner of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']) shards = await canister.insertMany(owner, 8);
  expect(shards).toBeGreaterThan(1); // 48 notes exceed maxShardBytes: the in-canister cluster split
  expect(await canister.count()).toBe(48);
  expect(await canister.find('bob', 'odd')).toEqual(['bob#9@v1', 'bob#11@v1', 'bob#13@v1', 'bob#15@v1']);
  expect(await canister.retag('alice', 2n, 'odd', 1n)).toBe('alice#2@v2'); // a real instance: label() works
  expect(await canister.retag('alice', 2n, 'even', 1n)).toMatch(/^ConflictError: /);
  expect(await canister.retag('alice', 999n, 'odd', 1n)).toBe('absent');
  expect(await canister.find('alice', 'odd')).toEqual(['alice#1@v1', 'alice#2@v2', 'alice#3@v1', 'alice#5@v1', 'alice#7@v1']);
});
