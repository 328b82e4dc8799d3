// Model-based property test: random operation sequences against a MemoryCluster must agree with a
// plain Map, across automatic splits (maxShardBytes), automatic merges (minShardBytes) and random
// explicit splits and merges, with requests entering at random shards (forwarding exercised).
import { IDL } from '@dfinity/candid';
import fc from 'fast-check';
import {
  ConflictError,
  Field,
  hashOfStorageKey,
  Index,
  MemoryCluster,
  PrimaryKey,
  ShardedCollection,
  ShardKey,
  Version,
} from 'shardorm';
import { forEachPage } from '../../lib/topology/planning.js';

@ShardedCollection({ name: 'pbt_items' })
class Item {
  @ShardKey @Field(IDL.Nat16) group!: number;
  @PrimaryKey @Field(IDL.Nat32) n!: number;
  @Index @Field(IDL.Text) tag!: string;
  @Field(IDL.Text) payload!: string;
  @Version @Field(IDL.Nat64) version!: bigint;
}

type Row = { group: number; n: number; tag: string; payload: string; version: bigint };
type Key = { group: number; n: number };

const LONG = !!process.env.SHARDORM_LONG;
const key = fc.record({ group: fc.integer({ min: 0, max: 11 }), n: fc.integer({ min: 0, max: 15 }) });
const tag = fc.constantFrom('red', 'green', 'blue');
const payload = fc.nat({ max: 300 }).map((len) => 'p'.repeat(len));
const versionChoice = fc.constantFrom<'none' | 'right' | 'wrong'>('none', 'right', 'wrong');

