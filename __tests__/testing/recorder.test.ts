// HistoryRecorder: wraps a MemoryCluster repository or a hand-written fake, records invoke and
// complete events on one logical clock, classifies errors (overridably), and produces JSON that
// round-trips (bigints, Principals, byte arrays) and that the checker accepts or rejects.
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { ConflictError, Field, MemoryCluster, PrimaryKey, RoutingError, ShardedCollection, ShardKey, Version } from 'shardorm';
import { checkLinearizable, HistoryRecorder, historyOps, parseHistory } from 'shardorm/testing';

@ShardedCollection({ name: 'rec_notes' })
class Note {
  @ShardKey @Field(IDL.Principal) owner!: Principal;
  @PrimaryKey @Field(IDL.Nat64) id!: bigint;
  @Field(IDL.Vec(IDL.Nat8)) body!: Uint8Array;
  @Field(IDL.Opt(IDL.Text)) title?: string;
  @Field(IDL.Nat32, { default: 5 }) stars!: number;
  @Version @Field(IDL.Nat64) version!: bigint;
}

const alice = Principal.fromText('aaaaa-aa');
const note = (id: bigint, body: number[]): Note => Object.assign(new Note(), { owner: alice, id, body: Uint8Array.from(body) });

test('records every op of a MemoryCluster repository, and the history round-trips through JSON', async () => {
  const cluster = MemoryCluster.create({ shards: 2 });
  const rec = new HistoryRecorder();
  const a = rec.wrap(cluster.repository(Note), 'a');
  const b = rec.wrap(cluster.repository(Note), 'b');
  await a.insert(note(1n, [1, 2]));
  await expect(b.insert(note(1n, [3]))).rejects.toBeInstanceOf(ConflictError);
  await b.update({ owner: alice, id: 1n }, { title: 'hi' });
  await a.getMany([{ owner: alice, id: 1n }, { owner: alice, id: 2n }]);
  await b.delete({ owner: alice, id: 1n });
  expect(await a.count()).toBe(0);
  expect(a.meta.name).toBe('rec_notes'); // non-recorded members pass through

  const h = rec.history();
  const ops = historyOps(h);
  expect(ops.map((o) => [o.client, o.op, o.outcome])).toEqual([
    ['a', 'insert', 'ok'], ['b', 'insert', 'failed'], ['b', 'update', 'ok'], ['a', 'getMany', 'ok'], ['b', 'delete', 'ok'], ['a', 'count', 'ok'],
  ]);
  expect(h.events.map((e) => e.time)).toEqual(h.events.map((_, i) => i + 1)); // one logical clock
  expect(ops[0].key).toBe('{"id":{"$bigint":"1"},"owner":{"$principal":"aaaaa-aa"}}');
  // The insert is recorded as stored: default applied, unset @Version as 0; the result has version 1.
  expect(ops[0].value).toEqual({ owner: { $principal: 'aaaaa-aa' }, id: { $bigint: '1' }, body: { $bytes: '0102' }, stars: 5, version: { $bigint: '0' } });
  expect(ops[0].result).toMatchObject({ version: { $bigint: '1' } });
  expect(ops[1].error).toMatchObject({ name: 'ConflictError', code: 'CONFLICT' });
  expect(ops[2].value).toEqual({ set: { title: 'hi' }, unset: [] });
  expect(h.collections.rec_notes).toEqual({ keyFields: ['owner', 'id'], versionField: { name: 'version', bigint: true } });

  const again = parseHistory(JSON.stringify(h));
  expect(again).toEqual(h);
  expect(checkLinearizable(again)).toMatchObject({ ok: true, keys: 2 });
});

/** A hand-written fake with the Repository's methods, holding one map; `stale` makes reads lag one write. */
function fakeRepository(stale: boolean) {
  const rows = new Map<bigint, Note>();
  let previous = new Map<bigint, Note>();
  const store = (n: Note, v: bigint): Note => {
    previous = new Map(rows);
    const saved = Object.assign(new Note(), n, { version: v });
    saved.stars ??= 5; // the field's default, as the store applies it
    rows.set(n.id, saved);
    return saved;
  };
  return {
    get: async (k: { owner: Principal; id: bigint }) => (stale ? previous : rows).get(k.id),
    insert: async (n: Note) => {
      if (rows.has(n.id)) throw new ConflictError('exists');
      return store(n, 1n);
    },
    upsert: async (n: Note) => store(n, (rows.get(n.id)?.version ?? 0n) + 1n),
  };
}

test.each([
  [false, true],
  [true, false],
])('a hand-written fake can be wrapped (entity given); stale reads: %s → linearizable: %s', async (stale, linearizable) => {
  const rec = new HistoryRecorder();
  const repo = rec.wrap(fakeRepository(stale), 'c', { entity: Note });
  await repo.insert(note(7n, [1]));
  await repo.upsert(note(7n, [2]));
  await repo.get({ owner: alice, id: 7n });
  const r = checkLinearizable(rec.history());
  expect(r.ok).toBe(linearizable);
});

test('error classification: typed input errors are failed, others unknown, and it can be overridden', async () => {
  const failing = {
    get: async (_key: unknown) => { throw new RoutingError('maps disagree'); },
    upsert: async (_n: Note) => { throw new ConflictError('version'); },
    insert: async (_n: Note) => { throw new Error('app says: quota'); },
  };
  const record = async (rec: HistoryRecorder) => {
    const repo = rec.wrap(failing, 'c', { entity: Note });
    await Promise.allSettled([repo.get({ owner: alice, id: 1n }), repo.upsert(note(1n, [])), repo.insert(note(1n, []))]);
    return historyOps(rec.history()).map((o) => o.outcome);
  };
  expect(await record(new HistoryRecorder())).toEqual(['unknown', 'failed', 'unknown']);
  const custom = new HistoryRecorder({ classifyError: (e) => ((e as Error).message.startsWith('app says') ? 'failed' : 'unknown') });
  expect(await record(custom)).toEqual(['unknown', 'unknown', 'failed']);
});

test('an op still running when the history is taken has no complete event (unknown to the checker)', async () => {
  const rec = new HistoryRecorder();
  let release!: () => void;
  const slow = { get: (_key: unknown) => new Promise<undefined>((r) => (release = () => r(undefined))) };
  const repo = rec.wrap(slow, 'c', { entity: Note });
  const p = repo.get({ owner: alice, id: 1n });
  expect(historyOps(rec.history())[0]).toMatchObject({ outcome: 'unknown' });
  expect(historyOps(rec.history())[0].completedAt).toBeUndefined();
  release();
  await p;
  expect(historyOps(rec.history())[0]).toMatchObject({ outcome: 'ok', completedAt: 2 });
});

test('a key missing a key field is recorded without a key (the repository rejects it; nothing to check)', async () => {
  const rec = new HistoryRecorder();
  const repo = rec.wrap(fakeRepository(false), 'c', { entity: Note });
  await repo.get({ id: 7n } as never);
  expect(historyOps(rec.history())[0].key).toBeUndefined();
  expect(checkLinearizable(rec.history())).toMatchObject({ ok: true, keys: 0 });
});

test('an object without entity metadata is refused with what to pass', () => {
  expect(() => new HistoryRecorder().wrap({ get: async () => undefined }, 'c')).toThrow(/pass \{ entity: YourEntityClass \}/);
});
