// A split run by hand through the housekeeping methods of real Azle shards on the local replica,
// the way the manager will drive it (a controller plays the manager): streamed copy, then
// snapshot clone — the target is loaded with the source's snapshot (its heap still holds the
// source's node) and catches up from the delta log. Writes made during each split are kept, every
// key stays readable from any entry shard, after pruning no row is stored twice, and a canister
// that is not a member cannot feed the target or forge a forward.
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { join } from 'node:path';
import { AckIdl, getEntityMetadata, RangePartitioner, Reply, requestToCandid, rowAddress, RowsBatchIdl, ShardRequestIdl, ShardResponseIdl } from 'shardorm';
import { buildAzleCanister } from '../../lib/build/azle.js';
import { Note } from '../fixtures/shard_app/models.js';
import { admin, initArg, opsOf, startShardCluster, type ShardCluster } from './shard-cluster.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
let c: ShardCluster;
let stubWasm: Uint8Array;
const ROWS = 40;
/** Every row written so far: owner → body. */
const rows = new Map(Array.from({ length: ROWS }, (_, i) => [`owner-${i}`, `owner-${i} v1`]));

beforeAll(async () => {
  c = await startShardCluster(33);
  stubWasm = (await buildAzleCanister({ root: join(process.cwd(), '__tests__/fixtures/manager_stub'), name: 'manager_stub' })).wasm;
  const notes = c.repository(Note, { entry: c.a });
  for (const [owner, body] of rows) await notes.insert(Object.assign(new Note(), { owner, n: 1n, body }));
}, 240_000);

afterAll(() => c?.replica.close());

async function ok(promise: Promise<any>): Promise<any> {
  const reply = await promise;
  if ('err' in reply) throw new Error(`${reply.err.code}: ${reply.err.message}`);
  return reply.ok;
}

const hashOf = (owner: string) => rowAddress(getEntityMetadata(Note), { owner, n: 1n }).hash;

/** An owner (not yet used) whose hash lies in [start, end). */
function freshOwnerIn(start: bigint, end: bigint, tag: string): string {
  for (let i = 0; ; i++) {
    const owner = `${tag}-${i}`;
    const h = hashOf(owner);
    if (h >= start && h < end) return owner;
  }
}

async function planFor(source: Principal, target: Principal, method: 'stream' | 'snapshot', id: string, map: RangePartitioner) {
  const mid = (await ok(c.shard(source).split_point()))[0] as bigint;
  const range = map.rangeOf(source.toText());
  expect(mid > range.start && mid < range.end).toBe(true);
  const next = map.split(source.toText(), mid, target.toText());
  return { next, plan: { id, kind: 'split', method, source, target, start: mid, end: range.end, next: JSON.stringify(next.toJSON()) } };
}

/** `from` (a canister) calls `method` on `to` with raw Candid; the decoded `variant { ok; err }`. */
async function forgedCall(from: Principal, to: Principal, method: string, arg: ArrayBuffer | Uint8Array, ok: IDL.Type): Promise<any> {
  const raw = await c.replica.updateCall(from, 'callRaw', new Uint8Array(IDL.encode([IDL.Principal, IDL.Text, IDL.Vec(IDL.Nat8)], [to, method, new Uint8Array(arg)])));
  const [bytes] = IDL.decode([IDL.Vec(IDL.Nat8)], raw) as unknown as [Uint8Array];
  return IDL.decode([Reply(ok)], bytes)[0];
}

async function drainDelta(source: Principal, id: string): Promise<void> {
  for (let i = 0; i < 16 && (await ok(c.shard(source).push_delta(id))) > 0n; i++);
}

async function storedRows(ids: Principal[]): Promise<bigint> {
  await c.replica.advanceTime(11_000); // the maintenance timer prunes what each shard no longer owns
  for (let i = 0; i < 30; i++) await c.replica.tick();
  let total = 0n;
  for (const id of ids) total += (await ok(c.shard(id).shard_report())).entities;
  return total;
}

let map: RangePartitioner;
let t1: Principal;

