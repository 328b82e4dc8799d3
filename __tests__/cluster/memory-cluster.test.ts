import { IDL } from '@dfinity/candid';
import {
  Field,
  getEntityMetadata,
  hashOfStorageKey,
  Index,
  MemoryCluster,
  PrimaryKey,
  RangePartitioner,
  rowAddress,
  routeOp,
  ShardedCollection,
  ShardKey,
} from 'shardorm';

@ShardedCollection({ name: 'mc_docs' })
class Doc {
  @ShardKey @Field(IDL.Text) tenant!: string;
  @PrimaryKey @Field(IDL.Nat32) n!: number;
  @Field(IDL.Text) body!: string;
}

const doc = (tenant: string, n: number, body = 'x'.repeat(100)) => Object.assign(new Doc(), { tenant, n, body });

describe('routing and forwarding', () => {
  it('any shard accepts any request and forwards at most once', async () => {
    const cluster = MemoryCluster.create({ shards: 4, entry: 'random', seed: 7 });
    const repo = cluster.repository(Doc);
    for (let i = 0; i < 40; i++) await repo.insert(doc(`t${i}`, i));
    for (let i = 0; i < 40; i++) expect((await repo.get({ tenant: `t${i}`, n: i }))?.n).toBe(i);
    const stats = cluster.shardNodes().map((n) => n.stats);
    expect(stats.reduce((s, x) => s + x.forwarded, 0)).toBeGreaterThan(10);
    expect(stats.reduce((s, x) => s + x.moved, 0)).toBe(0);
  });

  it('a forwarded request that lands on a non-owner answers "moved" instead of forwarding again', async () => {
    const cluster = MemoryCluster.create({ shards: 2 });
    cluster.repository(Doc);
    const meta = getEntityMetadata(Doc);
    const addr = rowAddress(meta, { tenant: 'a', n: 1 });
    const owner = cluster.partitioner.shardFor(addr.hash);
    const other = cluster.shardNodes().find((n) => n.id !== owner)!;
    const get = { kind: 'get' as const, collection: meta.name, hash: addr.hash, key: addr.key };
    expect(routeOp(cluster.partitioner, other.id, get, 0)).toEqual({ kind: 'forward', to: owner });
    expect(routeOp(cluster.partitioner, other.id, get, 1)).toEqual({ kind: 'moved' });
    expect((await other.handle({ ops: [get], hops: 1, origin: 'aaaaa-aa' }, owner)).results).toEqual([{ kind: 'moved' }]);
    await expect(other.handle({ ops: [get], hops: 2, origin: 'aaaaa-aa' }, owner)).rejects.toThrow(/forwarded at most 1 time/);
    // Only a member may forward: a stranger claiming an origin is refused.
    await expect(other.handle({ ops: [get], hops: 1, origin: 'aaaaa-aa' }, 'stranger')).rejects.toThrow(/not a member/);
  });

  it('a client with a stale map still reaches moved data (one hop, then a refresh when needed)', async () => {
    const cluster = MemoryCluster.create({ shards: 1 });
    const repo = cluster.repository(Doc);
    for (let i = 0; i < 60; i++) await repo.insert(doc(`t${i}`, i));
    const newShard = await cluster.split('shard-0');
    expect(newShard).toBeDefined();
    const moved = cluster.shardNodes().find((n) => n.id === newShard)!;
    expect(moved.kv.size()).toBeGreaterThan(0);
    // The client's map is still epoch 0: a key that moved reaches shard-0 first, which forwards it
    // (one hop); the answer carries the newer epoch, so the client refreshes its map right away.
    const movedKey = Array.from({ length: 60 }, (_, i) => i).find((i) => cluster.partitioner.shardFor(rowAddress(getEntityMetadata(Doc), { tenant: `t${i}`, n: i }).hash) === newShard)!;
    expect((await repo.get({ tenant: `t${movedKey}`, n: movedKey }))?.n).toBe(movedKey);
    expect(cluster.shardNodes().find((n) => n.id === 'shard-0')!.stats.forwarded).toBe(1);
    for (let i = 0; i < 60; i++) expect((await repo.get({ tenant: `t${i}`, n: i }))?.n).toBe(i);
    expect(cluster.shardNodes().find((n) => n.id === 'shard-0')!.stats.forwarded).toBe(1); // warm map: 0 hops
    await cluster.merge(newShard!); // the client's cached map names a shard that no longer exists
    await cluster.split('shard-0');
    await cluster.merge('shard-0');
    for (let i = 0; i < 60; i++) expect((await repo.get({ tenant: `t${i}`, n: i }))?.n).toBe(i);
    expect(await repo.count()).toBe(60);
  });
});

