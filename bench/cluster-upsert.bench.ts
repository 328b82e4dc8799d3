// Instructions of one ORM upsert of a Snippet (repository(Snippet).upsert on the canister's own
// shard) vs a raw Azle StableBTreeMap insert of the same record in the same canister
// (__tests__/fixtures/orm_upsert), with the ORM path's parts counted alone. Counted by
// performanceCounter(0) inside the canister, so the machine's noise does not matter.
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { join } from 'node:path';
import { LocalReplica } from 'shardorm/replica';
import { buildAzleCanister } from '../lib/build/azle.js';

/** Snippets written before measuring (the stores are not empty), and keys measured per row. */
const PREFILL = 1_000;
const FILL_CALL = 20;
const MEASURED = 20;
const BODIES = [200, 4096];

const built = await buildAzleCanister({ root: join(process.cwd(), '__tests__/fixtures/orm_upsert'), name: 'orm_upsert' });
const replica = await LocalReplica.create({ seed: 5 });
const sender = Principal.selfAuthenticating(new Uint8Array(32).fill(9));
const Costs = IDL.Record({ orm: IDL.Nat64, raw_json: IDL.Nat64, raw_candid: IDL.Nat64, encode: IDL.Nat64, decode: IDL.Nat64, store_set: IDL.Nat64 });
type Row = { orm: bigint; raw_json: bigint; raw_candid: bigint; encode: bigint; decode: bigint; store_set: bigint };

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
console.log('## ORM upsert vs a raw Azle StableBTreeMap insert, instructions (one canister)\n');
console.log('`npm run bench -- cluster-upsert` — __tests__/fixtures/orm_upsert: `shardCanister({ entities: [Snippet] })` (a stand-alone shard of');
console.log(`the sample dapp's Snippet) and two StableBTreeMaps holding the same records; ${PREFILL} snippets written on every path first,`);
console.log(`then the mean of ${MEASURED} upserts of new keys, performanceCounter(0) around each call inside one update.`);
console.log('"raw (stableJson)" is Azle\'s default serializer, "raw (Candid)" a Candid serializer of the same record, as ShardORM stores it');
console.log('(both under the shard\'s UTF-8 codec, lib/canister/utf8.ts). In-process the ORM path encodes once and decodes nothing (the shard');
console.log('recognises the bytes it was handed); "entity decode" is what a shard spends on the same bytes arriving in a request.\n');
console.log('| body | ORM upsert | raw (stableJson) | raw (Candid) | ORM / raw stableJson | ORM / raw Candid | entity encode (once) | entity decode of request bytes (once) | paged-store insert (once) | ORM − encode − insert |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const [i, bodyChars] of BODIES.entries()) {
  const canister = await replica.createCanister({ controllers: [sender], sender });
  await replica.installCode({ canisterId: canister, wasm: built.wasm, sender });
  const body = 'b'.repeat(bodyChars);
  for (let n = 0; n < PREFILL; n += FILL_CALL) await replica.updateCall({ canisterId: canister, method: 'fill', arg: new Uint8Array(IDL.encode([IDL.Nat32, IDL.Nat32, IDL.Text], [n, FILL_CALL, body])), sender });
  const sum = { orm: 0, raw_json: 0, raw_candid: 0, encode: 0, decode: 0, store_set: 0 };
  for (let k = 0; k < MEASURED; k++) {
    const arg = new Uint8Array(IDL.encode([IDL.Text, IDL.Text, IDL.Text], [`m-${i}-${k}`, `x${k}`, body]));
    const r = IDL.decode([Costs], await replica.updateCall({ canisterId: canister, method: 'measure', arg: arg, sender }))[0] as unknown as Row;
    for (const f of Object.keys(sum) as (keyof Row)[]) sum[f] += Number(r[f]) / MEASURED;
  }
  const rest = sum.orm - sum.encode - sum.store_set;
  console.log(`| ${bodyChars} chars | ${fmt(sum.orm)} | ${fmt(sum.raw_json)} | ${fmt(sum.raw_candid)} | ${(sum.orm / sum.raw_json).toFixed(2)}× | ${(sum.orm / sum.raw_candid).toFixed(2)}× | ${fmt(sum.encode)} | ${fmt(sum.decode)} | ${fmt(sum.store_set)} | ${fmt(rest)} |`);
}
console.log('\nTarget: ORM / raw ≤ 1.25×. One get entering the owner vs forwarded: see the `shard-canister` section.');
await replica.tearDown();
