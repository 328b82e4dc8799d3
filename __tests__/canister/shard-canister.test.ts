// shardorm/canister on the local replica with real Azle Wasm: two shard_app canisters installed
// with the same two-shard map. Data goes through the generic Candid interface (execute / read)
// from actors without an agent; application methods use repository() and @RoutedBy. Checks
// forwarding (one hop, reads as composite queries), who may call what, stable storage across
// upgrades, bad input answered with typed errors that change nothing, and the prune timer.
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { encodeKeyComponent, hashShardKey, MAX_BATCH_OPS, Reply, RoutedCallIdl, ShardRequestIdl, ShardResponseIdl, type Op } from 'shardorm';
import { RangePartitioner, requestToCandid } from 'shardorm';
import { Note, Snippet } from '../fixtures/shard_app/models.js';
import { admin, alice, initArg, mallory, NO_SETTINGS, opsOf, startShardCluster, stranger, type Actor, type ShardCluster } from './shard-cluster.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
let c: ShardCluster;

beforeAll(async () => {
  c = await startShardCluster(21);
}, 240_000);

afterAll(() => c?.replica.tearDown());

/** The first text key (prefix + i) whose hash the given shard owns. */
function keyOwnedBy(shard: Principal, prefix: string): string {
  for (let i = 0; ; i++) {
    const key = `${prefix}${i}`;
    if (c.map.shardFor(hashShardKey(encodeKeyComponent(IDL.Text, key, 'test'))) === shard.toText()) return key;
  }
}

function note(owner: string, n: bigint, body: string): Note {
  return Object.assign(new Note(), { owner, n, body });
}

async function report(id: Principal): Promise<any> {
  const r = await c.shard(id).shard_report();
  if ('err' in r) throw new Error(r.err.message);
  return r.ok;
}

async function execute(id: Principal, ops: Op[], options: { sender?: Principal; hops?: number; origin?: string } = {}): Promise<any> {
  return c.shard(id, options.sender ?? admin).execute(requestToCandid({ ops, hops: options.hops ?? 0, ...(options.origin ? { origin: options.origin } : {}) }));
}

async function entities(): Promise<[bigint, bigint]> {
  return [(await report(c.a)).entities, (await report(c.b)).entities];
}

describe('data through the generic interface', () => {
  test('a put entering the non-owner is forwarded once and readable from either shard, reads as composite queries', async () => {
    const owner = keyOwnedBy(c.b, 'fwd-');
    const viaA = c.repository(Note, { entry: c.a });
    const viaB = c.repository(Note, { entry: c.b });
    await viaA.insert(note(owner, 1n, 'hello'));
    expect(await entities()).toEqual([0n, 1n]); // stored on the owner only
    expect((await viaA.get({ owner, n: 1n }))?.body).toBe('hello'); // `read` on A forwards to B
    expect((await viaB.get({ owner, n: 1n }))?.body).toBe('hello');
    expect(await viaA.count()).toBe(1); // fan-out: each shard counts what it owns

    // Only members may claim a request was forwarded (hops = 1).
    const [get] = await opsOf(Note, c.map, (r) => r.get({ owner, n: 1n }));
    const reply = await c.shard(c.a).read(requestToCandid({ ops: [get], hops: 1, origin: admin.toText() }));
    expect(reply.err.code).toBe('FORBIDDEN'); // admin is not a member: it may not pose as a forwarding shard
  });

  test('a forged forwarded request from a non-member is refused with FORBIDDEN and changes nothing', async () => {
    const owner = keyOwnedBy(c.a, 'forged-');
    const [put] = await opsOf(Note, c.map, (r) => r.insert(note(owner, 1n, 'forged')));
    const before = await entities();
    const forged = await execute(c.a, [put], { sender: stranger, hops: 1, origin: admin.toText() });
    expect(forged.err.code).toBe('FORBIDDEN');
    // The same write as the stranger itself is refused by the collection's rule (controllers only).
    const direct = await execute(c.a, [put], { sender: stranger });
    expect(direct.ok.results[0].error.code).toBe('ACCESS_DENIED');
    expect(await entities()).toEqual(before);
    expect(await c.repository(Note, { entry: c.b }).get({ owner, n: 1n })).toBeUndefined();
  });
});