describe('split and merge', () => {
  it('splits a full shard at its median hash; only that shard loses data, only to the new one', async () => {
    const cluster = MemoryCluster.create({ shards: 3 });
    const repo = cluster.repository(Doc);
    for (let i = 0; i < 300; i++) await repo.insert(doc(`t${i % 50}`, i));
    const before = new Map(cluster.shards().map((s) => [s.id, s]));
    const target = cluster.shards().sort((a, b) => b.bytes - a.bytes)[0];
    const fresh = (await cluster.split(target.id))!;
    const after = new Map(cluster.shards().map((s) => [s.id, s]));
    for (const [id, s] of before) if (id !== target.id) expect(after.get(id)).toEqual(s);
    const a = after.get(target.id)!;
    const b = after.get(fresh)!;
    expect(a.entries + b.entries).toBe(target.entries);
    expect(Math.abs(a.bytes - b.bytes)).toBeLessThan(target.bytes / 3); // median by bytes, over 50 shard keys
    const p = cluster.partitioner as RangePartitioner;
    expect(p.rangeOf(fresh).end).toBe(target.range!.end);
    expect(p.rangeOf(target.id).end).toBe(p.rangeOf(fresh).start);
  });

  it('splits automatically above maxShardBytes and never splits one hot shard key', async () => {
    const cluster = MemoryCluster.create({ maxShardBytes: 4000 });
    const repo = cluster.repository(Doc);
    for (let i = 0; i < 200; i++) await repo.insert(doc(`tenant-${i}`, i));
    const shards = cluster.shards();
    expect(shards.length).toBeGreaterThan(4);
    for (const s of shards) expect(s.bytes).toBeLessThanOrEqual(4000);
    expect(cluster.stats.splits).toBe(shards.length - 1);

    const hot = MemoryCluster.create({ maxShardBytes: 2000 });
    const hotRepo = hot.repository(Doc);
    for (let i = 0; i < 40; i++) await hotRepo.insert(doc('one-tenant', i));
    expect(hot.shards()).toHaveLength(1);
    expect(await hot.split('shard-0')).toBeUndefined();
    expect(await hotRepo.count()).toBe(40);
  });

  it('an AnchorHash cluster at capacity stops splitting but keeps acknowledging writes', async () => {
    const cluster = MemoryCluster.create({ shards: 1, partitioner: 'anchor', anchorCapacity: 3, maxShardBytes: 1500 });
    const repo = cluster.repository(Doc);
    for (let i = 0; i < 60; i++) await repo.insert(doc(`t${i}`, i));
    expect(cluster.shards()).toHaveLength(3);
    expect(await repo.count()).toBe(60);
  });

  it('merges a shard into its neighbour and deletes it; AnchorHash spreads a removed shard', async () => {
    for (const partitioner of ['range', 'anchor'] as const) {
      const cluster = MemoryCluster.create({ shards: 4, partitioner });
      const repo = cluster.repository(Doc);
      for (let i = 0; i < 100; i++) await repo.insert(doc(`t${i}`, i));
      await cluster.merge('shard-1');
      expect(cluster.partitioner.shards()).not.toContain('shard-1');
      expect(await repo.count()).toBe(100);
      for (const node of cluster.shardNodes()) {
        for (const [k] of node.kv.range(new Uint8Array(0), Uint8Array.of(0xff), 1000)) {
          expect(cluster.partitioner.shardFor(hashOfStorageKey(k))).toBe(node.id);
        }
      }
    }
    const range = MemoryCluster.create({ shards: 3 });
    range.repository(Doc);
    const leftBefore = (range.partitioner as RangePartitioner).rangeOf('shard-0');
    await range.merge('shard-1');
    expect((range.partitioner as RangePartitioner).rangeOf('shard-0')).toEqual({ ...leftBefore, end: (range.partitioner as RangePartitioner).rangeOf('shard-2').start });
  });

  it('merges small shards automatically when minShardBytes is set', async () => {
    const cluster = MemoryCluster.create({ shards: 1, maxShardBytes: 4000, minShardBytes: 1000 });
    const repo = cluster.repository(Doc);
    for (let i = 0; i < 100; i++) await repo.insert(doc(`t${i}`, i));
    const peak = cluster.shards().length;
    expect(peak).toBeGreaterThan(2);
    for (let i = 0; i < 95; i++) await repo.delete({ tenant: `t${i}`, n: i });
    await repo.insert(doc('trigger', 1, 'y')); // maintenance runs after writes
    expect(cluster.shards().length).toBeLessThan(peak);
    expect(cluster.stats.merges).toBeGreaterThan(0);
    expect(await repo.count()).toBe(6);
  });

  it('is deterministic: the same seed and operations give the same layout', async () => {
    const layout = async () => {
      const cluster = MemoryCluster.create({ shards: 2, maxShardBytes: 3000, entry: 'random', seed: 42 });
      const repo = cluster.repository(Doc);
      for (let i = 0; i < 80; i++) await repo.upsert(doc(`t${i % 17}`, i));
      return { shards: cluster.shards(), stats: cluster.stats, forwarded: cluster.shardNodes().map((n) => n.stats.forwarded) };
    };
    expect(await layout()).toEqual(await layout());
  });
});

