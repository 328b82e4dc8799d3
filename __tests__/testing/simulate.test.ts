// Deterministic simulation of concurrent clients against MemoryCluster with lost requests and
// replies and the automatic splits and merges their writes cause: ≥ 50 seeds in CI, ≥ 1,000
// under `npm run test:long` (SHARDORM_LONG=1), one seed with SHARDORM_SEED=<n>. A failing seed
// prints its replay command and saves its history as JSON. Forced splits and merges (some in the
// middle of in-flight requests) currently wedge MemoryCluster's migration driver: that case is a
// `test.failing` until it is fixed. Also: the same seed replays the same run; a cluster with a
// planted bug is caught.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryCluster } from 'shardorm';
import {
  checkLinearizable,
  formatSimulationFailure,
  memoryClusterTarget,
  parseHistory,
  simulate,
  SimRecord,
  type SimulatedRepository,
  type SimulationResult,
  type SimulationTarget,
} from 'shardorm/testing';

const LONG = !!process.env.SHARDORM_LONG;
const ONE_SEED = process.env.SHARDORM_SEED === undefined ? undefined : Number(process.env.SHARDORM_SEED);
const SEEDS = ONE_SEED !== undefined ? [ONE_SEED] : Array.from({ length: LONG ? 1000 : 50 }, (_, i) => i + 1);
const FAULTS = { requestLoss: 0.03, replyLoss: 0.03 };
/** Also forced splits and merges, a quarter of deliveries with one landing mid-request. */
const FORCED = { ...FAULTS, split: 0.02, merge: 0.02, midFlight: 0.25 };

function memoryCluster(seed: number): MemoryCluster {
  // Small shards: the workload's payloads make it split and merge on its own.
  return MemoryCluster.create({ shards: 2, maxShardBytes: 2000, minShardBytes: 300, entry: 'random', seed });
}
const memoryTarget = (seed: number): SimulationTarget => memoryClusterTarget(memoryCluster(seed));

function run(seed: number, target = memoryTarget(seed), faults: object = FAULTS): Promise<SimulationResult> {
  return simulate({ seed, cluster: target, clients: 4, operations: 200, faults });
}

/** Fails with the report, after saving the history next to it for offline re-checking. */
function expectPassed(r: SimulationResult): void {
  if (r.ok) return;
  const file = join(tmpdir(), `shardorm-history-seed-${r.seed}.json`);
  writeFileSync(file, JSON.stringify(r.history));
  throw new Error(`${formatSimulationFailure(r)}\nhistory saved to ${file}`);
}

test(`${SEEDS.length} seeds of concurrent clients, lost messages, automatic splits and merges on MemoryCluster stay linearizable and lose nothing`, async () => {
  const started = Date.now();
  let lost = 0;
  let splits = 0;
  let merges = 0;
  for (const seed of SEEDS) {
    const cluster = memoryCluster(seed);
    const r = await run(seed, memoryClusterTarget(cluster));
    expectPassed(r);
    expect(r.check.ok).toBe(true);
    lost += r.stats.requestsLost + r.stats.repliesLost;
    splits += cluster.stats.splits;
    merges += cluster.stats.merges;
  }
  // The faults and migrations really happened (a simulation that injects nothing proves nothing).
  expect(lost).toBeGreaterThan(SEEDS.length);
  expect(splits).toBeGreaterThan(SEEDS.length);
  expect(merges).toBeGreaterThan(SEEDS.length / 2);
  if (LONG) {
    const hours = (Date.now() - started) / 3_600_000;
    console.log(`simulate: ${SEEDS.length} seeds on MemoryCluster in ${(hours * 60).toFixed(1)} min = ${Math.round(SEEDS.length / hours)} seeds/hour`);
  }
});

// The simulation's first finding, fixed: forced split()/merge() calls overlapping automatic ones
// drove one migration from two ticks at once ("take-snapshot gave no id", seed 21; stuck at seed
// 28). The manager now runs one tick at a time and applyResult asserts the effect matches the phase.
test('forced splits and merges, some mid-request, on MemoryCluster', async () => {
  for (const seed of SEEDS.slice(0, 50)) expectPassed(await run(seed, memoryTarget(seed), FORCED));
});
test('the same seed replays the same run exactly; another seed does not', async () => {
  const a = await run(7);
  const b = await run(7);
  const c = await run(8);
  expect(b.historyDigest).toBe(a.historyDigest);
  expect(b.targetDigest).toBe(a.targetDigest);
  expect(b.digest).toBe(a.digest);
  expect(b.history).toEqual(a.history);
  expect(c.historyDigest).not.toBe(a.historyDigest);
});

/** A target whose repositories break one promise, to show the simulation catches it. */
function buggyTarget(seed: number, bug: 'fake-ack' | 'stale-cache'): SimulationTarget {
  const inner = memoryTarget(seed);
  return {
    ...inner,
    repository: <T extends object>(ctor: new () => T) => {
      const repo = inner.repository(ctor) as unknown as SimulatedRepository<SimRecord>;
      const cache = new Map<string, SimRecord | undefined>();
      let upserts = 0;
      const broken: SimulatedRepository<SimRecord> = {
        get: async (key) => {
          const k = JSON.stringify(key);
          if (bug === 'stale-cache' && cache.has(k)) return cache.get(k);
          const v = await repo.get(key);
          cache.set(k, v);
          return v;
        },
        getMany: (keys) => repo.getMany(keys),
        insert: (e) => repo.insert(e),
        upsert: async (e) => {
          if (bug !== 'fake-ack' || ++upserts % 3 !== 0) return repo.upsert(e);
          const current = await repo.get(e);
          return Object.assign(new SimRecord(), e, { version: (current?.version ?? 0n) + 1n }); // acknowledged, never written
        },
        update: (k, p) => repo.update(k, p),
        delete: (k) => repo.delete(k),
        scan: (o) => repo.scan(o),
        count: () => repo.count(),
      };
      return broken as unknown as SimulatedRepository<T>;
    },
  };
}

test.each(['fake-ack', 'stale-cache'] as const)('a cluster with a planted bug (%s) fails with its seed, a replay command and a counterexample', async (bug) => {
  let caught: SimulationResult | undefined;
  for (let seed = 1; seed <= 5 && caught === undefined; seed++) {
    const r = await run(seed, buggyTarget(seed, bug));
    if (!r.ok) caught = r;
  }
  expect(caught).toBeDefined();
  const r = caught as SimulationResult;
  const report = formatSimulationFailure(r);
  expect(report).toContain(`seed ${r.seed} failed`);
  expect(report).toContain(`SHARDORM_SEED=${r.seed} npm test -- __tests__/testing/simulate`);
  expect(r.check.ok).toBe(false);
  // The saved history re-checks offline to the same verdict.
  expect(checkLinearizable(parseHistory(JSON.stringify(r.history))).ok).toBe(false);
});

test('bad options get a typed error that says what to pass', async () => {
  await expect(simulate({ seed: -1, cluster: memoryTarget(1) })).rejects.toThrow(/seed must be an integer/);
  await expect(simulate({ seed: 1, cluster: memoryTarget(1), faults: { replyLoss: 2 } })).rejects.toThrow(/faults.replyLoss is a chance/);
  await expect(simulate({ seed: 1, cluster: memoryTarget(1), clients: 0 })).rejects.toThrow(/clients must be/);
});
