// Rows, indexes and the partition map survive upgrades of a shard and of the manager on real
// canisters: each upgraded with the same Wasm through the management canister (upload_chunk +
// install_chunked_code) after being stopped, as a deployer does. With no migration running, and
// in the middle of a split and of a merge (the shard or manager upgraded while the migration sits
// at a step), under 4 writers entering at random shards: the migration resumes and finishes, and
// every check of the fault matrix holds.
import { Actor } from '@dfinity/agent';
import { Principal } from '@dfinity/principal';
import { HistoryRecorder } from 'shardorm/testing';
import { Snippet } from '../../example-app/src/models.js';
import { managerIdlFactory } from '../../lib/protocol/manager-candid.js';
import { runMigration, shardsOf, status, stopCanister, upgradeManager, upgradeWithSameWasm, type AimedFault } from './fault-run.js';
import type { CanisterCluster } from './harness.js';
import { deploySeededCluster, everyKey, verifyCluster, Writers } from './writers.js';

let cluster: CanisterCluster;
let recorder: HistoryRecorder;

beforeAll(async () => {
  recorder = new HistoryRecorder();
  cluster = await deploySeededCluster({ seed: 51, recorder });
}, 600_000);
afterAll(() => cluster?.close());

async function mapOf(canister: string): Promise<string> {
  const agent = cluster.replica.createAgent({ identity: cluster.deployer });
  const info = await (Actor.createActor(managerIdlFactory, { agent, canisterId: Principal.fromText(canister) }) as any).cluster_info(); // eslint-disable-line @typescript-eslint/no-explicit-any
  return info.map;
}

test('a shard and the manager upgraded with the same Wasm keep every row, the map and the migration history', async () => {
  const agent = cluster.replica.createAgent({ identity: cluster.deployer });
  const before = await status(cluster);
  const shards = shardsOf(before);
  const maps = await Promise.all([...shards, cluster.manager.toText()].map(mapOf));
  for (const shard of shards) {
    await stopCanister(cluster, Principal.fromText(shard));
    await upgradeWithSameWasm(cluster, Principal.fromText(shard));
    await cluster.replica.startCanister({ canisterId: Principal.fromText(shard), sender: cluster.deployer.getPrincipal() });
  }
  await upgradeManager(cluster);
  expect(await Promise.all([...shards, cluster.manager.toText()].map(mapOf))).toEqual(maps);
  const after = await status(cluster);
  expect(after.migrations.map((m: { id: string }) => m.id)).toEqual(before.migrations.map((m: { id: string }) => m.id));
  await verifyCluster({ cluster, agent, recorder, keys: everyKey() });
  const snippets = cluster.client.repository(Snippet);
  expect(await snippets.count()).toBe(everyKey().length);
}, 600_000);

const cases: { kind: 'snapshot' | 'stream' | 'merge'; faults: AimedFault[] }[] = [
  { kind: 'snapshot', faults: [{ phase: 'target-created', kind: 'upgrade-source' }, { phase: 'source-started', kind: 'upgrade-manager' }, { phase: 'target-installed', kind: 'upgrade-target' }, { phase: 'copied', kind: 'upgrade-source' }] },
  { kind: 'merge', faults: [{ phase: 'prepared', kind: 'upgrade-target' }, { phase: 'target-ready', kind: 'upgrade-source' }, { phase: 'copied', kind: 'upgrade-manager' }, { phase: 'caught-up', kind: 'upgrade-target' }] },
];

test.each(cases)('$kind with shards and the manager upgraded mid-way: it resumes and finishes, nothing lost', async ({ kind, faults }) => {
  const agent = cluster.replica.createAgent({ identity: cluster.deployer });
  const s = await status(cluster);
  const shards = shardsOf(s);
  const source = Principal.fromText(kind === 'merge' ? shards[shards.length - 1] : shards[0]);
  const writers = new Writers({ agent, entry: cluster.entry, recorder, owner: cluster.deployer.getPrincipal(), count: 4, seed: kind.length });
  await writers.start();
  let r;
  try {
    r = await runMigration(cluster, { kind, source, faults });
  } finally {
    await writers.stop();
  }
  expect(r.phase).toBe('done');
  expect(r.applied.map((f) => `${f.phase}:${f.kind}`).sort()).toEqual(faults.map((f) => `${f.phase}:${f.kind}`).sort());
  await verifyCluster({ cluster, agent, recorder, keys: everyKey() });
}, 900_000);
