// A shard's reported size counts only the range it owns, also while rows it no longer owns wait to
// be pruned, and a data write keeps that count without summing the range again (ShardNode.outside).
import { jest } from '@jest/globals';
import { IDL } from '@dfinity/candid';
import { Field, getEntityMetadata, hashOfStorageKey, rowAddress, MemoryCluster, PrimaryKey, RangePartitioner, ShardedCollection, ShardKey, type ShardNode } from 'shardorm';

@ShardedCollection({ name: 'owned_docs' })
class Doc {
  @ShardKey @Field(IDL.Text) tenant!: string;
  @PrimaryKey @Field(IDL.Nat32) n!: number;
  @Field(IDL.Text) body!: string;
}

const doc = (tenant: string, n: number, body: string) => Object.assign(new Doc(), { tenant, n, body });

/** Entries and bytes of the rows whose hash is in the node's range, counted row by row. */
function recount(node: ShardNode): { entities: number; logicalBytes: number } {
  const { start, end } = (node.partitioner as RangePartitioner).rangeOf(node.id);
  let entities = 0;
  let logicalBytes = 0;
  for (const [k, v] of node.kv.range(new Uint8Array(0), Uint8Array.of(0xff), 1_000_000)) {
    const h = hashOfStorageKey(k);
    if (h >= start && h < end) (entities++, (logicalBytes += k.length + v.length));
  }
  return { entities, logicalBytes };
}

const sizes = (node: ShardNode) => ({ entities: node.report().entities, logicalBytes: node.report().logicalBytes });

describe('owned size', () => {
  it('counts only the owned range through data writes and prune steps, without summing the range per write', async () => {
    const cluster = MemoryCluster.create({ shards: 1 });
    const repo = cluster.repository(Doc);
    for (let i = 0; i < 600; i++) await repo.upsert(doc(`t${i % 60}`, i, 'x'.repeat(50 + (i % 7) * 40)));
    const node = cluster.shardNodes()[0];
    const whole = sizes(node);
    // The shard gives the upper half of the hash space away (as a split's cutover does); its rows stay until pruned.
    const next = (cluster.partitioner as RangePartitioner).split(node.id, 1n << 63n, 'elsewhere');
    expect(node.adoptMap(next.toJSON())).toBe(true);
    const owned = recount(node);
    expect(owned.entities).toBeGreaterThan(0);
    expect(owned.entities).toBeLessThan(whole.entities);
    expect(sizes(node)).toEqual(owned);

    // Data writes to owned keys: the count follows them, and no write sums the range again.
    const ownedTenants = Array.from({ length: 60 }, (_, t) => `t${t}`).filter((t) => next.shardFor(rowAddress(getEntityMetadata(Doc), { tenant: t, n: 0 }).hash) === node.id);
    expect(ownedTenants.length).toBeGreaterThan(5);
    const sumsRead = jest.spyOn(node.kv, 'keysInRange');
    for (const [i, t] of ownedTenants.entries()) {
      await repo.upsert(doc(t, 10_000 + i, 'y'.repeat(300)));
      await repo.upsert(doc(t, i, 'z'.repeat(10))); // overwrite: bytes shrink or grow
      node.report();
    }
    await repo.delete({ tenant: ownedTenants[0], n: 10_000 });
    expect(sumsRead).not.toHaveBeenCalled();
    sumsRead.mockRestore();
    expect(sizes(node)).toEqual(recount(node));

    // Prune steps drop rows outside; the owned count stays what it was, step after step.
    const before = sizes(node);
    let steps = 0;
    while (node.pruneStep() > 0) {
      steps++;
      expect(sizes(node)).toEqual(before);
    }
    expect(steps).toBeGreaterThan(0);
    expect(node.report().entities).toBe(node.kv.size()); // all pruned: the store holds only what it owns
    expect(sizes(node)).toEqual(recount(node));
  });
});
