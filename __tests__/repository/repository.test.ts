import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import {
  ConflictError,
  Field,
  Index,
  MemoryCluster,
  PayloadTooLargeError,
  PrimaryKey,
  ShardedCollection,
  ShardKey,
  UnknownCollectionError,
  ValidationError,
  Version,
  rowAddress,
  getEntityMetadata,
  fromWireError,
  type WireError,
} from 'shardorm';

@ShardedCollection({ name: 'repo_snippets' })
class Snippet {
  @ShardKey @Field(IDL.Text) pageId!: string;
  @PrimaryKey @Field(IDL.Text) id!: string;
  @Field(IDL.Text) body!: string;
  @Index @Field(IDL.Principal) owner!: Principal;
  @Field(IDL.Opt(IDL.Nat64)) editedAt?: bigint;
  @Version @Field(IDL.Nat64) version!: bigint;

  preview(): string {
    return `${this.pageId}/${this.id}: ${this.body.slice(0, 10)}`;
  }
}

@ShardedCollection({ name: 'repo_users' })
class User {
  @ShardKey @Field(IDL.Text) userId!: string;
  @Field(IDL.Text) name!: string;
}

const alice = Principal.fromText('aaaaa-aa');
const bob = Principal.fromUint8Array(new Uint8Array([1, 2, 3]));

function snippet(pageId: string, id: string, body = 'hello', owner = alice): Snippet {
  return Object.assign(new Snippet(), { pageId, id, body, owner });
}

