// simulate() on canisters: seeds per minute of shardorm/testing's simulation against a canister
// cluster of the local replica (the same target and workload as __tests__/cluster-canister/
// simulate.test.ts: 4 clients × 40 ops, lost requests/replies, forced splits and merges, traps,
// rejected forwards and stopped shards), one cluster, rows of a seed deleted before the next.
import { simulate, SimRecord } from '../lib/testing/index.js';
import { deployExampleCluster } from '../__tests__/cluster-canister/harness.js';
import { replicaClusterTarget, simClusterWasm } from '../__tests__/cluster-canister/replica-target.js';

const SEEDS = 5;
const OPERATIONS = 40;
const FAULTS = { requestLoss: 0.03, replyLoss: 0.03, midFlight: 0.1, split: 0.02, merge: 0.02, targetFault: 0.03 };

const cluster = await deployExampleCluster({ seed: 61, wasm: await simClusterWasm(), minShardBytes: 0 });
const agent = cluster.replica.createAgent({ identity: cluster.deployer });
const started = performance.now();
let ok = 0;
for (let seed = 2000; seed < 2000 + SEEDS; seed++) {
  const target = await replicaClusterTarget({ cluster, agent, seed });
  const r = await simulate({ seed, cluster: target, clients: 4, operations: OPERATIONS, faults: FAULTS, keys: { groups: 4, perGroup: 3 } });
  cluster.replica.clearFaults();
  if (r.ok) ok++;
  const repo = target.repository(SimRecord);
  for (let group = 0; group < 4; group++) for (let n = 0; n < 3; n++) await repo.delete({ group, n });
}
const ms = performance.now() - started;
await cluster.close();
console.log('## simulate() on canisters (bench/simulate-replica.bench.ts)\n');
console.log('`npm run bench -- simulate-replica`\n');
console.log(`${SEEDS} seeds × 4 clients × ${OPERATIONS} ops on one canister cluster (checking included): ${(ms / 1000).toFixed(1)} s = **${((SEEDS * 60_000) / ms).toFixed(1)} seeds/minute** (${(ms / SEEDS / 1000).toFixed(1)} s per seed), ${ok}/${SEEDS} linearizable with nothing acknowledged lost.`);
