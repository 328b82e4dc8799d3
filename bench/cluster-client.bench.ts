// The client SDK over HTTP with the agent's verification on (BLS certificates, node signatures):
// ShardedClient.upsertMany of 10,000 Snippets vs one-by-one upserts (a sample, sequential and
// 8 in flight), entities per second, side by side in one run. Two set-ups: the embedded replica
// in this process (one thread does client and replica work; shard instructions are read from
// it), and `shardorm replica start` in its own process as users run it (client and replica on a
// core each; the CPU time of each process per entity says what each could sustain on its core,
// which a shared machine disturbs far less than wall time).
import { HttpAgent } from '@dfinity/agent';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import { readFileSync } from 'node:fs';
import { deployCluster, ShardedClient } from 'shardorm/client';
import { Snippet } from '../example-app/src/models.js';
import { exampleWasm } from '../__tests__/cluster-canister/harness.js';
import { spawnReplica } from '../__tests__/http/spawn-replica.js';
import { startEmbeddedReplica } from '../lib/cli/embedded.js';

const BULK = Number(process.env.BENCH_CLIENT_BULK ?? 10_000);
const SAMPLE = Number(process.env.BENCH_CLIENT_SAMPLE ?? 300);
const IN_FLIGHT = 8;
const BODY_CHARS = 200;
/** Linux reports process CPU in clock ticks of 1/100 s (USER_HZ). */
const TICKS_PER_SECOND = 100;

const identity = Ed25519KeyIdentity.generate(new Uint8Array(32).fill(11));
const me = identity.getPrincipal();
const body = 's'.repeat(BODY_CHARS);
const snippet = (tag: string, i: number) => Object.assign(new Snippet(), { pageId: `${tag}-page-${i}`, id: `s${i}`, body, owner: me, createdAt: BigInt(i) });
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** CPU seconds of a process and its descendants (tsx runs the CLI in a child), from /proc. */
function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const own = (Number(stat[11]) + Number(stat[12])) / TICKS_PER_SECOND;
  const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return kids.reduce((sum, kid) => sum + cpuSecondsOf(kid), own);
}

interface Row {
  name: string;
  entities: number;
  ms: number;
  /** CPU ms per entity: this process, and the replica's process when it has its own. */
  clientCpuMs: number;
  replicaCpuMs?: number;
  instructions?: number;
}

async function timed(name: string, entities: number, run: () => Promise<unknown>, probes: { replicaPid?: number; instructions?: () => bigint }): Promise<Row> {
  const [t, cpu, replica, before] = [performance.now(), process.cpuUsage(), probes.replicaPid && cpuSecondsOf(probes.replicaPid), probes.instructions?.()];
  await run();
  const ms = performance.now() - t;
  const used = process.cpuUsage(cpu);
  const row: Row = { name, entities, ms, clientCpuMs: (used.user + used.system) / 1000 / entities };
  if (probes.replicaPid) row.replicaCpuMs = ((cpuSecondsOf(probes.replicaPid) - (replica as number)) * 1000) / entities;
  if (before !== undefined) row.instructions = Number(probes.instructions!() - before) / entities;
  return row;
}

/** Bulk, sequential and in-flight upserts through `client`, then a count that checks them all. */
async function writes(tag: string, client: ShardedClient, probes: Parameters<typeof timed>[3], sample: number): Promise<Row[]> {
  const snippets = client.repository(Snippet);
  const rows = [await timed(`upsertMany of ${fmt(BULK)} (batches of MAX_BATCH_OPS per shard)`, BULK, () => snippets.upsertMany(Array.from({ length: BULK }, (_, i) => snippet(`${tag}-bulk`, i))), probes)];
  if (sample > 0) {
    rows.push(await timed(`upsert one by one, sequential (${sample})`, sample, async () => { for (let i = 0; i < sample; i++) await snippets.upsert(snippet(`${tag}-one`, i)); }, probes));
    rows.push(await timed(`upsert one by one, ${IN_FLIGHT} in flight (${sample})`, sample, async () => {
      let next = 0;
      await Promise.all(Array.from({ length: IN_FLIGHT }, async () => { while (next < sample) await snippets.upsert(snippet(`${tag}-par`, next++)); }));
    }, probes));
  }
  const total = await snippets.count();
  if (total !== BULK + 2 * sample) throw new Error(`expected ${BULK + 2 * sample} snippets, the cluster counts ${total}`);
  return rows;
}