describe('forwarding to a stopped owner', () => {
  test('a write or read entering a live shard for a stopped owner answers "retry" and writes nothing', async () => {
    const owner = keyOwnedBy(c.b, 'stopped-');
    const [put] = await opsOf(Note, c.map, (r) => r.insert(note(owner, 1n, 'while stopped')));
    const [get] = await opsOf(Note, c.map, (r) => r.get({ owner, n: 1n }));
    await c.replica.stopCanister({ canisterId: c.b, sender: admin });
    try {
      expect(Object.keys((await execute(c.a, [put])).ok.results[0])).toEqual(['retry']);
      const read = await c.shard(c.a).read(requestToCandid({ ops: [get], hops: 0 }));
      expect(Object.keys(read.ok.results[0])).toEqual(['retry']);
    } finally {
      await c.replica.startCanister({ canisterId: c.b, sender: admin });
    }
    expect(await c.repository(Note, { entry: c.b }).get({ owner, n: 1n })).toBeUndefined();
  });
});

describe('housekeeping', () => {
  const plan = () => ({
    id: 'm-forged', kind: 'split', method: 'stream', source: c.a, target: stranger, start: 1n << 62n, end: 1n << 63n,
    next: JSON.stringify(RangePartitioner.even([c.a.toText(), c.b.toText()]).toJSON()),
  });
  const calls: [string, () => unknown[]][] = [
    ['shard_report', () => []],
    ['split_point', () => []],
    ['prepare_migration', () => [plan()]],
    ['accept_migration', () => [{ ...plan(), target: c.a }]],
    ['apply_rows', () => [{ migration: 'm-forged', rows: [] }]],
    ['apply_delta', () => [{ migration: 'm-forged', entries: [], adopt: [] }]],
    ['copy_batch', () => ['m-forged']],
    ['push_delta', () => ['m-forged']],
    ['cutover', () => ['m-forged']],
    ['abort_migration', () => ['m-forged']],
    ['adopt_map', () => [JSON.stringify({ ...c.map.toJSON(), epoch: 7 })]],
    ['update_settings', () => [{ ...NO_SETTINGS, max_shard_bytes: 1n }]],
    ['drain_cycles', () => []],
  ];

  test.each(calls)('a stranger calling %s gets FORBIDDEN and nothing changes', async (method, args) => {
    const before = [await report(c.a), await report(c.b)];
    const cyclesBefore = (await c.replica.getCyclesBalance(c.a));
    const reply = await c.shard(c.a, stranger)[method](...args());
    expect(reply.err.code).toBe('FORBIDDEN');
    const after = [await report(c.a), await report(c.b)];
    expect(after.map((r) => ({ ...r, cycles: 0n, memory_bytes: 0n }))).toEqual(before.map((r) => ({ ...r, cycles: 0n, memory_bytes: 0n })));
    expect(after[0].migration).toEqual([]);
    expect((await c.replica.getCyclesBalance(c.a)) > cyclesBefore - 10_000_000_000n).toBe(true); // nothing drained
  });

  test('a stranger posing as a forwarding shard for a @RoutedBy call is refused', async () => {
    const arg = new Uint8Array(IDL.encode([IDL.Text, IDL.Text, IDL.Text], ['page', 'x', 'forged']));
    const bytes = await c.replica.updateCall({ canisterId: c.a, method: '__routed', arg: new Uint8Array(IDL.encode([RoutedCallIdl], [{ method: 'addSnippet', arg, origin: alice }])), sender: stranger });
    const [reply] = IDL.decode([Reply(IDL.Vec(IDL.Nat8))], bytes) as any[];
    expect(reply.err.code).toBe('FORBIDDEN');
  });
});

