// Rolling upgrades through the manager on real canisters (the sample dapp's Azle Wasm on the local
// replica): the manager's chunk store found emptied (as a manager upgrade by dfx leaves it) is
// reported before a shard is created and mended by uploading again; a 3-shard cluster rolled out
// to schema version 2 under 4 writers loses nothing, runs the upgrade hooks on every shard and
// reports the new module everywhere; a roll-out whose Wasm one shard refuses (post_upgrade traps:
// the new module lacks a collection that shard stores) stops at that shard, reports it, and every
// shard keeps serving reads and writes; a stranger cannot start one.
import { Actor } from '@dfinity/agent';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import { Principal } from '@dfinity/principal';
import { bytesToHex } from '@noble/hashes/utils';
import { sha256 } from '@noble/hashes/sha2';
import { ShardedClient } from 'shardorm/client';
import { HistoryRecorder } from 'shardorm/testing';
import { buildAzleCanister } from '../../lib/build/azle.js';
import { CHUNK_STORE_CHUNKS, runUpgrade, type UpgradeResult } from '../../lib/cli/upgrade-run.js';
import { uploadChunks, wasmChunks } from '../../lib/client/deploy.js';
import { managementCanister } from '../../lib/client/management.js';
import { shardKeyHash } from '../../lib/model/entity-keys.js';
import { getEntityMetadata } from '../../lib/model/metadata.js';
import { partitionerFromJSON } from '../../lib/partition/index.js';
import { parseMap } from '../../lib/protocol/candid.js';
import { managerIdlFactory } from '../../lib/protocol/manager-candid.js';
import { Note, SnippetV2 } from '../fixtures/upgrade_v2/models.js';
import { PACE_MS, shardsOf, status } from './fault-run.js';
import { exampleWasm, type CanisterCluster } from './harness.js';
import { deploySeededCluster, everyKey, verifyCluster, Writers } from './writers.js';

let cluster: CanisterCluster;
let recorder: HistoryRecorder;
let v2: Uint8Array;

beforeAll(async () => {
  recorder = new HistoryRecorder();
  v2 = (await buildAzleCanister({ root: `${process.cwd()}/__tests__/fixtures/upgrade_v2`, name: 'upgrade_v2' })).wasm;
  cluster = await deploySeededCluster({ seed: 61, recorder });
}, 600_000);
afterAll(() => cluster?.close());

const agent = () => cluster.replica.createAgent({ identity: cluster.deployer });
const moduleHash = async (id: string) => {
  const st = await cluster.replica.canisterStatus({ canisterId: Principal.fromText(id), sender: cluster.deployer.getPrincipal() });
  return st.moduleHash === null ? "" : bytesToHex(st.moduleHash);
};
/**
 * Runs a roll-out paced by the manager's own timer, every call it sends held back PACE_MS of
 * replica time (as fault-run.ts steps migrations), so the writers run between the steps.
 * `during` counts the writers' operations between start_upgrade and the roll-out's end.
 */
async function roll(wasm: Uint8Array, writers?: Writers): Promise<UpgradeResult & { during: number }> {
  let atStart: number | undefined;
  let atEnd = 0;
  let paced = false;
  const wait = async () => {
    // Armed after start_upgrade answered (it awaits a management call of the manager itself).
    if (!paced) cluster.replica.injectFault({ kind: 'delay', from: cluster.manager.toText(), ms: PACE_MS, times: 1_000_000 });
    paced = true;
    await cluster.replica.advanceTime(PACE_MS);
    await new Promise((r) => setImmediate(r));
  };
  const result = await runUpgrade({
    agent: agent(), manager: cluster.manager, wasm, wait, drive: false,
    onUpload: (done, total) => void (done === total && (atStart = writers?.ops ?? 0)),
    onStatus: (s) => void (s.state !== 'running' && (atEnd = writers?.ops ?? 0)),
  });
  cluster.replica.clearFaults();
  return { ...result, during: atEnd - (atStart ?? 0) };
}

/** `roll` with writers beside it (their calls also make the replica run rounds, so the manager's timer ticks). */
async function rollWithWriters(wasm: Uint8Array, options: { count: number; seed: number }): Promise<UpgradeResult & { during: number }> {
  const writers = new Writers({ agent: agent(), entry: cluster.entry, recorder, owner: cluster.deployer.getPrincipal(), ...options });
  await writers.start();
  try {
    return await roll(wasm, writers);
  } finally {
    await writers.stop();
  }
}