// 1. The embedded replica in this process.
const embedded = await startEmbeddedReplica({ port: 0 });
const { entry } = await deployCluster({ agent: embedded.replica.createAgent({ identity }), wasm: await exampleWasm(), maxShardBytes: 2 ** 40 });
const inProcess = await ShardedClient.connect({ agent: await HttpAgent.create({ host: embedded.url, identity, shouldFetchRootKey: true }), entry });
const embeddedRows = await writes('embedded', inProcess, { instructions: () => embedded.replica.canister(entry)!.instructionsExecuted }, SAMPLE);
await embedded.close();

// 2. `shardorm replica start` in its own process; the cluster deployed over HTTP as well.
const server = await spawnReplica();
let separateRows: Row[];
try {
  const agent = await HttpAgent.create({ host: server.url, identity, shouldFetchRootKey: true });
  const deployed = await deployCluster({ agent, wasm: await exampleWasm(), maxShardBytes: 2 ** 40 });
  separateRows = await writes('separate', await ShardedClient.connect({ agent, entry: deployed.entry }), { replicaPid: server.child.pid! }, 0);
} finally {
  await server.stop();
}

console.log('## Client over HTTP: bulk vs one-by-one upserts (agent verification on)\n');
console.log('`npm run bench -- cluster-client` — one shard of shardorm_example, @dfinity/agent HttpAgent with `shouldFetchRootKey: true`');
console.log(`(certificates and node signatures verified), Snippets of ${BODY_CHARS}-char bodies. Every write is read back by \`count()\`.`);
console.log('"CPU ms / entity" is the CPU time of each process divided by the entities written (the machine is shared: wall time');
console.log('is disturbed by other work, CPU time far less); "per core" is 1000 / the larger of the two, what the set-up sustains with');
console.log('client and replica each on a core of this 2-core machine.\n');
console.log('Embedded replica in the client\'s process (`startEmbeddedReplica`, live rounds every 100 ms), one thread for both:\n');
console.log('| writes | entities | wall | entities/s (wall) | CPU ms / entity | entities per CPU second | shard instructions per entity |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const r of embeddedRows) {
  console.log(`| ${r.name} | ${fmt(r.entities)} | ${(r.ms / 1000).toFixed(1)} s | ${fmt(r.entities / (r.ms / 1000))} | ${r.clientCpuMs.toFixed(3)} | ${fmt(1000 / r.clientCpuMs)} | ${fmt(r.instructions!)} |`);
}
console.log('\n`shardorm replica start` in its own process, the client in this one:\n');
console.log('| writes | entities | wall | entities/s (wall) | client CPU ms / entity | replica CPU ms / entity | entities/s per core (client, replica) |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const r of separateRows) {
  const perCore = 1000 / Math.max(r.clientCpuMs, r.replicaCpuMs!);
  console.log(`| ${r.name} | ${fmt(r.entities)} | ${(r.ms / 1000).toFixed(1)} s | ${fmt(r.entities / (r.ms / 1000))} | ${r.clientCpuMs.toFixed(3)} | ${r.replicaCpuMs!.toFixed(3)} | ${fmt(perCore)} (${fmt(1000 / r.clientCpuMs)}, ${fmt(1000 / r.replicaCpuMs!)}) |`);
}
console.log('\nTarget: ≥ 2,000 entities/s for the bulk path on this 2-core machine.');