describe('application methods', () => {
  const appIdl: IDL.InterfaceFactory = ({ IDL: I }) => {
    const Where = I.Record({ ran_on: I.Text, caller_before: I.Text, caller_after: I.Text });
    return I.Service({
      addSnippet: I.Func([I.Text, I.Text, I.Text], [Where], []),
      snippetBody: I.Func([I.Text, I.Text], [I.Opt(I.Text)], []),
      overwrite: I.Func([I.Text, I.Text, I.Text], [I.Text], []),
      countSnippets: I.Func([], [I.Nat32], []),
    });
  };
  const app = (id: Principal, sender: Principal): Actor => c.replica.createActor<Actor>(appIdl, id, { sender });

  test('@RoutedBy runs the method on the owner, and caller() is the original caller there, before and after an await', async () => {
    const onB = keyOwnedBy(c.b, 'page-');
    const onA = keyOwnedBy(c.a, 'page-');
    const who = alice.toText();
    expect(await app(c.a, alice).addSnippet(onB, 's1', 'forwarded')).toEqual({ ran_on: c.b.toText(), caller_before: who, caller_after: who });
    expect(await app(c.b, alice).addSnippet(onB, 's2', 'direct')).toEqual({ ran_on: c.b.toText(), caller_before: who, caller_after: who });
    expect(await app(c.b, alice).addSnippet(onA, 's3', 'other way')).toEqual({ ran_on: c.a.toText(), caller_before: who, caller_after: who });
    // The rows were written with alice as owner: the collection's rule saw the original caller.
    const snippets = c.repository(Snippet, { entry: c.a });
    expect((await snippets.get({ pageId: onB, id: 's1' }))?.owner.toText()).toBe(who);
    expect(await app(c.a, mallory).snippetBody(onB, 's1')).toEqual(['forwarded']); // repository() in a method forwards the read
    expect(await app(c.a, alice).countSnippets()).toBe(3);
  });

  test('access rules inside an application method see the original caller, also on the forwarded write', async () => {
    const onB = keyOwnedBy(c.b, 'page-');
    expect(await app(c.a, mallory).overwrite(onB, 's1', 'stolen')).toBe('AccessDeniedError');
    expect(await app(c.a, alice).overwrite(onB, 's1', 'edited')).toBe('written');
    expect(await app(c.b, mallory).snippetBody(onB, 's1')).toEqual(['edited']);
  });
});

