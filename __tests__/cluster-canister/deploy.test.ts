// The sample dapp deployed as a ShardORM cluster on the local replica with deployCluster, used
// through ShardedClient: the manager creates shard 0 from its own chunk store, data lives in the
// shards, a split by snapshot clone moves half of it to a new canister without losing a row.
import { Principal } from '@dfinity/principal';
import { Snippet } from '../../example-app/src/models.js';
import { deployExampleCluster, type CanisterCluster } from './harness.js';

let cluster: CanisterCluster;

beforeAll(async () => {
  cluster = await deployExampleCluster({ seed: 21 });
}, 300_000);
afterAll(() => cluster?.close());

const snippet = (i: number, owner: Principal) =>
  Object.assign(new Snippet(), { pageId: `page-${i % 17}`, id: `s${i}`, body: `body ${i} `.repeat(20), owner, createdAt: BigInt(i) });

test('deployCluster creates the manager and shard 0; the client talks to the shard directly', async () => {
  const status = await cluster.client.status();
  expect(status.epoch).toBe(0);
  expect(status.shards).toHaveLength(1);
  expect(status.shards[0].canisterId).toBe(cluster.entry.toText());
  expect(status.shards[0].range).toEqual([0n, 1n << 64n]);
  const controllers = cluster.replica.getControllers(cluster.entry).map((p) => p.toText()).sort();
  expect(controllers).toEqual([cluster.manager.toText(), cluster.deployer.getPrincipal().toText()].sort());
  const snippets = cluster.client.repository(Snippet);
  const me = cluster.deployer.getPrincipal();
  for (let i = 0; i < 40; i++) await snippets.insert(snippet(i, me));
  expect(await snippets.count()).toBe(40);
  expect((await snippets.get({ pageId: 'page-3', id: 's3' }))?.body).toMatch(/^body 3 /);
}, 300_000);

test('a split by snapshot clone: the new shard owns half, every row reads back, nothing is lost', async () => {
  const r = await cluster.managerActor.split_shard({ shard: cluster.entry, method: [] });
  expect(r).toEqual({ ok: null });
  await cluster.settle();
  const status = await cluster.client.status();
  expect(status.shards).toHaveLength(2);
  expect(status.epoch).toBe(1);
  expect(status.migrations[0]).toMatchObject({ kind: 'split', state: 'done', method: 'snapshot' });
  const snippets = cluster.client.repository(Snippet);
  for (let i = 0; i < 40; i++) expect((await snippets.get({ pageId: `page-${i % 17}`, id: `s${i}` }))?.id).toBe(`s${i}`);
  expect(await snippets.count()).toBe(40);
}, 600_000);