describe('Repository over a MemoryCluster', () => {
  it('insert, get, getMany, upsert, update, delete with real instances', async () => {
    const cluster = MemoryCluster.create({ shards: 3 });
    const repo = cluster.repository(Snippet);
    const stored = await repo.insert(snippet('p1', 'a'));
    expect(stored).toBeInstanceOf(Snippet);
    expect(stored.version).toBe(1n);
    expect(stored.editedAt).toBeUndefined();

    const got = await repo.get({ pageId: 'p1', id: 'a' });
    expect(got).toBeInstanceOf(Snippet);
    expect(got?.preview()).toBe('p1/a: hello');
    expect(got?.owner.toText()).toBe(alice.toText());
    expect(await repo.get({ pageId: 'p1', id: 'missing' })).toBeUndefined();

    await expect(repo.insert(snippet('p1', 'a'))).rejects.toThrow(ConflictError);
    await expect(repo.insert(snippet('p1', 'a'))).rejects.toThrow(/already exists: use upsert/);

    const up = await repo.upsert(Object.assign(snippet('p1', 'a', 'second'), { version: 1n }));
    expect(up.version).toBe(2n);
    const updated = await repo.update({ pageId: 'p1', id: 'a' }, { body: 'third', editedAt: 5n });
    expect(updated?.body).toBe('third');
    expect(updated?.editedAt).toBe(5n);
    expect(updated?.version).toBe(3n);
    expect(await repo.update({ pageId: 'p1', id: 'nope' }, { body: 'x' })).toBeUndefined();

    await repo.insert(snippet('p2', 'b'));
    const many = await repo.getMany([{ pageId: 'p2', id: 'b' }, { pageId: 'x', id: 'y' }, { pageId: 'p1', id: 'a' }]);
    expect(many.map((s) => s?.body)).toEqual(['hello', undefined, 'third']);

    expect(await repo.delete({ pageId: 'p1', id: 'a' })).toBe(true);
    expect(await repo.delete({ pageId: 'p1', id: 'a' })).toBe(false);
    expect(await repo.get({ pageId: 'p1', id: 'a' })).toBeUndefined();
    expect(await repo.count()).toBe(1);
  });

  it('optimistic concurrency with @Version', async () => {
    const repo = MemoryCluster.create().repository(Snippet);
    await repo.insert(snippet('p', 'v'));
    const key = { pageId: 'p', id: 'v' };
    await expect(repo.update(key, { body: 'x', version: 7n })).rejects.toThrow(ConflictError);
    await expect(repo.update(key, { body: 'x', version: 7n })).rejects.toThrow(/at version 1, not 7/);
    expect((await repo.update(key, { body: 'x', version: 1n }))?.version).toBe(2n);
    await expect(repo.upsert(Object.assign(snippet('p', 'v'), { version: 1n }))).rejects.toThrow(ConflictError);
    expect((await repo.get(key))?.body).toBe('x'); // a rejected write changes nothing
    expect((await repo.upsert(snippet('p', 'v', 'blind')))?.version).toBe(3n); // version 0/unset: unconditional
  });

  it('scalar keys when the shard key is the whole key', async () => {
    const repo = MemoryCluster.create({ shards: 2 }).repository(User);
    await repo.insert(Object.assign(new User(), { userId: 'u1', name: 'Ann' }));
    expect((await repo.get('u1'))?.name).toBe('Ann');
    expect((await repo.get({ userId: 'u1' }))?.name).toBe('Ann');
    await expect(repo.get(42)).rejects.toThrow(ValidationError);
    await expect(repo.get(42)).rejects.toThrow(/User\.userId: key field expects text, got 42 \(number\)/);
  });

  it('scan with a shard key, across shards, with cursors in key order', async () => {
    const cluster = MemoryCluster.create({ shards: 4 });
    const repo = cluster.repository(Snippet);
    for (let p = 0; p < 5; p++) for (let i = 0; i < 7; i++) await repo.insert(snippet(`page${p}`, `id${String(i).padStart(2, '0')}`));
    const page3: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await repo.scan({ shardKey: 'page3', after: cursor, limit: 3 });
      page3.push(...page.items.map((s) => s.id));
      cursor = page.cursor;
    } while (cursor !== undefined);
    expect(page3).toEqual(['id00', 'id01', 'id02', 'id03', 'id04', 'id05', 'id06']);

    const all: Snippet[] = [];
    cursor = undefined;
    do {
      const page = await repo.scan({ after: cursor, limit: 4 });
      all.push(...page.items);
      cursor = page.cursor;
    } while (cursor !== undefined);
    expect(all).toHaveLength(35);
    const meta = getEntityMetadata(Snippet);
    const keys = all.map((s) => Buffer.from(rowAddress(meta, s).key).toString('hex'));
    expect([...keys].sort()).toEqual(keys); // storage-key order
    expect(new Set(keys).size).toBe(35);
    expect(await repo.count()).toBe(35);
    await expect(repo.scan({ limit: 0 })).rejects.toThrow(/limit 0 must be an integer/);
    for (const bad of ['c1.0g', 'c1.+f', 'c1. 1', 'x1.00']) await expect(repo.scan({ after: bad })).rejects.toThrow(/malformed cursor/);
    const { cursor: first } = await repo.scan({ limit: 1 });
    expect((await repo.scan({ after: first!.toUpperCase().replace('C1.', 'c1.'), limit: 1 })).items).toHaveLength(1); // hex case does not matter
    await expect(repo.scan({ shardKey: 'page1', after: cursor ?? (await repo.scan({ shardKey: 'page2', limit: 1 })).cursor }))
      .rejects.toThrow(/cursor belongs to another scan/);
  });

  it('find through a secondary index local to a shard key, kept up to date on update and delete', async () => {
    const repo = MemoryCluster.create({ shards: 2 }).repository(Snippet);
    await repo.insert(snippet('p', 'a', 'x', alice));
    await repo.insert(snippet('p', 'b', 'x', bob));
    await repo.insert(snippet('p', 'c', 'x', alice));
    await repo.insert(snippet('q', 'd', 'x', alice));
    const ids = async () => (await repo.find('owner', alice, { shardKey: 'p' })).items.map((s) => s.id);
    expect(await ids()).toEqual(['a', 'c']);
    await repo.update({ pageId: 'p', id: 'b' }, { owner: alice });
    expect(await ids()).toEqual(['a', 'b', 'c']);
    await repo.update({ pageId: 'p', id: 'a' }, { owner: bob });
    await repo.delete({ pageId: 'p', id: 'c' });
    expect(await ids()).toEqual(['b']);
    const first = await repo.find('owner', alice, { shardKey: 'q', limit: 1 });
    expect(first.items.map((s) => s.id)).toEqual(['d']);
    await expect(repo.find('nope', alice, { shardKey: 'p' })).rejects.toThrow(/no index "nope" \(indexes: owner\)/);
    await expect(repo.find('owner', alice, {} as never)).rejects.toThrow(/needs \{ shardKey \}/);
  });

  it('typed errors: payload too large, unknown collection, invalid values change nothing', async () => {
    const cluster = MemoryCluster.create({ shards: 2, maxEntityBytes: 4096 });
    const repo = cluster.repository(Snippet);
    await expect(repo.insert(snippet('p', 'big', 'x'.repeat(5000)))).rejects.toThrow(PayloadTooLargeError);
    await repo.insert(snippet('p', 'ok'));
    await expect(repo.update({ pageId: 'p', id: 'ok' }, { body: 'x'.repeat(5000) })).rejects.toThrow(PayloadTooLargeError);
    await expect(repo.insert(Object.assign(snippet('p', 'bad'), { body: 3 }))).rejects.toThrow(/Snippet\.body expects text/);
    expect((await repo.get({ pageId: 'p', id: 'ok' }))?.body).toBe('hello');
    expect(await repo.count()).toBe(1);

    // A shard that does not know a collection answers UNKNOWN_COLLECTION; the client rebuilds the class.
    const node = cluster.shardNodes()[0];
    const res = await node.handle({ ops: [{ kind: 'get', collection: 'repo_nobody', hash: 1n, key: new Uint8Array([1]) }], hops: 0 }, 'aaaaa-aa');
    const r = res.results[0];
    expect(r).toMatchObject({ kind: 'error', error: { code: 'UNKNOWN_COLLECTION' } });
    const err = fromWireError((r as { error: WireError }).error);
    expect(err).toBeInstanceOf(UnknownCollectionError);
    expect(err.message).toMatch(/unknown collection "repo_nobody": register its entity class/);
  });

  it('rejects a forged put whose value does not match its key', async () => {
    const cluster = MemoryCluster.create();
    cluster.repository(Snippet);
    const meta = getEntityMetadata(Snippet);
    const { codecFor } = await import('shardorm');
    const value = codecFor(meta).encode({ ...snippet('p', 'real'), version: 0n });
    const addr = rowAddress(meta, { pageId: 'p', id: 'forged' });
    const node = cluster.shardNodes()[0];
    const res = await node.handle({ ops: [{ kind: 'put', collection: meta.name, hash: addr.hash, key: addr.key, value, mode: 'upsert' }], hops: 0 }, 'aaaaa-aa');
    expect(res.results[0]).toMatchObject({ kind: 'error', error: { code: 'VALIDATION' } });
    expect(node.kv.size()).toBe(0);
    const junk = await node.handle({ ops: [{ kind: 'put', collection: meta.name, hash: addr.hash, key: addr.key, value: new Uint8Array([1, 0, 1, 9, 9]), mode: 'upsert' }], hops: 0 }, 'aaaaa-aa');
    expect(junk.results[0]).toMatchObject({ kind: 'error', error: { code: 'VALIDATION' } });
    await cluster.repository(Snippet).insert(snippet('p', 'forged'));
    const badPatch = await node.handle({ ops: [{ kind: 'update', collection: meta.name, hash: addr.hash, key: addr.key, patch: new Uint8Array([68, 73, 68, 76, 0]) }], hops: 0 }, 'aaaaa-aa');
    expect(badPatch.results[0]).toMatchObject({ kind: 'error', error: { code: 'VALIDATION' } });
    expect(node.kv.size()).toBe(2); // the row and its index entry, unchanged
    // A stored value that no longer decodes: delete fails before it removes anything (each op is atomic).
    node.kv.set(addr.key, new Uint8Array([1, 0, 1, 9, 9]));
    const del = await node.handle({ ops: [{ kind: 'delete', collection: meta.name, hash: addr.hash, key: addr.key }], hops: 0 }, 'aaaaa-aa');
    expect(del.results[0]).toMatchObject({ kind: 'error', error: { code: 'VALIDATION' } });
    expect(node.kv.size()).toBe(2);
  });
});