describe('bad input gets a typed error and changes nothing', () => {
  test('unknown collection, oversized batch, too many hops, wrong key type, cursor of another collection', async () => {
    const before = await entities();
    const owner = keyOwnedBy(c.a, 'bad-');
    const [get] = await opsOf(Note, c.map, (r) => r.get({ owner, n: 1n }));

    const unknown = await execute(c.a, [{ ...get, collection: 'nope' } as Op]);
    expect(unknown.ok.results[0].error.code).toBe('UNKNOWN_COLLECTION');

    const [put] = await opsOf(Note, c.map, (r) => r.insert(note(owner, 1n, 'ok')));
    expect((await execute(c.a, Array(MAX_BATCH_OPS + 1).fill(put))).err.code).toBe('VALIDATION');
    expect((await execute(c.a, [put], { hops: 2, origin: admin.toText() })).err.code).toBe('VALIDATION');

    // A value whose key field has the wrong Candid type (n: text instead of nat64).
    const wrongType = IDL.Record({ owner: IDL.Text, n: IDL.Text, body: IDL.Text });
    const badValue = new Uint8Array([...(put as any).value.slice(0, 3), ...new Uint8Array(IDL.encode([wrongType], [{ owner, n: '1', body: 'x' }]))]);
    const wrong = await execute(c.a, [{ ...put, value: badValue } as Op]);
    expect(wrong.ok.results[0].error.code).toBe('VALIDATION');
    // Key bytes that are not the value's key.
    const [other] = await opsOf(Note, c.map, (r) => r.insert(note(owner, 2n, 'ok')));
    expect((await execute(c.a, [{ ...put, key: (other as any).key } as Op])).ok.results[0].error.code).toBe('VALIDATION');

    // A cursor from another collection.
    const snippets = c.repository(Snippet, { entry: c.a });
    const [scan] = await opsOf(Note, c.map, (r) => r.scan({ shardKey: owner }));
    const [snippetScan] = await opsOf(Snippet, c.map, (r) => r.scan({ shardKey: owner }));
    const foreignCursor = new Uint8Array([...(snippetScan as any).prefix, 1, 2, 3]);
    const cursor = await execute(c.a, [{ ...scan, after: foreignCursor } as Op]);
    expect(cursor.ok.results[0].error.code).toBe('VALIDATION');
    void snippets;

    expect(await entities()).toEqual(before);
    expect(await c.repository(Note, { entry: c.a }).get({ owner, n: 1n })).toBeUndefined();
  });

  test('malformed Candid is rejected by the decoder before anything runs, and changes nothing', async () => {
    const before = await entities();
    await expect(c.replica.updateCall({ canisterId: c.a, method: 'execute', arg: Uint8Array.of(0x44, 0x49, 0x44, 0x4c, 9, 9, 9) })).rejects.toThrow(/reject code 5/);
    await expect(c.replica.updateCall({ canisterId: c.a, method: 'execute', arg: new Uint8Array(IDL.encode([IDL.Text], ['not a request'])) })).rejects.toThrow(/reject code 5/);
    expect(await entities()).toEqual(before);
  });

  test('a request encoded with another type table (a wider record, as another client may send) is served', async () => {
    const wider = IDL.Record({ ...Object.fromEntries((ShardRequestIdl as IDL.RecordClass)._fields), client: IDL.Text });
    const arg = new Uint8Array(IDL.encode([wider], [{ ...requestToCandid({ ops: [{ kind: 'count', collection: 'notes' }], hops: 0 }), client: 'rust' }]));
    const [reply] = IDL.decode([Reply(ShardResponseIdl)], await c.replica.updateCall({ canisterId: c.a, method: 'execute', arg: arg, sender: admin })) as any[];
    expect(Object.keys(reply.ok.results[0])).toEqual(['count']);
  });
});

describe('stable storage', () => {
  test('rows survive an upgrade of both shards; the persisted map wins over the argument', async () => {
    const owner = keyOwnedBy(c.a, 'kept-');
    const notes = c.repository(Note, { entry: c.b });
    await notes.insert(note(owner, 1n, 'survives'));
    const before = await entities();
    const otherMap = RangePartitioner.even([c.b.toText(), c.a.toText()]);
    for (const id of [c.a, c.b]) await c.replica.upgradeCanister({ canisterId: id, wasm: c.wasm, arg: initArg(otherMap), sender: admin });
    expect(await entities()).toEqual(before);
    expect((await notes.get({ owner, n: 1n }))?.body).toBe('survives');
    expect((await report(c.a)).start).toBe(0n); // a still owns the lower half
  });
});

test('a canister installed without an argument is a single-shard cluster owning the whole range', async () => {
  const solo = await c.replica.createCanister({ controllers: [admin], sender: admin });
  await c.replica.installCode({ canisterId: solo, wasm: c.wasm, sender: admin });
  const r = await report(solo);
  expect([r.start, r.end, r.epoch]).toEqual([0n, 1n << 64n, 0n]);
  const notes = c.repository(Note, { entry: solo });
  void notes;
  const [put] = await opsOf(Note, RangePartitioner.even([solo.toText()]), (x) => x.insert(note('anyone', 1n, 'solo')));
  expect(Object.keys((await execute(solo, [put])).ok.results[0])).toEqual(['value']);
  expect((await report(solo)).entities).toBe(1n);
});