test('a manager whose chunk store was cleared says so before creating a shard; uploading the Wasm again mends it', async () => {
  const management = managementCanister(agent());
  await management.clear_chunk_store({ canister_id: cluster.manager }); // what dfx leaves after upgrading the manager
  const shards = shardsOf(await status(cluster));
  const r = await cluster.managerActor.split_shard({ shard: Principal.fromText(shards[1]), method: [] });
  expect(r).toEqual({ ok: null });
  let error: string | undefined;
  for (let i = 0; i < 20 && error === undefined; i++) {
    await cluster.managerActor.drive();
    const m = (await status(cluster)).migrations[0];
    error = m.last_error[0];
    await cluster.replica.advanceTime(1_000);
  }
  expect(error).toMatch(/chunk store lacks \d+ of the \d+ chunks of the shard Wasm .*upload it again/);
  expect(shardsOf(await status(cluster))).toEqual(shards); // nothing was created

  const wasm = await exampleWasm();
  const chunks = await uploadChunks(management, cluster.manager, wasm, () => undefined, { keep: true });
  expect(await cluster.managerActor.set_shard_wasm({ wasm_hash: sha256(wasm), chunk_hashes: chunks })).toEqual({ ok: null });
  await cluster.settle();
  const after = await status(cluster);
  expect(after.migrations[0]).toMatchObject({ kind: 'split', state: 'done' });
  expect(shardsOf(after)).toHaveLength(3);
}, 600_000);

test('a 3-shard cluster rolled out to schema version 2 under 4 writers: nothing lost, hooks ran everywhere, every shard runs the new module', async () => {
  const shards = shardsOf(await status(cluster));
  expect(shards.length).toBeGreaterThanOrEqual(3);
  const result = await rollWithWriters(v2, { count: 4, seed: 7 });
  expect(result.state).toBe('done');
  expect(result.manager).toBe('upgraded');
  expect(result.shards.map((s) => s.canisterId)).toEqual(shards);
  expect(result.shards.every((s) => s.state === 'done')).toBe(true);
  expect(result.during).toBeGreaterThan(0); // the writers ran while shards were stopped and upgraded
  for (const s of result.shards) expect(s.rewritten).toBeGreaterThan(0); // every shard held seeded v1 rows
  const v2Hash = bytesToHex(sha256(v2));
  for (const id of [...shards, cluster.manager.toText()]) expect(await moduleHash(id)).toBe(v2Hash);
  await verifyCluster({ cluster, agent: agent(), recorder, keys: everyKey() });
  // The hook's field, read through a client that knows version 2 (every row was written by v1 clients).
  const v2Client = await ShardedClient.connect({ agent: agent(), entry: cluster.entry });
  const rows = (await v2Client.repository(SnippetV2).scan({ limit: 100 })).items;
  expect(rows.length).toBeGreaterThan(0);
  for (const row of rows) expect(row.migratedFrom).toBe(1);
  // Status shows the roll-out as a migration of kind 'upgrade'.
  expect((await cluster.client.status()).migrations[0]).toMatchObject({ id: result.id, kind: 'upgrade', state: 'done' });
}, 900_000);

test('a Wasm one shard refuses stops the roll-out at that shard; it is reported and every shard keeps serving', async () => {
  const s = await status(cluster);
  const shards = shardsOf(s);
  const map = partitionerFromJSON(parseMap(s.map));
  // A note on the second shard: the sample dapp's Wasm has no `notes`, so that shard's post_upgrade traps.
  const meta = getEntityMetadata(Note);
  const topic = Array.from({ length: 200 }, (_, i) => `topic-${i}`).find((t) => map.shardFor(shardKeyHash(meta, t).hash) === shards[1])!;
  const notes = (await ShardedClient.connect({ agent: agent(), entry: cluster.entry })).repository(Note);
  await notes.insert(Object.assign(new Note(), { topic, id: 'n1', text: 'kept by the v2 module' }));

  const result = await rollWithWriters(await exampleWasm(), { count: 4, seed: 8 });
  expect(result.state).toBe('failed');
  expect(result.failedShard).toBe(shards[1]);
  expect(result.manager).toBe('skipped');
  expect(result.during).toBeGreaterThan(0);
  expect(result.shards.map((x) => x.state)).toEqual(['done', 'failed', ...shards.slice(2).map(() => 'pending')]);
  expect(result.shards[1].error).toMatch(/upgrade failed: .*stores rows of "notes", which the new module does not declare/);
  expect(await moduleHash(shards[0])).toBe(bytesToHex(sha256(await exampleWasm())));
  for (const id of shards.slice(1)) expect(await moduleHash(id)).toBe(bytesToHex(sha256(v2))); // the refusing shard kept its module

  // Every shard serves (verifyCluster reads every key entering at every shard and checks none is left stopped) and takes writes.
  const more = new Writers({ agent: agent(), entry: cluster.entry, recorder, owner: cluster.deployer.getPrincipal(), count: 2, seed: 9 });
  await more.start();
  await new Promise((r) => setTimeout(r, 2_000));
  await more.stop();
  expect(more.ops).toBeGreaterThan(0);
  await verifyCluster({ cluster, agent: agent(), recorder, keys: everyKey() });
  expect((await notes.get({ topic, id: 'n1' }))?.text).toBe('kept by the v2 module');
  // No migration while the shards run different modules.
  const split = await cluster.managerActor.split_shard({ shard: Principal.fromText(shards[0]), method: [] });
  expect(split.err?.message).toMatch(/roll-out u\d+ failed, so the shards run different modules/);
}, 900_000);

