// Splits and merges in MemoryCluster run the same state machine as the manager canister. Here
// every effect of every path fails on purpose — a few times (the step is retried) or for good
// (the migration rolls back, or after the cutover keeps retrying) — while four writers enter at
// random shards: no acknowledged write is lost, duplicated or resurrected, and every key reads
// back from any shard.
import { IDL } from '@dfinity/candid';
import { Field, MAX_STEP_ATTEMPTS, MemoryCluster, PrimaryKey, ShardedCollection, ShardKey, type Effect } from 'shardorm';

@ShardedCollection({ name: 'mf_rows' })
class Row {
  @ShardKey @Field(IDL.Text) group!: string;
  @PrimaryKey @Field(IDL.Nat32) n!: number;
  @Field(IDL.Nat32) value!: number;
}

type Model = Map<string, number | undefined>; // key → value, undefined = deleted

const SPLIT_SNAPSHOT: Effect['kind'][] = ['split-point', 'create-canister', 'prepare', 'stop', 'take-snapshot', 'start', 'load-snapshot', 'accept', 'push-delta', 'cutover', 'announce', 'delete-snapshot'];
const SPLIT_STREAM: Effect['kind'][] = ['install-shard', 'copy-batch'];
const MERGE: Effect['kind'][] = ['prepare', 'accept', 'copy-batch', 'push-delta', 'cutover', 'announce', 'drain-cycles', 'delete-canister'];
const BEFORE_CUTOVER = new Set<Effect['kind']>(['split-point', 'create-canister', 'prepare', 'stop', 'take-snapshot', 'load-snapshot', 'install-shard', 'accept', 'copy-batch', 'push-delta', 'cutover']);

async function scenario(options: { kind: 'split' | 'merge'; method: 'snapshot' | 'stream'; fault: Effect['kind']; times: number; seed: number }) {
  const cluster = MemoryCluster.create({ shards: options.kind === 'merge' ? 2 : 1, entry: 'random', seed: options.seed, splitMethod: options.method });
  const repo = cluster.repository(Row);
  const model: Model = new Map();
  const key = (g: number, n: number) => `${g}/${n}`;
  for (let g = 0; g < 12; g++) for (let n = 0; n < 4; n++) {
    await repo.insert(Object.assign(new Row(), { group: `g${g}`, n, value: 0 }));
    model.set(key(g, n), 0);
  }
  cluster.failEffect(options.fault, options.times);
  let stop = false;
  // Four writers, each owning its own keys (so the model of each key is one writer's program order).
  const writers = [0, 1, 2, 3].map(async (w) => {
    for (let i = 1; !stop && i < 400; i++) {
      const g = (w * 3 + (i % 3)), n = i % 4;
      if (i % 7 === 0) {
        await repo.delete({ group: `g${g}`, n });
        model.set(key(g, n), undefined);
      } else {
        await repo.upsert(Object.assign(new Row(), { group: `g${g}`, n, value: w * 1000 + i }));
        model.set(key(g, n), w * 1000 + i);
      }
      await Promise.resolve();
    }
  });
  const change = options.kind === 'split' ? cluster.split(cluster.partitioner.shards()[0]) : cluster.merge(cluster.partitioner.shards()[1]);
  const outcome = await change.then(() => 'done', (e: Error) => e.message);
  stop = true;
  await Promise.all(writers);
  const migration = cluster.history[cluster.history.length - 1];
  for (const [k, v] of model) {
    const [g, n] = k.split('/').map(Number);
    const got = await repo.get({ group: `g${g}`, n });
    expect({ k, value: got?.value }).toEqual({ k, value: v });
  }
  expect(await repo.count()).toBe([...model.values()].filter((v) => v !== undefined).length);
  return { cluster, migration, outcome };
}

describe('migrations under faults with concurrent writers', () => {
  const cases: { kind: 'split' | 'merge'; method: 'snapshot' | 'stream'; fault: Effect['kind'] }[] = [
    ...SPLIT_SNAPSHOT.map((fault) => ({ kind: 'split' as const, method: 'snapshot' as const, fault })),
    ...SPLIT_STREAM.map((fault) => ({ kind: 'split' as const, method: 'stream' as const, fault })),
    ...MERGE.map((fault) => ({ kind: 'merge' as const, method: 'stream' as const, fault })),
  ];

  it.each(cases)('$kind ($method): $fault fails twice, is retried, and the migration finishes', async (c) => {
    const { migration, cluster } = await scenario({ ...c, times: 2, seed: 3 });
    expect(migration.phase).toBe('done');
    expect(cluster.partitioner.shards()).toHaveLength(c.kind === 'split' ? 2 : 1);
  });

  it.each(cases.filter((c) => BEFORE_CUTOVER.has(c.fault) && c.fault !== 'split-point'))('$kind ($method): $fault fails for good, the migration rolls back cleanly', async (c) => {
    const { migration, cluster, outcome } = await scenario({ ...c, times: MAX_STEP_ATTEMPTS, seed: 5 });
    expect(migration.phase).toBe('rolled-back');
    expect(cluster.partitioner.shards()).toHaveLength(c.kind === 'split' ? 1 : 2);
    if (c.kind === 'merge') expect(outcome).toMatch(/did not finish: rolled-back/);
    for (const node of cluster.shardNodes()) expect(node.report().migration).toBeUndefined();
  });

  it('after the cutover a failing announcement only delays the end; the split still completes', async () => {
    const { migration } = await scenario({ kind: 'split', method: 'snapshot', fault: 'announce', times: MAX_STEP_ATTEMPTS + 3, seed: 9 });
    expect(migration.phase).toBe('done');
  });

  it('a snapshot split carries no entity bytes in messages without writers; a streamed one carries the half', async () => {
    const sizes: Record<string, number> = {};
    for (const method of ['snapshot', 'stream'] as const) {
      const cluster = MemoryCluster.create({ splitMethod: method });
      const repo = cluster.repository(Row);
      for (let g = 0; g < 40; g++) await repo.insert(Object.assign(new Row(), { group: `g${g}`, n: 0, value: g }));
      await cluster.split('shard-0');
      sizes[method] = cluster.stats.messageBytes;
      expect(await repo.count()).toBe(40);
    }
    expect(sizes.snapshot).toBe(0);
    expect(sizes.stream).toBeGreaterThan(500);
  });
});