const op = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('insert' as const), key, tag, payload }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant('upsert' as const), key, tag, payload, v: versionChoice }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('update' as const), key, payload: fc.option(payload), tag: fc.option(tag), v: versionChoice }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('delete' as const), key }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('get' as const), key }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('getMany' as const), keys: fc.array(key, { maxLength: 6 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('scanGroup' as const), group: fc.integer({ min: 0, max: 11 }), limit: fc.integer({ min: 1, max: 7 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('scanAll' as const), limit: fc.integer({ min: 1, max: 40 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('find' as const), group: fc.integer({ min: 0, max: 11 }), tag }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('split' as const), pick: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('merge' as const), pick: fc.nat() }), weight: 1 },
);

type OpOf = typeof op extends fc.Arbitrary<infer U> ? U : never;
const id = (k: Key) => `${k.group}/${k.n}`;
const plain = (r: Item | undefined): Row | undefined =>
  r === undefined ? undefined : { group: r.group, n: r.n, tag: r.tag, payload: r.payload, version: r.version };
const byKey = (a: Row, b: Row) => a.group - b.group || a.n - b.n;

async function expectConflict(p: Promise<unknown>): Promise<void> {
  await expect(p).rejects.toBeInstanceOf(ConflictError);
}

function checkPlacement(cluster: MemoryCluster): void {
  const epoch = cluster.partitioner.epoch;
  for (const node of cluster.shardNodes()) {
    expect(node.partitioner.epoch).toBe(epoch);
    forEachPage(node.kv, (page) => {
      for (const [k] of page) expect(cluster.partitioner.shardFor(hashOfStorageKey(k))).toBe(node.id);
    });
  }
}

async function runSequence(kind: 'range' | 'anchor', seed: number, ops: OpOf[]): Promise<void> {
  const cluster = MemoryCluster.create({ shards: 2, partitioner: kind, maxShardBytes: 6000, minShardBytes: 800, entry: 'random', seed, anchorCapacity: 256 });
  const repo = cluster.repository(Item);
  const model = new Map<string, Row>();
  for (const o of ops) {
    switch (o.kind) {
      case 'insert': {
        const row = { ...o.key, tag: o.tag, payload: o.payload, version: 1n };
        if (model.has(id(o.key))) await expectConflict(repo.insert(Object.assign(new Item(), row)));
        else {
          expect(plain(await repo.insert(Object.assign(new Item(), row)))).toEqual(row);
          model.set(id(o.key), row);
        }
        break;
      }
      case 'upsert': {
        const old = model.get(id(o.key));
        const version = o.v === 'none' ? 0n : o.v === 'right' ? (old?.version ?? 0n) : (old?.version ?? 0n) + 5n;
        const entity = Object.assign(new Item(), { ...o.key, tag: o.tag, payload: o.payload, version });
        if (old !== undefined && version !== 0n && version !== old.version) await expectConflict(repo.upsert(entity));
        else {
          const row = { ...o.key, tag: o.tag, payload: o.payload, version: (old?.version ?? 0n) + 1n };
          expect(plain(await repo.upsert(entity))).toEqual(row);
          model.set(id(o.key), row);
        }
        break;
      }
      case 'update': {
        const old = model.get(id(o.key));
        const patch: Partial<Item> = {};
        if (o.payload !== null) patch.payload = o.payload;
        if (o.tag !== null) patch.tag = o.tag;
        if (o.v !== 'none') patch.version = (old?.version ?? 0n) + (o.v === 'wrong' ? 3n : 0n);
        if (old === undefined) expect(await repo.update(o.key, patch)).toBeUndefined();
        else if (o.v === 'wrong') await expectConflict(repo.update(o.key, patch));
        else {
          const row = { ...old, ...patch, version: old.version + 1n } as Row;
          expect(plain(await repo.update(o.key, patch))).toEqual(row);
          model.set(id(o.key), row);
        }
        break;
      }
      case 'delete':
        expect(await repo.delete(o.key)).toBe(model.delete(id(o.key)));
        break;
      case 'get':
        expect(plain(await repo.get(o.key))).toEqual(model.get(id(o.key)));
        break;
      case 'getMany':
        expect((await repo.getMany(o.keys)).map(plain)).toEqual(o.keys.map((k) => model.get(id(k))));
        break;
      case 'scanGroup': {
        const got: Row[] = [];
        let cursor: string | undefined;
        do {
          const page = await repo.scan({ shardKey: o.group, after: cursor, limit: o.limit });
          got.push(...(page.items.map(plain) as Row[]));
          cursor = page.cursor;
        } while (cursor !== undefined);
        expect(got).toEqual([...model.values()].filter((r) => r.group === o.group).sort(byKey));
        break;
      }
      case 'scanAll': {
        const got: Row[] = [];
        let cursor: string | undefined;
        do {
          const page = await repo.scan({ after: cursor, limit: o.limit });
          got.push(...(page.items.map(plain) as Row[]));
          cursor = page.cursor;
        } while (cursor !== undefined);
        expect(got.sort(byKey)).toEqual([...model.values()].sort(byKey));
        expect(await repo.count()).toBe(model.size);
        break;
      }
      case 'find': {
        const got = (await repo.find('tag', o.tag, { shardKey: o.group, limit: 100 })).items.map(plain);
        expect(got).toEqual([...model.values()].filter((r) => r.group === o.group && r.tag === o.tag).sort(byKey));
        break;
      }
      case 'split': {
        const shards = cluster.partitioner.shards();
        await cluster.split(shards[o.pick % shards.length]);
        break;
      }
      case 'merge': {
        const shards = cluster.partitioner.shards();
        if (shards.length > 1) await cluster.merge(shards[o.pick % shards.length]);
        break;
      }
    }
  }
  checkPlacement(cluster);
  expect(await repo.count()).toBe(model.size);
  for (const node of cluster.shardNodes()) expect(node.stats.moved).toBe(0); // maps agree: no second hop needed
}

describe.each(['range', 'anchor'] as const)('MemoryCluster agrees with a Map model (%s partitioner)', (kind) => {
  it('random operation sequences with splits and merges', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.array(op, { minLength: 20, maxLength: LONG ? 400 : 80 }), (seed, ops) => runSequence(kind, seed, ops)),
      { numRuns: LONG ? 300 : 12, endOnFailure: true },
    );
  });
});
