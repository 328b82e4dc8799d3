// Client-side routing against a scripted transport: "moved" answers and epoch mismatches make the
// Dispatcher refresh its map and retry, a bounded number of times.
import { Dispatcher, RangePartitioner, RoutingError, type Op, type ShardRequest, type ShardResponse } from 'shardorm';

const MID = 1n << 63n;
const before = RangePartitioner.single('a');
const after = before.split('a', MID, 'b');

function scripted(opts: { alwaysMoved?: boolean } = {}) {
  const calls: string[] = [];
  const transport = {
    async send(shard: string, req: ShardRequest): Promise<ShardResponse> {
      calls.push(`${shard}:${req.ops.map((o) => o.kind).join(',')}`);
      const results = req.ops.map((op) => {
        if (op.kind === 'map') return { kind: 'map' as const, map: after.toJSON() };
        if (op.kind === 'count') return { kind: 'count' as const, count: shard === 'a' ? 1 : 2 };
        const hash = (op as { hash: bigint }).hash;
        if (opts.alwaysMoved || after.shardFor(hash) !== shard) return { kind: 'moved' as const };
        return { kind: 'value' as const, value: new Uint8Array([shard.charCodeAt(0)]) };
      });
      return { results, epoch: after.epoch };
    },
  };
  return { transport, calls };
}

const get = (hash: bigint): Op => ({ kind: 'get', collection: 'c', hash, key: new Uint8Array([1]) });

describe('Dispatcher', () => {
  it('refreshes its map on "moved" and retries only the moved ops', async () => {
    const { transport, calls } = scripted();
    const d = new Dispatcher({ transport, map: before });
    const results = await d.run([get(1n), get(MID + 5n), get(2n)]);
    expect(results.map((r) => (r.kind === 'value' ? String.fromCharCode(r.value![0]) : r.kind))).toEqual(['a', 'b', 'a']);
    expect(d.partitioner.epoch).toBe(after.epoch);
    expect(calls).toEqual(['a:get,get,get', 'a:map', 'b:get']);
  });

  it('fan-out retries when shards answer on another epoch than the cached map', async () => {
    const { transport, calls } = scripted();
    const d = new Dispatcher({ transport, map: before });
    const results = await d.fanOut({ kind: 'count', collection: 'c' });
    expect(results).toEqual([{ kind: 'count', count: 1 }, { kind: 'count', count: 2 }]);
    expect(calls).toEqual(['a:count', 'a:map', 'a:count', 'b:count']);
  });

  it('gives up with RoutingError when ops keep moving', async () => {
    const { transport } = scripted({ alwaysMoved: true });
    const d = new Dispatcher({ transport, map: before });
    await expect(d.run([get(1n)])).rejects.toThrow(RoutingError);
    await expect(d.run([get(1n)])).rejects.toThrow(/still moved after 4 map refreshes/);
  });

  it('asks the bootstrap when no cached shard answers', async () => {
    const gone = {
      async send(shard: string, req: ShardRequest): Promise<ShardResponse> {
        if (shard === 'a') throw new RoutingError('a was deleted');
        return scripted().transport.send(shard, req);
      },
    };
    const d = new Dispatcher({ transport: gone, map: RangePartitioner.single('a'), bootstrap: async () => RangePartitioner.single('a').split('a', 1n, 'b').merge('a', 'b').toJSON() });
    const [r] = await d.run([get(MID)]);
    expect(r).toEqual({ kind: 'value', value: new Uint8Array(['b'.charCodeAt(0)]) });
    expect(d.partitioner.shards()).toEqual(['b']);
  });
});