test('streamed split: rows copied through apply_rows, a write during the split kept, cutover hands the range over', async () => {
  map = c.map;
  t1 = await c.replica.createCanister({ controllers: [admin], sender: admin });
  await c.replica.installCode({ canisterId: t1, wasm: c.wasm, arg: initArg(map), sender: admin }); // owns nothing yet
  const { next, plan } = await planFor(c.b, t1, 'stream', 's1', map);
  await ok(c.shard(c.b).prepare_migration(plan));
  await ok(c.shard(t1).accept_migration(plan));
  const during = freshOwnerIn(plan.start, plan.end, 'during-s1');
  await c.repository(Note, { entry: c.a }).insert(Object.assign(new Note(), { owner: during, n: 1n, body: 'written during the copy' }));
  expect((await ok(c.shard(c.b).shard_report())).migration[0]).toMatchObject({ id: 's1', role: 'source', fenced: false });

  // A canister that is not a member — a forged "new node" — can neither feed the target nor
  // pose as a forwarding shard; nothing changes.
  const forger = await c.replica.setupCanister({ wasm: stubWasm, controllers: [admin], sender: admin });
  const forgedKey = rowAddress(getEntityMetadata(Note), { owner: freshOwnerIn(plan.start, plan.end, 'forged'), n: 1n }).key;
  const rowsArg = IDL.encode([RowsBatchIdl], [{ migration: 's1', rows: [[forgedKey, Uint8Array.of(1, 2, 3)]] }]);
  expect((await forgedCall(forger, t1, 'apply_rows', rowsArg, AckIdl)).err.code).toBe('FORBIDDEN');
  const [put] = await opsOf(Note, map, (r) => r.insert(Object.assign(new Note(), { owner: 'forged', n: 1n, body: 'x' })));
  const forwardArg = IDL.encode([ShardRequestIdl], [requestToCandid({ ops: [put], hops: 1, origin: admin.toText() })]);
  expect((await forgedCall(forger, c.a, 'execute', forwardArg, ShardResponseIdl)).err.code).toBe('FORBIDDEN');
  expect((await ok(c.shard(t1).shard_report())).entities).toBe(0n);

  let copied = 0;
  for (let i = 0; i < 16; i++) {
    const progress = await ok(c.shard(c.b).copy_batch('s1'));
    copied += progress.rows;
    if (progress.done) break;
  }
  expect(copied).toBeGreaterThan(0);
  await drainDelta(c.b, 's1');
  expect(await ok(c.shard(c.b).cutover('s1'))).toEqual({ done: null });
  expect(await ok(c.shard(c.b).cutover('s1'))).toEqual({ done: null }); // a retried cutover is answered, not repeated
  expect(await ok(c.shard(c.a).adopt_map(JSON.stringify(next.toJSON())))).toBe(true); // the announcement

  const r = await ok(c.shard(t1).shard_report());
  expect([r.start, r.end, r.epoch]).toEqual([plan.start, plan.end, 1n]);
  map = next;
  for (const entry of [c.a, c.b, t1]) {
    const notes = c.repository(Note, { entry });
    for (const [owner, body] of rows) expect((await notes.get({ owner, n: 1n }))?.body).toBe(body);
    expect((await notes.get({ owner: during, n: 1n }))?.body).toBe('written during the copy');
  }
  expect(await storedRows([c.a, c.b, t1])).toBe(BigInt(ROWS + 1)); // pruned: no row twice
  rows.set(during, 'written during the copy');
});

test('snapshot split: the target is a loaded snapshot of the source and catches up from the delta log', async () => {
  const t2 = await c.replica.createCanister({ controllers: [admin], sender: admin });
  const { next, plan } = await planFor(c.a, t2, 'snapshot', 's2', map);
  await ok(c.shard(c.a).prepare_migration(plan));
  await c.replica.stopCanister(c.a, { sender: admin });
  const [snap] = (await c.replica.callManagement('take_canister_snapshot', { canister_id: c.a, replace_snapshot: [], uninstall_code: [] }, admin, c.a)) as { id: Uint8Array }[];
  await c.replica.startCanister(c.a, { sender: admin });
  // Written after the snapshot: only the delta log carries it to the target.
  const during = freshOwnerIn(plan.start, plan.end, 'during-s2');
  await c.repository(Note, { entry: c.b }).insert(Object.assign(new Note(), { owner: during, n: 1n, body: 'written after the snapshot' }));
  await c.replica.stopCanister(t2, { sender: admin });
  await c.replica.checkpoint(); // the IC's rule: a snapshot of a canister that ran messages loads elsewhere only after a checkpoint
  await c.replica.callManagement('load_canister_snapshot', { canister_id: t2, snapshot_id: snap.id, sender_canister_version: [] }, admin, t2);
  await c.replica.startCanister(t2, { sender: admin });

  // A query first (it cannot set timers, nor keep the rebuilt node): t2 already answers as itself.
  expect((await ok(c.shard(t2).shard_report())).shard.toText()).toBe(t2.toText());
  await ok(c.shard(t2).accept_migration(plan)); // t2 knows it is t2, not the source whose heap it holds
  await drainDelta(c.a, 's2');
  expect(await ok(c.shard(c.a).cutover('s2'))).toEqual({ done: null });
  for (const id of [c.b, t1]) expect(await ok(c.shard(id).adopt_map(JSON.stringify(next.toJSON())))).toBe(true);

  const r = await ok(c.shard(t2).shard_report());
  expect([r.shard.toText(), r.start, r.end, r.epoch]).toEqual([t2.toText(), plan.start, plan.end, 2n]);
  for (const entry of [c.a, c.b, t1, t2]) {
    const notes = c.repository(Note, { entry });
    for (const [owner, body] of rows) expect((await notes.get({ owner, n: 1n }))?.body).toBe(body);
    expect((await notes.get({ owner: during, n: 1n }))?.body).toBe('written after the snapshot');
  }
  expect(await c.repository(Note, { entry: t2 }).count()).toBe(ROWS + 2);
  expect(await storedRows([c.a, c.b, t1, t2])).toBe(BigInt(ROWS + 2));
});
