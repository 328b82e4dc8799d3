// Instructions of one get on real Azle shards (the shard_app fixture, two shards on the local
// replica): entering the owner (local), entering the other shard through `execute` (an update
// that forwards with an inter-canister update) and through `read` (a composite query that
// forwards with a query). Beside it, what Azle's Candid handling of the same request and
// response costs alone (the shard_candid_probe fixture). Counted by the replica's metering
// (summed over both shards), so the numbers are exact and the machine's noise does not matter.
import { IDL } from '@dfinity/candid';
import { join } from 'node:path';
import { buildAzleCanister } from '../lib/build/azle.js';
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

const probeBuild = await buildAzleCanister({ root: join(process.cwd(), '__tests__/fixtures/shard_candid_probe'), name: 'shard_candid_probe' });
const probe = await c.replica.setupCanister({ wasm: probeBuild.wasm });
const [get] = await opsOf(Note, c.map, (r) => r.get({ owner: owners[0], n: 1n }));
const request = new Uint8Array(IDL.encode([ShardRequestIdl], [requestToCandid({ ops: [get], hops: 0 })]));
const probeRows: [string, Uint8Array][] = [['empty update', new Uint8Array(IDL.encode([], []))], ['decode a one-get ShardRequest', request], ['decode it and encode a one-value ShardResponse', request]];
const methods = ['empty', 'decodeRequest', 'roundTrip'];
console.log('\n## Azle Candid handling of the shard protocol alone, instructions\n');
console.log('| update | instructions |');
console.log('|---|---:|');
for (const [i, [name, arg]] of probeRows.entries()) {
  const before = c.replica.canister(probe)!.instructionsExecuted;
  await c.replica.updateCall(probe, methods[i], arg);
  console.log(`| ${name} | ${(c.replica.canister(probe)!.instructionsExecuted - before).toLocaleString('en-US')} |`);
}
await c.replica.close();
