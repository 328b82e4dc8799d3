// Instructions of one get on real Azle shards (the shard_app fixture, two shards on the local
// replica): entering the owner (local), entering the other shard through `execute` (an update
// that forwards with an inter-canister update) and through `read` (a composite query that
// forwards with a query). Beside it, what Candid handling of the same request and response
// costs alone, Azle's and fast-candid's (the shard_candid_probe fixture). Counted by the replica's metering
// (summed over both shards), so the numbers are exact and the machine's noise does not matter.
import { IDL } from '@dfinity/candid';
import { join } from 'node:path';
import { buildAzleCanister } from '../lib/build/azle.js';
import type { Principal } from '@dfinity/principal';
import { encodeKeyComponent, hashShardKey } from '../lib/index.js';
import { Note } from '../__tests__/fixtures/shard_app/models.js';
import { admin, opsOf, startShardCluster } from '../__tests__/canister/shard-cluster.js';
import { requestToCandid, ShardRequestIdl } from '../lib/protocol/index.js';

const ROWS = 64;
const c = await startShardCluster(3);
const notes = c.repository(Note, { entry: c.a });
const owners = Array.from({ length: ROWS }, (_, i) => `bench-${i}`);
for (const owner of owners) await notes.insert(Object.assign(new Note(), { owner, n: 1n, body: 'x'.repeat(200) }));

const counted = () => c.replica.canister(c.a)!.instructionsExecuted + c.replica.canister(c.b)!.instructionsExecuted;

async function perGet(kind: 'local' | 'forwarded', method: 'execute' | 'read'): Promise<number> {
  let total = 0n;
  let n = 0;
  for (const owner of owners) {
    const [get] = await opsOf(Note, c.map, (r) => r.get({ owner, n: 1n }));
    const ownerShard = c.map.shardFor(get.kind === 'get' ? get.hash : 0n) === c.a.toText() ? c.a : c.b;
    const entry = kind === 'local' ? ownerShard : ownerShard === c.a ? c.b : c.a;
    const before = counted();
    const reply = await c.shard(entry, admin)[method](requestToCandid({ ops: [get], hops: 0 }));
    if (!('ok' in reply) || !('value' in reply.ok.results[0])) throw new Error(`get failed: ${JSON.stringify(reply)}`);
    total += counted() - before;
    n++;
  }
  return Number(total) / n;
}

const rows: [string, number][] = [];
for (const method of ['execute', 'read'] as const) {
  for (const kind of ['local', 'forwarded'] as const) rows.push([`${method}, ${kind}`, await perGet(kind, method)]);
}
const base = (m: string) => rows.find(([name]) => name === `${m}, local`)![1];
console.log(`## Shard canister: one get, instructions (both shards summed, mean of ${ROWS} keys)\n`);
console.log('`npm run bench -- shard-canister`\n');
console.log('| entry | instructions | vs local |');
console.log('|---|---:|---:|');
for (const [name, value] of rows) console.log(`| ${name} | ${Math.round(value).toLocaleString('en-US')} | ${(value / base(name.split(',')[0])).toFixed(2)}× |`);

// The same read from inside an application method: repository(Snippet).get in `snippetBody`.
const appIdl: IDL.InterfaceFactory = ({ IDL: I }) =>
  I.Service({
    addSnippet: I.Func([I.Text, I.Text, I.Text], [I.Record({ ran_on: I.Text, caller_before: I.Text, caller_after: I.Text })], []),
    snippetBody: I.Func([I.Text, I.Text], [I.Opt(I.Text)], []),
  });
const app = (id: Principal) => c.replica.createActor<Record<string, (...args: unknown[]) => Promise<unknown>>>(appIdl, id, { sender: admin });
const pages = Array.from({ length: ROWS }, (_, i) => `bench-page-${i}`);
for (const page of pages) await app(c.a).addSnippet(page, 's', 'x'.repeat(200));
const appRows: [string, bigint][] = [];
for (const kind of ['local', 'forwarded'] as const) {
  let total = 0n;
  for (const page of pages) {
    const ownerShard = c.map.shardFor(hashShardKey(encodeKeyComponent(IDL.Text, page, 'bench'))) === c.a.toText() ? c.a : c.b;
    const entry = kind === 'local' ? ownerShard : ownerShard === c.a ? c.b : c.a;
    const before = counted();
    await app(entry).snippetBody(page, 's');
    total += counted() - before;
  }
  appRows.push([`app method (repository().get), ${kind}`, total / BigInt(ROWS)]);
}
console.log('\n## One get from inside an application method, instructions (both shards summed)\n');
console.log('| call | instructions |');
console.log('|---|---:|');
for (const [name, value] of appRows) console.log(`| ${name} | ${value.toLocaleString('en-US')} |`);

const probeBuild = await buildAzleCanister({ root: join(process.cwd(), '__tests__/fixtures/shard_candid_probe'), name: 'shard_candid_probe' });
const probe = await c.replica.setupCanister({ wasm: probeBuild.wasm });
const [get] = await opsOf(Note, c.map, (r) => r.get({ owner: owners[0], n: 1n }));
const request = new Uint8Array(IDL.encode([ShardRequestIdl], [requestToCandid({ ops: [get], hops: 0 })]));
const probeRows: [string, Uint8Array][] = [
  ['empty update', new Uint8Array(IDL.encode([], []))],
  ['Azle: decode a one-get ShardRequest', request],
  ['Azle: decode it and encode a one-value ShardResponse', request],
  ['fast-candid: the same decode and encode (what execute/read use)', request],
];
const methods = ['empty', 'decodeRequest', 'roundTrip', 'fastRoundTrip'];
console.log('\n## Candid handling of the shard protocol alone, instructions\n');
console.log('| update | first call | later calls |');
console.log('|---|---:|---:|');
const probeCount = () => c.replica.canister(probe)!.instructionsExecuted;
for (const [i, [name, arg]] of probeRows.entries()) {
  const runs: bigint[] = [];
  for (let k = 0; k < 3; k++) {
    const before = probeCount();
    await c.replica.updateCall(probe, methods[i], arg);
    runs.push(probeCount() - before);
  }
  console.log(`| ${name} | ${runs[0].toLocaleString('en-US')} | ${runs[2].toLocaleString('en-US')} |`);
}
console.log('\nfast-candid builds its type-table header and readers on first use, once per Wasm instance; shards prepare theirs at install and upgrade, so a query never pays it.');
await c.replica.close();