test('after a map change, the maintenance timer prunes the rows a shard no longer owns', async () => {
  const rowsOnB = (await report(c.b)).entities;
  expect(rowsOnB).toBeGreaterThan(0n);
  // A controller hands all of B's range to A (as the manager's announcement would after a merge).
  const next = RangePartitioner.fromJSON({ ...RangePartitioner.even([c.a.toText()]).toJSON(), epoch: c.map.epoch + 1 } as any);
  expect((await c.shard(c.b).adopt_map(JSON.stringify(next.toJSON()))).ok).toBe(true);
  expect((await report(c.b)).entities).toBe(0n); // the report counts the owned range; the rows are still stored
  await c.replica.advanceTime(11_000);
  for (let i = 0; i < 20; i++) await c.replica.tick();
  // Given its old range back, B would see its old rows again had they not been pruned.
  const back = RangePartitioner.fromJSON({ ...c.map.toJSON(), epoch: c.map.epoch + 2 } as any);
  expect((await c.shard(c.b).adopt_map(JSON.stringify(back.toJSON()))).ok).toBe(true);
  expect((await report(c.b)).entities).toBe(0n);
  // And A's again (B's map moves on; A keeps the old one).
  const again = RangePartitioner.fromJSON({ ...RangePartitioner.even([c.a.toText()]).toJSON(), epoch: c.map.epoch + 3 } as any);
  expect((await c.shard(c.b).adopt_map(JSON.stringify(again.toJSON()))).ok).toBe(true);

  // A still has the old map, B the new one: a request is forwarded once and then answers "moved"
  // with the newer epoch and where to get it — never a second hop.
  const owner = keyOwnedBy(c.b, 'moved-');
  const [put] = await opsOf(Note, c.map, (r) => r.insert(note(owner, 1n, 'x')));
  const moved = (await execute(c.a, [put])).ok;
  expect([Object.keys(moved.results[0]), moved.epoch, moved.newer_at[0].toText()]).toEqual([['moved'], BigInt(c.map.epoch + 3), c.b.toText()]);
  // The same for a @RoutedBy call: B refuses to run (or forward) a method for a key it does not own.
  const appArg = new Uint8Array(IDL.encode([IDL.Text, IDL.Text, IDL.Text], [keyOwnedBy(c.b, 'page-moved-'), 'id', 'body']));
  await expect(c.replica.updateCall({ canisterId: c.a, method: 'addSnippet', arg: appArg, sender: alice })).rejects.toThrow(/does not own the key/);
});

test('a member that missed an announcement refuses a newer shard it does not know: the op is retried, never an unknown outcome', async () => {
  // N joined at a newer epoch taking B's half; A (still on its old map) has never heard of it.
  const n = await c.replica.createCanister({ controllers: [admin], sender: admin });
  const newer = RangePartitioner.fromJSON({ ...RangePartitioner.even([c.a.toText(), n.toText()]).toJSON(), epoch: c.map.epoch + 10 } as any);
  await c.replica.installCode({ canisterId: n, wasm: c.wasm, arg: initArg(newer), sender: admin });
  const owner = keyOwnedBy(c.a, 'stale-');
  const [put] = await opsOf(Note, newer, (r) => r.insert(note(owner, 1n, 'late')));
  const [get] = await opsOf(Note, newer, (r) => r.get({ owner, n: 1n }));
  const before = (await report(c.a)).entities;
  const refused = (await execute(n, [put, get])).ok.results.map((r: any) => Object.keys(r)[0]);
  expect(refused).toEqual(['retry', 'retry']); // A ran nothing: safe to retry
  expect((await report(c.a)).entities).toBe(before);
  // Once A has the map (the manager re-announces to shards reporting an older epoch), the retry succeeds.
  expect((await c.shard(c.a).adopt_map(JSON.stringify(newer.toJSON()))).ok).toBe(true);
  expect(Object.keys((await execute(n, [put])).ok.results[0])).toEqual(['value']);
  expect((await report(c.a)).entities).toBe(before + 1n);
});
