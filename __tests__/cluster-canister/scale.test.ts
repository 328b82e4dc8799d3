// Scale on real canisters: one shard grows to at least 8 under continuous writes (a small
// maxShardBytes; the manager splits on its own from the shards' reports, the test only ticks it),
// then shrinks to at most 2 after deletes (minShardBytes: streamed merges; each emptied canister
// returns its cycles to the manager with drain_cycles and is stopped and deleted). Every row is
// verified at each stage.
import { Principal } from '@dfinity/principal';
import { Snippet } from '../../example-app/src/models.js';
import { shardsOf, status } from './fault-run.js';
import { deployExampleCluster, type CanisterCluster } from './harness.js';

/** Logical bytes above which a shard splits, and below which two neighbours merge. */
const MAX_SHARD_BYTES = 16 * 1024;
const MIN_SHARD_BYTES = 4 * 1024;
/** Rows written per round between manager ticks, and the most rounds the growth may take. */
const ROWS_PER_ROUND = 8;
const MAX_ROUNDS = 120;
const BODY = 'x'.repeat(500);

let cluster: CanisterCluster;
beforeAll(async () => {
  cluster = await deployExampleCluster({ seed: 41, maxShardBytes: MAX_SHARD_BYTES, minShardBytes: MIN_SHARD_BYTES });
}, 300_000);
afterAll(() => cluster?.close());

const key = (i: number) => ({ pageId: `pg-${i}`, id: `r${i}` });
const row = (i: number) => Object.assign(new Snippet(), { ...key(i), body: `${i} ${BODY}`, owner: cluster.deployer.getPrincipal(), createdAt: BigInt(i) });

/** One manager tick and a second of replica time (splits wait out backoffs and the checkpoint rule). */
async function tick(): Promise<void> {
  const r = await cluster.managerActor.drive();
  if ('err' in r) throw new Error(r.err.message);
  await cluster.replica.advanceTime(1_000);
  await cluster.replica.runUntilIdle();
}

async function verify(live: Set<number>, gone: Set<number>): Promise<void> {
  const snippets = cluster.client.repository(Snippet);
  const wanted = [...live];
  const got = await snippets.getMany(wanted.map(key));
  const missing = wanted.filter((i, j) => got[j]?.body !== `${i} ${BODY}`);
  expect(missing).toEqual([]);
  const deleted = [...gone];
  const back = (await snippets.getMany(deleted.map(key))).filter((r) => r !== undefined);
  expect(back).toEqual([]);
  expect(await snippets.count()).toBe(live.size);
}

const live = new Set<number>();
const gone = new Set<number>();
let grownTo: string[] = [];

test('one shard grows to at least 8 under continuous writes; every row reads back at each size', async () => {
  const snippets = cluster.client.repository(Snippet);
  let next = 0;
  let sizeSeen = 1;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const batch = Array.from({ length: ROWS_PER_ROUND }, () => next++);
    await snippets.upsertMany(batch.map(row));
    batch.forEach((i) => live.add(i));
    await tick();
    const shards = shardsOf(await status(cluster)).length;
    if (shards > sizeSeen) {
      sizeSeen = shards;
      if (process.env.SHARDORM_TRACE === '1') process.stderr.write(`[scale] ${shards} shards after ${live.size} rows\n`);
      await verify(live, gone); // all data verified at each stage
    }
    if (shards >= 8) break;
  }
  await cluster.settle();
  const s = await status(cluster);
  grownTo = shardsOf(s);
  expect(grownTo.length).toBeGreaterThanOrEqual(8);
  const unfinished = s.migrations.filter((m: { kind: string; state: string }) => m.kind === 'split' && m.state !== 'done');
  expect(unfinished.map((m: { id: string; state: string; last_error: string[] }) => `${m.id} ${m.state}: ${m.last_error[0]}`)).toEqual([]);
  await verify(live, gone);
}, 900_000);

test('after deletes it shrinks to at most 2 by merges; emptied canisters are deleted and their cycles return to the manager', async () => {
  expect(grownTo.length).toBeGreaterThanOrEqual(8);
  const snippets = cluster.client.repository(Snippet);
  const keep = [...live].slice(0, 4);
  const drop = [...live].filter((i) => !keep.includes(i));
  for (let at = 0; at < drop.length; at += 50) await snippets.deleteMany(drop.slice(at, at + 50).map(key));
  drop.forEach((i) => (live.delete(i), gone.add(i)));
  await verify(live, gone);
  const cyclesBefore = await cluster.replica.getCyclesBalance(cluster.manager);
  let shards = grownTo;
  for (let i = 0; i < 40 && shards.length > 2; i++) {
    await cluster.settle();
    shards = shardsOf(await status(cluster));
    await verify(live, gone);
  }
  expect(shards.length).toBeLessThanOrEqual(2);
  const s = await status(cluster);
  const merges = s.migrations.filter((m: { kind: string }) => m.kind === 'merge');
  expect(merges.length).toBeGreaterThanOrEqual(grownTo.length - 2);
  expect(merges.every((m: { state: string; method: string }) => m.state === 'done' && m.method === 'stream')).toBe(true);
  const removed = grownTo.filter((id) => !shards.includes(id));
  for (const id of removed) expect(cluster.replica.canister(Principal.fromText(id))?.deleted ?? true).toBe(true);
  expect(await cluster.replica.getCyclesBalance(cluster.manager)).toBeGreaterThan(cyclesBefore);
  await verify(live, gone);
}, 900_000);
