// The cluster-facing commands on the embedded replica: deploy (records the cluster), status
// (--json shape), split and merge through the manager, backup → damage → restore of a whole
// cluster (same data, same map and epoch), deploy into a manager canister the user made, clone beside the original under its own ids (rebound by
// the clone's manager), upgrade through the manager, and a non-controller refused.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Principal } from '@dfinity/principal';
import { Actor } from '@dfinity/agent';
import { ShardedClient } from '../../lib/client/client.js';
import { managerIdlFactory, type ClusterInfo } from '../../lib/protocol/manager-candid.js';
import type { EmbeddedReplica } from '../../lib/cli/embedded.js';
import { findCluster } from '../../lib/cli/clusters.js';
import { managementCanister } from '../../lib/client/management.js';
import { shardKeyHash } from '../../lib/model/entity-keys.js';
import { getEntityMetadata } from '../../lib/model/metadata.js';
import { statusCommand, WATCH_INTERVAL_MS } from '../../lib/cli/status.js';
import { Snippet } from '../../example-app/src/models.js';
import { agentFor, cli, replica, tempDir, writeEd25519Pem } from './helpers.js';

/** A migration the manager runs must finish within this (the manager is driven by timers). */
const MIGRATION_WAIT_MS = 120_000;

const work = tempDir('cluster');
const pem = writeEd25519Pem(work);
const server: EmbeddedReplica = await replica();
const common = ['--network', server.url, '--identity', pem];
const deployed = await cli(['deploy', '--json', '--max-shard-bytes', String(64 * 1024 * 1024), ...common], { cwd: work });
afterAll(async () => server.close());