describe('rolling upgrade', () => {
  it('rewrites records of the old version on every shard through the upgrade hook', async () => {
    @ShardedCollection({ name: 'mc_profiles' })
    class ProfileV1 {
      @ShardKey @Field(IDL.Text) user!: string;
      @Field(IDL.Text) fullName!: string;
    }
    @ShardedCollection({
      name: 'mc_profiles',
      version: 2,
      upgrade: (r) => ({ ...r, first: String(r.fullName).split(' ')[0] }),
    })
    class ProfileV2 {
      @ShardKey @Field(IDL.Text) user!: string;
      @Field(IDL.Text) fullName!: string;
      @Index @Field(IDL.Opt(IDL.Text)) first?: string;
      greet(): string {
        return `hi ${this.first}`;
      }
    }
    const cluster = MemoryCluster.create({ shards: 3 });
    const v1 = cluster.repository(ProfileV1);
    for (let i = 0; i < 30; i++) await v1.insert(Object.assign(new ProfileV1(), { user: `u${i}`, fullName: `Name${i % 3} Last` }));
    const v2 = cluster.repository(ProfileV2); // same collection: reads old data through the hook already
    expect((await v2.get('u4'))?.greet()).toBe('hi Name1');
    expect(cluster.upgrade(ProfileV2)).toBe(30);
    expect(cluster.upgrade(ProfileV2)).toBe(0); // idempotent: nothing left on the old version
    const found = await v2.find('first', 'Name2', { shardKey: 'u5' });
    expect(found.items.map((p) => p.user)).toEqual(['u5']);
    expect(await v2.count()).toBe(30);
    // An old client writing after the shards upgraded: stored upgraded, so the index stays exact.
    await v1.insert(Object.assign(new ProfileV1(), { user: 'late', fullName: 'Zed Q' }));
    expect((await v2.find('first', 'Zed', { shardKey: 'late' })).items.map((p) => p.greet())).toEqual(['hi Zed']);
    await v1.delete('late');
    expect((await v2.find('first', 'Zed', { shardKey: 'late' })).items).toEqual([]);
    const node = cluster.shardNodes().find((n) => n.kv.range(new Uint8Array(0), Uint8Array.of(0xff), 1000).length > 0)!;
    const dangling = node.kv.range(new Uint8Array(0), Uint8Array.of(0xff), 1000).filter(([, v]) => v.length > 0 && v[0] !== 1);
    expect(dangling.every(([, rowKey]) => cluster.shardNodes().some((n) => n.kv.get(rowKey) !== undefined))).toBe(true);
  });
});
