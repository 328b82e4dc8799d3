// The client SDK over HTTP with the agent's verification on (BLS certificates, node signatures):
// ShardedClient.upsertMany of 10,000 Snippets vs one-by-one upserts (a sample, sequential and
// 8 in flight), entities per second, side by side in one run against the embedded replica.
// The cluster (the sample dapp, shardorm_example) is deployed in-process; only the client's
// writes go through HTTP.
import { HttpAgent } from '@dfinity/agent';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import { deployCluster, ShardedClient } from 'shardorm/client';
import { Snippet } from '../example-app/src/models.js';
import { exampleWasm } from '../__tests__/cluster-canister/harness.js';
import { startEmbeddedReplica } from '../lib/cli/embedded.js';

const BULK = Number(process.env.BENCH_CLIENT_BULK ?? 10_000);
const SAMPLE = Number(process.env.BENCH_CLIENT_SAMPLE ?? 300);
const IN_FLIGHT = 8;
const BODY_CHARS = 200;

const embedded = await startEmbeddedReplica({ port: 0 });
const identity = Ed25519KeyIdentity.generate(new Uint8Array(32).fill(11));
const me = identity.getPrincipal();
const { entry } = await deployCluster({ agent: embedded.replica.createAgent({ identity }), wasm: await exampleWasm(), maxShardBytes: 2 ** 40 });
const agent = await HttpAgent.create({ host: embedded.url, identity, shouldFetchRootKey: true });
const client = await ShardedClient.connect({ agent, entry });
const snippets = client.repository(Snippet);
const body = 's'.repeat(BODY_CHARS);
const snippet = (tag: string, i: number) => Object.assign(new Snippet(), { pageId: `${tag}-page-${i}`, id: `s${i}`, body, owner: me, createdAt: BigInt(i) });

const shardInstructions = () => embedded.replica.canister(entry)!.instructionsExecuted;
const rows: Array<[string, number, number, bigint]> = [];
async function timed(run: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  const before = shardInstructions();
  await run();
  lastInstructions = shardInstructions() - before;
  return performance.now() - t;
}
let lastInstructions = 0n;

rows.push([`upsertMany of ${BULK.toLocaleString('en-US')} (batches of MAX_BATCH_OPS per shard)`, BULK, await timed(() => snippets.upsertMany(Array.from({ length: BULK }, (_, i) => snippet('bulk', i)))), lastInstructions]);
rows.push([`upsert one by one, sequential (${SAMPLE})`, SAMPLE, await timed(async () => { for (let i = 0; i < SAMPLE; i++) await snippets.upsert(snippet('one', i)); }), lastInstructions]);
rows.push([`upsert one by one, ${IN_FLIGHT} in flight (${SAMPLE})`, SAMPLE, await timed(async () => {
  let next = 0;
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => { while (next < SAMPLE) await snippets.upsert(snippet('par', next++)); }));
}), lastInstructions]);
const total = await snippets.count();
if (total !== BULK + 2 * SAMPLE) throw new Error(`expected ${BULK + 2 * SAMPLE} snippets, the cluster counts ${total}`);

console.log('## Client over HTTP: bulk vs one-by-one upserts (agent verification on)\n');
console.log(`\`npm run bench -- cluster-client\` — embedded replica (\`startEmbeddedReplica\`, live rounds every 100 ms) on 127.0.0.1, one shard of`);
console.log(`shardorm_example, @dfinity/agent HttpAgent with \`shouldFetchRootKey: true\` (certificates and node signatures verified), Snippets of`);
console.log(`${BODY_CHARS}-char bodies; client and replica share this process. Every write is read back by \`count()\` (${total.toLocaleString('en-US')}).\n`);
console.log('| writes | entities | wall | entities/s | 10,000 at this rate | shard instructions per entity |');
console.log('|---|---:|---:|---:|---:|---:|');
const base = rows[0][1] / rows[0][2];
for (const [name, n, ms, instructions] of rows) {
  const rate = n / (ms / 1000);
  console.log(`| ${name} | ${n.toLocaleString('en-US')} | ${(ms / 1000).toFixed(1)} s | ${Math.round(rate).toLocaleString('en-US')} | ${(10_000 / rate).toFixed(0)} s (${(base * 1000 / rate).toFixed(0)}× the bulk path's time) | ${Math.round(Number(instructions) / n).toLocaleString('en-US')} |`);
}
console.log('\nTarget: ≥ 2,000 entities/s for the bulk path on this 2-core machine.');
await embedded.close();