describe('cluster commands', () => {
  let entry: string;
  let manager: string;
  const owner = () => agentFor(server.url, pem);

  test('deploy prints the entry id as JSON and records the cluster under the canister name', () => {
    expect(deployed.stderr).toBe('');
    expect(deployed.code).toBe(0);
    const out = JSON.parse(deployed.stdout);
    expect(out).toEqual({ name: 'shardorm_example', manager: expect.any(String), entry: expect.any(String), wasmHash: expect.stringMatching(/^[0-9a-f]{64}$/), wasmBytes: expect.any(Number) });
    ({ entry, manager } = out);
    expect(findCluster({ cwd: work, network: server.url.replace(/\/$/, '') + '/' }).entry).toBe(entry);
  });

  test('status --json has the documented shape; the human table has one line per shard', async () => {
    const status = await cli(['status', '--json', ...common], { cwd: work });
    expect(status.code).toBe(0);
    const json = JSON.parse(status.stdout);
    expect(json).toEqual({ epoch: expect.any(Number), limitBytes: 64 * 1024 * 1024, shards: [expect.objectContaining({ canisterId: entry, range: ['0', expect.any(String)], entities: 0, cycles: expect.stringMatching(/^\d+$/) })], migrations: [], upgrade: null });
    const human = await cli(['status', ...common], { cwd: work });
    expect(human.stdout).toContain(entry);
    expect(human.stdout).toMatch(/migrations: none in progress/);

    let watched = '';
    const io = { stdout: (t: string) => void (watched += t), stderr: () => undefined, env: { HOME: work }, cwd: work, interactive: false };
    await statusCommand({ network: server.url, identity: pem, json: true, watch: true }, io, new Promise((r) => setTimeout(r, WATCH_INTERVAL_MS * 2.5)));
    const frames = watched.trim().split('\n').map((l) => JSON.parse(l));
    expect(frames.length).toBeGreaterThanOrEqual(2);
    for (const f of frames) expect(f.shards[0].canisterId).toBe(entry);
  });

  test('split then merge through the manager; backup → damage → restore gives the same data, map and epoch', async () => {
    const client = await ShardedClient.connect({ agent: await owner(), entry });
    const snippets = client.repository(Snippet);
    const me = (await owner()).getPrincipal();
    const written = [];
    for (let i = 0; i < 60; i++) written.push(await snippets.insert({ pageId: `page-${i % 12}`, id: `s${i}`, body: `body ${i}`, owner: await me, createdAt: BigInt(i) }));
    expect((await cli(['split', entry, ...common], { cwd: work })).code).toBe(0);
    const split = await waitFor(client, (s) => s.shards.length === 2);

    const out = join(work, 'backup');
    const backup = await cli(['backup', '--out', out, '--json', ...common], { cwd: work });
    expect(backup.stderr).toBe('');
    const result = JSON.parse(backup.stdout);
    expect(result.epoch).toBe(split.epoch);
    expect(result.canisters.map((c: { role: string }) => c.role).sort()).toEqual(['manager', 'shard', 'shard']);
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).cluster).toMatchObject({ epoch: split.epoch, manager });

    for (let i = 0; i < 60; i += 2) await snippets.delete({ pageId: `page-${i % 12}`, id: `s${i}` });
    const restored = await cli(['restore', out, ...common], { cwd: work });
    expect(restored.stderr).toBe('');
    const fresh = await ShardedClient.connect({ agent: await owner(), entry });
    const after = await fresh.status();
    expect(after.epoch).toBe(split.epoch);
    expect(after.shards.map((s) => [s.canisterId, s.range])).toEqual(split.shards.map((s) => [s.canisterId, s.range]));
    for (const w of written) expect((await fresh.repository(Snippet).get({ pageId: w.pageId, id: w.id }))?.body).toBe(w.body);

    const other = after.shards.find((s) => s.canisterId !== entry)!.canisterId;
    expect((await cli(['merge', other, ...common], { cwd: work })).code).toBe(0);
    await waitFor(fresh, (s) => s.shards.length === 1);
  }, 600_000);

  test('clone --as copy runs beside the original with its own ids: same data at clone time, then writes to one never reach the other', async () => {
    const original = await ShardedClient.connect({ agent: await owner(), entry });
    expect((await cli(['split', entry, ...common], { cwd: work })).code).toBe(0);
    const before = await waitFor(original, (s) => s.shards.length === 2);
    const atClone = await allRows(original);
    expect(atClone.size).toBeGreaterThan(0);

    const clone = await cli(['clone', 'shardorm_example', '--as', 'copy', '--json', ...common], { cwd: work });
    expect(clone.stderr).toBe('');
    expect(clone.code).toBe(0);
    const { cluster } = JSON.parse(clone.stdout);
    expect(cluster.manager).not.toBe(manager);
    expect(findCluster({ cwd: work, network: server.url.replace(/\/$/, '') + '/', name: 'copy' })).toMatchObject({ manager: cluster.manager, entry: cluster.entry });
    const copy = await ShardedClient.connect({ agent: await owner(), entry: cluster.entry });
    const copied = await copy.status();
    const ids = new Set(before.shards.map((s) => s.canisterId));
    expect(copied.shards.map((s) => s.range)).toEqual(before.shards.map((s) => s.range));
    for (const s of copied.shards) expect(ids.has(s.canisterId)).toBe(false);
    expect(copied.epoch).toBe(before.epoch + 1); // the rename is a new map: a shard still on the old ids would be behind
    // Every clone shard names only clone canisters and the clone's manager.
    const cloneIds = new Set(copied.shards.map((s) => s.canisterId));
    for (const s of copied.shards) {
      const info = await (Actor.createActor(managerIdlFactory, { agent: await owner(), canisterId: Principal.fromText(s.canisterId) }) as unknown as { cluster_info(): Promise<ClusterInfo> }).cluster_info();
      expect(info.manager[0]?.toText()).toBe(cluster.manager);
      for (const r of JSON.parse(info.map).ranges) expect(cloneIds.has(r.shard)).toBe(true);
    }
    expect(await allRows(copy)).toEqual(atClone);

    const me = await (await owner()).getPrincipal();
    await copy.repository(Snippet).insert({ pageId: 'clone-only', id: 'c1', body: 'in the clone', owner: me, createdAt: 1n });
    await original.repository(Snippet).insert({ pageId: 'original-only', id: 'o1', body: 'in the original', owner: me, createdAt: 1n });
    const first = [...atClone.keys()][0].split('/');
    await copy.repository(Snippet).update({ pageId: first[0], id: first[1] }, { body: 'changed in the clone' });
    expect(await original.repository(Snippet).get({ pageId: 'clone-only', id: 'c1' })).toBeUndefined();
    expect(await copy.repository(Snippet).get({ pageId: 'original-only', id: 'o1' })).toBeUndefined();
    expect((await original.repository(Snippet).get({ pageId: first[0], id: first[1] }))?.body).toBe(atClone.get(first.join('/')));
    expect((await copy.repository(Snippet).get({ pageId: 'clone-only', id: 'c1' }))?.body).toBe('in the clone');
    expect((await allRows(original)).size).toBe(atClone.size + 1);
  }, 600_000);

  test('a backup taken while a writer runs is consistent per shard: each shard holds a prefix of the writes it owns, and the backup names its epoch', async () => {
    const original = await ShardedClient.connect({ agent: await owner(), entry });
    const snippets = original.repository(Snippet);
    const me = await (await owner()).getPrincipal();
    const acked: number[] = [];
    let stop = false;
    // One sequential writer of new keys: the order of its acknowledged inserts is the order they ran.
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        await snippets.insert({ pageId: `during-${i % 16}`, id: `w${i}`, body: `b${i}`, owner: me, createdAt: BigInt(i) });
        acked.push(i);
      }
    })();
    while (acked.length < 20) await new Promise((r) => setTimeout(r, 50));
    const clone = await cli(['clone', 'shardorm_example', '--as', 'during', '--json', ...common], { cwd: work });
    const atEnd = acked.length;
    stop = true;
    await writer;
    expect([clone.code, clone.stderr]).toEqual([0, '']);
    const { cluster } = JSON.parse(clone.stdout);
    const copy = await ShardedClient.connect({ agent: await owner(), entry: cluster.entry });
    const shards = (await copy.status()).shards;
    const ownerOf = (pageId: string) => {
      const { hash } = shardKeyHash(getEntityMetadata(Snippet), pageId);
      return shards.find((s) => hash >= s.range[0] && hash < s.range[1])!.canisterId;
    };
    const kept = new Set([...(await allRows(copy)).keys()].filter((k) => k.startsWith('during-')).map((k) => Number(k.split('/w')[1])));
    expect(kept.size).toBeGreaterThan(0);
    expect(kept.size).toBeLessThan(atEnd + 1);
    // Per shard: every write it owns up to its snapshot is there, none after (no gap, nothing torn).
    for (const shard of shards.map((s) => s.canisterId)) {
      const mine = acked.filter((i) => ownerOf(`during-${i % 16}`) === shard);
      const cut = mine.findIndex((i) => !kept.has(i));
      const prefix = cut === -1 ? mine : mine.slice(0, cut);
      expect(mine.filter((i) => kept.has(i))).toEqual(prefix);
    }
    const backups = join(work, '.shardorm', 'backups');
    const dir = readdirSync(backups).filter((d) => d.startsWith('shardorm_example-')).sort().pop()!;
    const manifest = JSON.parse(readFileSync(join(backups, dir, 'manifest.json'), 'utf8'));
    expect(manifest.cluster.epoch).toBe((await original.status()).epoch);
  }, 600_000);

  test('upgrade --json rolls every shard through the manager and has the documented shape; status shows it', async () => {
    const r = await cli(['upgrade', '--json', '--cluster', 'shardorm_example', ...common], { cwd: work });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toEqual({
      cluster: 'shardorm_example', id: expect.stringMatching(/^u\d+$/), state: 'done', wasmHash: expect.stringMatching(/^[0-9a-f]{64}$/), manager: 'unchanged',
      shards: expect.any(Array),
    });
    const shardIds = (await (await ShardedClient.connect({ agent: await owner(), entry })).status()).shards.map((s) => s.canisterId);
    expect(out.shards).toEqual(shardIds.map((canisterId: string) => ({ canisterId, state: 'done', step: 'done', rewritten: 0 })));
    const status = JSON.parse((await cli(['status', '--json', '--cluster', 'shardorm_example', ...common], { cwd: work })).stdout);
    expect(status.upgrade).toMatchObject({ id: out.id, state: 'done', shards: out.shards });
    expect(status.migrations[0]).toMatchObject({ id: out.id, kind: 'upgrade', state: 'done' });
  }, 600_000);

  test('upgrade by an identity that does not control the manager: one line, exit 1', async () => {
    const stranger = writeEd25519Pem(work, 'stranger-upgrade.pem');
    const r = await cli(['upgrade', '--cluster', 'shardorm_example', '--network', server.url, '--identity', stranger], { cwd: work });
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).toMatch(new RegExp(`^shardorm: identity [a-z0-9-]+ does not control ${manager}; pass --identity with a controller's PEM\n$`));
  }, 120_000);

  test('split by an identity that does not control the manager: one line, exit 1', async () => {
    const stranger = writeEd25519Pem(work, 'stranger.pem');
    const r = await cli(['split', entry, '--network', server.url, '--identity', stranger], { cwd: work });
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).toMatch(/^shardorm: (the manager refused the split|identity .* does not control)/);
  });

  test('deploy --manager-canister installs the manager into a canister the user created and funded; it creates shard 0 itself', async () => {
    const agent = await owner();
    const { canister_id: made } = await managementCanister(agent).provisional_create_canister_with_cycles({ amount: [20_000_000_000_000n], settings: [], specified_id: [] });
    const elsewhere = tempDir('manager-canister'); // its own cluster record, beside the file's cluster
    const r = await cli(['deploy', '--json', '--manager-canister', made.toText(), ...common], { cwd: elsewhere });
    expect([r.code, r.stderr]).toEqual([0, '']);
    const out = JSON.parse(r.stdout);
    expect(out.manager).toBe(made.toText());
    expect(out.entry).not.toBe(made.toText()); // shard 0 is a canister the manager created
    const client = await ShardedClient.connect({ agent, entry: Principal.fromText(out.entry) });
    await client.repository(Snippet).insert({ pageId: 'mc', id: '1', body: 'in a user-made manager', owner: await agent.getPrincipal(), createdAt: 0n });
    expect((await client.repository(Snippet).get({ pageId: 'mc', id: '1' }))?.body).toBe('in a user-made manager');
    expect(findCluster({ cwd: elsewhere, network: server.url.replace(/\/$/, '') + '/' }).manager).toBe(made.toText());
  });
});

/** Every row of the cluster, key → body, by a full scan. */
async function allRows(client: ShardedClient): Promise<Map<string, string>> {
  const rows = new Map<string, string>();
  let after: string | undefined;
  do {
    const page = await client.repository(Snippet).scan({ after, limit: 100 });
    for (const r of page.items) rows.set(`${r.pageId}/${r.id}`, r.body);
    after = page.cursor;
  } while (after !== undefined);
  return rows;
}

async function waitFor(client: ShardedClient, done: (s: Awaited<ReturnType<ShardedClient['status']>>) => boolean) {
  const until = Date.now() + MIGRATION_WAIT_MS;
  for (;;) {
    const s = await client.status();
    if (done(s) && s.migrations.every((m) => m.state === 'done' || m.state === 'rolled-back')) return s;
    if (Date.now() > until) throw new Error(`the cluster did not reach the expected shape within ${MIGRATION_WAIT_MS} ms: ${JSON.stringify(s.migrations)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