test('a stranger cannot start a roll-out (typed error, nothing changes)', async () => {
  const stranger = cluster.replica.createAgent({ identity: Ed25519KeyIdentity.generate(new Uint8Array(32).fill(99)) });
  const actor = Actor.createActor(managerIdlFactory, { agent: stranger, canisterId: cluster.manager }) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  const before = await cluster.managerActor.upgrade_status();
  const r = await actor.start_upgrade({ wasm_hash: sha256(v2), chunk_hashes: [sha256(v2)] });
  expect(r.err).toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/may not call start_upgrade: only a controller of the manager may/) });
  expect(await cluster.managerActor.upgrade_status()).toEqual(before);
}, 120_000);

test('a full chunk store is emptied between roll-outs: the next roll-out uploads into it, stops only the shards not on it yet, and finishes from the new chunks', async () => {
  // After the failed roll-out above the shards run mixed modules; a roll-out to v2 mends that.
  const management = managementCanister(agent());
  await management.clear_chunk_store({ canister_id: cluster.manager });
  // Junk fills the store (as the chunks of many earlier roll-outs would): v2's chunks are not in it.
  for (let i = 0; i < CHUNK_STORE_CHUNKS; i++) await management.upload_chunk({ canister_id: cluster.manager, chunk: Uint8Array.of(i, 0xfe) });
  expect(await management.stored_chunks({ canister_id: cluster.manager })).toHaveLength(CHUNK_STORE_CHUNKS);
  await expect(management.upload_chunk({ canister_id: cluster.manager, chunk: Uint8Array.of(1, 2, 3) })).rejects.toThrow(/maximum capacity/); // what an upgrade met before

  const onV2Already = [];
  for (const id of shardsOf(await status(cluster))) if ((await moduleHash(id)) === bytesToHex(sha256(v2))) onV2Already.push(id);
  expect(onV2Already.length).toBeGreaterThan(0); // the shards after the one that refused v1
  const stopsBefore = cluster.replica.engine.sentRequests.get('stop_canister')?.calls ?? 0;
  const result = await rollWithWriters(v2, { count: 2, seed: 10 });
  expect(result.state).toBe('done');
  // Only the shards not on v2 yet were stopped and upgraded.
  expect((cluster.replica.engine.sentRequests.get('stop_canister')?.calls ?? 0) - stopsBefore).toBe(shardsOf(await status(cluster)).length - onV2Already.length);
  const v2Chunks = wasmChunks(v2).map((chunk) => bytesToHex(sha256(chunk)));
  const after = (await management.stored_chunks({ canister_id: cluster.manager })).map((c) => bytesToHex(Uint8Array.from(c.hash)));
  expect(after.sort()).toEqual([...new Set(v2Chunks)].sort()); // only the module the cluster now runs
  for (const id of shardsOf(await status(cluster))) expect(await moduleHash(id)).toBe(bytesToHex(sha256(v2)));
  // New shards come from the new chunks: a streamed split installs the store's module.
  const shards = shardsOf(await status(cluster));
  expect(await cluster.managerActor.split_shard({ shard: Principal.fromText(shards[0]), method: ['stream'] })).toEqual({ ok: null });
  await cluster.settle();
  const grown = shardsOf(await status(cluster));
  expect(grown).toHaveLength(shards.length + 1);
  expect(await moduleHash(grown.find((s) => !shards.includes(s))!)).toBe(bytesToHex(sha256(v2)));
  await verifyCluster({ cluster, agent: agent(), recorder, keys: everyKey() });
}, 900_000);
