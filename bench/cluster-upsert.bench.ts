// Instructions of one ORM upsert of a Snippet (repository(Snippet).upsert on the canister's own
// shard) vs a raw Azle StableBTreeMap insert of the same record in the same canister
// (__tests__/fixtures/orm_upsert), with the ORM path's parts counted alone; then the bulk path: a
// cluster's `execute` of MAX_BATCH_OPS Snippets per message (ShardedClient.upsertMany), per entity,
// split into its parts (__tests__/fixtures/bulk_profile). Counted by performanceCounter(0) and the
// replica's per-canister instruction count, so the machine's noise does not matter.
import { Actor } from '@dfinity/agent';
import { IDL } from '@dfinity/candid';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import { Principal } from '@dfinity/principal';
import { deployCluster, ShardedClient } from 'shardorm/client';
import { Snippet } from '../example-app/src/models.js';
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

// The bulk path: the same writes on two clusters of the profiling shard, one counted whole, one in parts.
const BULK = 10_000;
const BULK_BODY_CHARS = 200;
const profiled = await buildAzleCanister({ root: join(process.cwd(), '__tests__/fixtures/bulk_profile'), name: 'bulk_profile' });
const bulkReplica = await LocalReplica.create({ seed: 6 });
const identity = Ed25519KeyIdentity.generate(new Uint8Array(32).fill(12));
const agent = bulkReplica.createAgent({ identity });
const profileIdl: IDL.InterfaceFactory = ({ IDL: I }) => I.Service({
  profile_install: I.Func([], [I.Null], []),
  profile_report: I.Func([], [I.Vec(I.Record({ part: I.Text, calls: I.Nat32, instructions: I.Nat64 }))], ['query'])
});
/** Snippets per page in the second whole run (a page's snippets share their shard key, so its hash). */
const PAGE_SNIPPETS = 10;
const bulkBody = 'b'.repeat(BULK_BODY_CHARS);
const snippetsOf = (perPage: number) => Array.from({ length: BULK }, (_, i) => Object.assign(new Snippet(), { pageId: `bulk-page-${Math.floor(i / perPage)}`, id: `s${i}`, body: bulkBody, owner: identity.getPrincipal(), createdAt: BigInt(i) }));
async function bulkRun(profile: boolean, snippets = snippetsOf(1)): Promise<{ total: number; parts: { part: string; calls: number; instructions: bigint }[] }> {
  const { entry } = await deployCluster({ agent, wasm: profiled.wasm, maxShardBytes: 2 ** 40 });
  const actor = Actor.createActor(profileIdl, { agent, canisterId: entry }) as unknown as { profile_install(): Promise<null>; profile_report(): Promise<{ part: string; calls: number; instructions: bigint }[]> };
  if (profile) await actor.profile_install();
  const client = await ShardedClient.connect({ agent, entry });
  const before = bulkReplica.canister(entry)!.instructionsExecuted;
  await client.repository(Snippet).upsertMany(snippets);
  const total = Number(bulkReplica.canister(entry)!.instructionsExecuted - before) / BULK;
  return { total, parts: profile ? await actor.profile_report() : [] };
}
const whole = await bulkRun(false);
const split = await bulkRun(true);
const paged = await bulkRun(false, snippetsOf(PAGE_SNIPPETS));
console.log('\n## Bulk upsert inside the shard, instructions per entity\n');
console.log(`\`npm run bench -- cluster-upsert\` — ShardedClient.upsertMany of ${BULK.toLocaleString('en-US')} new Snippets (${BULK_BODY_CHARS}-char bodies) into an empty one-shard`);
console.log('cluster (__tests__/fixtures/bulk_profile: the sample dapp\'s shard), MAX_BATCH_OPS per `execute`, over the in-process agent. "Whole" is');
console.log('the replica\'s instruction count of the shard, over every execution of the run; the parts are performanceCounter(0) sums on a');
console.log('second cluster given the same writes, with each part wrapped (a wrapper adds ~10–20 K to each call it counts, so a part');
console.log('counted once per entity reads high by about that much); "rest" is the whole less the parts: routing, the key check');
console.log('(row address and XXH64 of the shard key), access rules, executor and Azle\'s message handling. Every snippet has a page of');
console.log(`its own, except in the last row (${PAGE_SNIPPETS} per page: the shard key's hash is computed once per page while remembered).\n`);
console.log(`| part | calls (for ${fmt(BULK)} entities) | instructions per entity |`);
console.log('|---|---:|---:|');
console.log(`| whole (unwrapped) | | ${fmt(whole.total)} |`);
const ORDER = ['request decode', 'entity decode', 'paged-store set', '  of which', 'paged-store flush', 'response encode'];
const rank = (part: string) => ORDER.findIndex((prefix) => part.startsWith(prefix));
let counted = 0;
for (const p of [...split.parts].sort((a, b) => rank(a.part) - rank(b.part))) {
  const perEntity = Number(p.instructions) / BULK;
  if (!p.part.startsWith(' ')) counted += perEntity;
  console.log(`| ${p.part.startsWith(' ') ? '&nbsp;&nbsp;' + p.part.trim() : p.part} | ${fmt(p.calls)} | ${fmt(perEntity)} |`);
}
console.log(`| rest | | ${fmt(whole.total - counted)} |`);
console.log(`| whole, ${PAGE_SNIPPETS} snippets per page (unwrapped) | | ${fmt(paged.total)} |`);
await bulkReplica.tearDown();
