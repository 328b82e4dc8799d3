// The client SDK and the manager's care of shards, on real canisters: retries only where the IC
// guarantees the call did not run, unknown outcomes surface as typed errors (never re-sent),
// zero forwarding hops with a warm map, parallel fan-out, and cycles top-ups from the manager.
import { Principal } from '@dfinity/principal';
import { getEntityMetadata, RangePartitioner, rowAddress, UnknownOutcomeError } from 'shardorm';
import { ShardedClient } from 'shardorm/client';
import { Snippet } from '../../example-app/src/models.js';
import { deployExampleCluster, type CanisterCluster } from './harness.js';

let cluster: CanisterCluster;
beforeAll(async () => {
  cluster = await deployExampleCluster({ seed: 33 });
  const me = cluster.deployer.getPrincipal();
  await cluster.client.repository(Snippet).upsertMany(Array.from({ length: 60 }, (_, i) => snippet(i, me)));
  const r = await cluster.managerActor.split_shard({ shard: cluster.entry, method: [] });
  expect(r).toEqual({ ok: null });
  await cluster.settle();
}, 600_000);
afterAll(() => cluster?.close());

function snippet(i: number, owner: Principal, body = `body ${i}`): Snippet {
  return Object.assign(new Snippet(), { pageId: `p${i % 13}`, id: `s${i}`, body, owner, createdAt: BigInt(i) });
}

test('a write to a stopped shard is retried with backoff and lands once the shard runs again', async () => {
  const snippets = cluster.client.repository(Snippet);
  const target = snippet(1, cluster.deployer.getPrincipal(), 'written while stopped');
  const shards = (await cluster.client.status()).shards.map((s) => Principal.fromText(s.canisterId));
  for (const s of shards) await cluster.replica.stopCanister(s, { sender: cluster.manager });
  const write = snippets.upsert(target);
  // The client backs off (20 ms, 40 ms, …) while the shard is stopped; start it again meanwhile.
  await new Promise((r) => setTimeout(r, 150));
  for (const s of shards) await cluster.replica.startCanister(s, { sender: cluster.manager });
  expect((await write).body).toBe('written while stopped');
  expect((await snippets.get({ pageId: 'p1', id: 's1' }))?.body).toBe('written while stopped');
});

test('a write whose execution traps surfaces as UnknownOutcomeError and is not sent again', async () => {
  const snippets = cluster.client.repository(Snippet);
  const before = (await snippets.get({ pageId: 'p2', id: 's2' }))!;
  const owner = RangePartitioner.fromJSON(cluster.client.map as never).shardFor(rowAddress(getEntityMetadata(Snippet), { pageId: 'p2', id: 's2' }).hash);
  const fired = cluster.replica.faultsFired.trap;
  cluster.replica.injectFault({ kind: 'trap', canister: owner, method: 'execute', times: 2 });
  await expect(snippets.update({ pageId: 'p2', id: 's2' }, { body: 'after a trap' })).rejects.toThrow(UnknownOutcomeError);
  expect(cluster.replica.faultsFired.trap - fired).toBe(1); // sent once: the second armed trap never fired
  await snippets.get({ pageId: 'p2', id: 's2' }); // a read is not an execute: the armed trap stays for…
  cluster.replica.injectFault({ kind: 'trap', canister: owner, method: 'nothing', times: 0 });
  await expect(snippets.update({ pageId: 'p2', id: 's2' }, { body: 'consumes the last trap' })).rejects.toThrow(UnknownOutcomeError);
  expect((await snippets.get({ pageId: 'p2', id: 's2' }))?.body).toBe(before.body); // the trap rolled it back
});

test('the manager tops up a shard whose cycles fall below the threshold from its own balance', async () => {
  const shard = Principal.fromText((await cluster.client.status()).shards[0].canisterId);
  cluster.replica.drainCycles(shard);
  const managerBefore = cluster.replica.getCyclesBalance(cluster.manager);
  const tick = await cluster.managerActor.drive();
  expect(tick.ok.topped_up.map((p: Principal) => p.toText())).toContain(shard.toText());
  expect(cluster.replica.getCyclesBalance(shard)).toBeGreaterThan(0n);
  expect(cluster.replica.getCyclesBalance(cluster.manager)).toBeLessThan(managerBefore);
});

// Last: it leaves shard-to-shard rejects armed.
test('a warm client calls the owning shard directly: no forwarding, getMany and count fan out', async () => {
  const status = await cluster.client.status();
  expect(status.shards).toHaveLength(2);
  const fresh = await ShardedClient.connect({ agent: cluster.replica.createAgent({ identity: cluster.deployer }), entry: cluster.manager });
  expect(fresh.map.epoch).toBe(status.epoch); // connected through the manager: the current map
  const snippets = fresh.repository(Snippet);
  // Any shard-to-shard data call from here on would be rejected (these rules match only calls
  // between canisters): none fires, so every request went straight to its owner.
  const fired = cluster.replica.faultsFired.reject;
  for (const method of ['read', 'execute']) cluster.replica.injectFault({ kind: 'reject', method, times: 1_000 });
  const got = await snippets.getMany(Array.from({ length: 60 }, (_, i) => ({ pageId: `p${i % 13}`, id: `s${i}` })));
  expect(got.map((s) => s?.id)).toEqual(Array.from({ length: 60 }, (_, i) => `s${i}`));
  expect(await snippets.count()).toBe(60);
  expect(cluster.replica.faultsFired.reject).toBe(fired);
});

