// An idle manager does not ask every shard for its report and balance on every tick: reports are
// fetched again when REPORT_INTERVAL_NS passed, the map changed, or a shard was silent or behind;
// balances every CYCLES_CHECK_INTERVAL_NS; a controller's `drive` (fresh) fetches both now.
import { ClusterManager, CYCLES_CHECK_INTERVAL_NS, REPORT_INTERVAL_NS, type ManagerHost } from '../../lib/manager/manager.js';
import { RangePartitioner } from '../../lib/partition/index.js';
import type { ShardReport } from '../../lib/protocol/housekeeping.js';

const SECOND = 1_000_000_000n;
const map = RangePartitioner.single('a').split('a', 1n << 63n, 'b').toJSON();

function setUp() {
  const calls = { reports: 0, cycles: 0, announced: [] as string[][] };
  let now = 0n;
  const epochs = new Map([['a', map.epoch], ['b', map.epoch]]);
  const silent = new Set<string>();
  const report = (shard: string): ShardReport => ({ shard, epoch: epochs.get(shard)!, start: 0n, end: 0n, entities: 1, logicalBytes: 10, memoryBytes: 100, cycles: 10n ** 12n });
  const host: ManagerHost = {
    now: () => now,
    reports: async (shards) => (calls.reports++, shards.filter((s) => !silent.has(s)).map(report)),
    cycles: async () => (calls.cycles++, 10n ** 13n),
    topUp: async () => undefined,
    effects: { perform: async () => ({ ok: true as const }) },
    save: () => undefined,
    announce: async (shards) => void calls.announced.push(shards),
  };
  const settings = { maxShardBytes: 0, maxShardMemoryBytes: 0, minShardBytes: 0, splitMethod: 'snapshot' as const, shardCycles: 0n, topUpBelowCycles: 10n ** 12n, topUpCycles: 10n ** 12n };
  const manager = new ClusterManager({ state: { ...ClusterManager.initialState({ shard: 'a', deployer: 'd', settings }), map }, host });
  return { manager, calls, epochs, silent, pass: (ns: bigint) => (now += ns) };
}

test('ticks every 2 s fetch reports once per REPORT_INTERVAL_NS and balances once per CYCLES_CHECK_INTERVAL_NS while all is settled', async () => {
  const { manager, calls, pass } = setUp();
  const span = 10n * 60n * SECOND; // ten minutes of 2 s ticks
  for (let t = 0n; t < span; t += 2n * SECOND) {
    await manager.tick();
    pass(2n * SECOND);
  }
  expect(calls.reports).toBe(Number(span / REPORT_INTERVAL_NS));
  expect(calls.cycles).toBe(2 * Number(span / CYCLES_CHECK_INTERVAL_NS)); // one canister_status per shard
  await manager.tick({ fresh: true }); // a controller's drive asks now
  expect(calls.reports).toBe(Number(span / REPORT_INTERVAL_NS) + 1);
  expect(calls.cycles).toBe(2 * Number(span / CYCLES_CHECK_INTERVAL_NS) + 2);
});

test('a shard behind on the map is re-announced every tick until it reports the epoch; a silent one is asked every tick', async () => {
  const { manager, calls, epochs, silent, pass } = setUp();
  epochs.set('b', map.epoch - 1);
  for (let i = 0; i < 3; i++) (await manager.tick(), pass(2n * SECOND));
  expect(calls.announced).toEqual([['b'], ['b'], ['b']]);
  epochs.set('b', map.epoch); // it caught up
  await manager.tick();
  pass(2n * SECOND);
  await manager.tick();
  expect(calls.reports).toBe(4); // the tick that saw it caught up, then none until the interval
  silent.add('a');
  pass(REPORT_INTERVAL_NS);
  for (let i = 0; i < 3; i++) (await manager.tick(), pass(2n * SECOND));
  expect(calls.reports).toBe(7);
});

test('a shard request decided on an older map is dropped, and the next tick fetches reports to decide again', async () => {
  const { manager, calls, pass } = setUp();
  await manager.tick();
  pass(2n * SECOND);
  await manager.tick();
  expect(calls.reports).toBe(1); // settled: the cached reports serve
  manager.shardRequest({ kind: 'split', shard: 'a', epoch: map.epoch - 1 }, 'a');
  expect(manager.status().requests).toEqual([]);
  pass(2n * SECOND);
  await manager.tick();
  expect(calls.reports).toBe(2);
});
