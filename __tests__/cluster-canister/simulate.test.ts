// shardorm/testing's simulate() on a canister cluster of the local replica (replica-target.ts):
// seeded concurrent clients entering at random shards, lost requests and replies, forced splits
// (snapshot or streamed) and merges, traps, rejected forwards and stopped shards; each run ends
// linearizable with nothing acknowledged lost. CI runs 10 short seeds on one cluster (rows of a
// seed are deleted before the next); SHARDORM_LONG=1 runs 40 longer ones.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatSimulationFailure, simulate, SimRecord } from 'shardorm/testing';
import { deployExampleCluster, type CanisterCluster } from './harness.js';
import { replicaClusterTarget, simClusterWasm } from './replica-target.js';

const LONG = process.env.SHARDORM_LONG === '1';
const SEEDS = Array.from({ length: LONG ? 40 : 10 }, (_, i) => 1000 + i);
const OPERATIONS = LONG ? 120 : 40;
const FAULTS = { requestLoss: 0.03, replyLoss: 0.03, midFlight: 0.1, split: 0.02, merge: 0.02, targetFault: 0.03 };

let cluster: CanisterCluster;
beforeAll(async () => {
  cluster = await deployExampleCluster({ seed: 61, wasm: await simClusterWasm(), minShardBytes: 0 });
}, 600_000);
afterAll(() => cluster?.close());

test(`${SEEDS.length} seeds of simulate() on canisters: linearizable, nothing acknowledged lost`, async () => {
  const agent = cluster.replica.createAgent({ identity: cluster.deployer });
  const stats = { splits: 0, merges: 0, targetFaults: 0, operations: 0 };
  for (const seed of SEEDS) {
    const target = await replicaClusterTarget({ cluster, agent, seed });
    const r = await simulate({ seed, cluster: target, clients: 4, operations: OPERATIONS, faults: FAULTS, keys: { groups: 4, perGroup: 3 }, replayCommand: (s) => `SHARDORM_SEED=${s} npm test -- __tests__/cluster-canister/simulate` });
    cluster.replica.clearFaults();
    if (!r.ok) {
      const file = join(tmpdir(), `shardorm-replica-history-seed-${seed}.json`);
      writeFileSync(file, JSON.stringify(r.history));
      throw new Error(`${formatSimulationFailure(r)}\nhistory saved to ${file}`);
    }
    stats.splits += r.stats.splits;
    stats.merges += r.stats.merges;
    stats.targetFaults += r.stats.targetFaults;
    stats.operations += r.stats.operations;
    // The next seed starts from an empty collection (its final checks count rows).
    const repo = target.repository(SimRecord);
    for (let group = 0; group < 4; group++) for (let n = 0; n < 3; n++) await repo.delete({ group, n });
  }
  expect(stats.operations).toBe(SEEDS.length * OPERATIONS);
  expect(stats.splits + stats.merges).toBeGreaterThan(0);
  expect(stats.targetFaults).toBeGreaterThan(0);
}, 1_500_000);
