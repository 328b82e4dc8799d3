// shardorm/testing costs: checkLinearizable on synthetic linearizable histories (8 clients over
// 100 keys, 10,000 and 100,000 operations, with and without unknown outcomes; a sequential
// reference store stretched over concurrent clients), the time to reject a corrupted one, and
// simulate() seeds per minute on MemoryCluster with the CI test's fault mix. Prints a markdown
// section; figures are from one process on a shared machine (compare rows, not runs).
//   npm run bench -- checker        (or: npx tsx bench/checker.bench.ts)
import { MemoryCluster } from '../lib/index.js';
import { Xoshiro128 } from '../lib/random/prng.js';
import { checkLinearizable, memoryClusterTarget, simulate, syntheticHistory, type History } from '../lib/testing/index.js';

const ROUNDS = 3; // best of
const SIM_SEEDS = Number(process.env.BENCH_SIM_SEEDS ?? 40);

function best(run: () => void): number {
  let ms = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    run();
    ms = Math.min(ms, performance.now() - t);
  }
  return ms;
}

function corruptOneRead(h: History): History {
  const copy: History = JSON.parse(JSON.stringify(h));
  const invokes = new Map(copy.events.filter((e) => e.type === 'invoke').map((e) => [e.id, e]));
  const reads = copy.events.filter((e) => e.type === 'complete' && e.outcome === 'ok' && invokes.get(e.id)?.op === 'get');
  const victim = reads[Math.floor(reads.length / 2)];
  if (victim?.type === 'complete') victim.result = { k: 'k0', x: -1, v: { $bigint: '1' } };
  return copy;
}

const rows: string[] = [];
for (const operations of [10_000, 100_000]) {
  for (const unknownRate of [0, 0.05]) {
    const h = syntheticHistory({ random: new Xoshiro128(operations + Math.round(unknownRate * 100)), operations, clients: 8, keys: 100, unknownRate });
    let explored = 0;
    const ms = best(() => {
      const r = checkLinearizable(h);
      if (r.ok !== true) throw new Error(`synthetic history rejected: ${JSON.stringify(r).slice(0, 400)}`);
      explored = r.explored;
    });
    const bad = corruptOneRead(h);
    let shrunk = 0;
    const rejectMs = best(() => {
      const r = checkLinearizable(bad);
      if (r.ok !== false) throw new Error('corrupted history accepted');
      shrunk = r.ops.length;
    });
    rows.push(
      `| ${operations.toLocaleString('en')} | ${unknownRate * 100} % | ${ms.toFixed(0)} ms | ${Math.round(operations / (ms / 1000)).toLocaleString('en')} | ${explored.toLocaleString('en')} | ${rejectMs.toFixed(0)} ms (${shrunk} ops) |`,
    );
  }
}

const faults = { requestLoss: 0.03, replyLoss: 0.03 }; // the CI mix (forced splits/merges wedge MemoryCluster today)
const t0 = performance.now();
for (let seed = 1; seed <= SIM_SEEDS; seed++) {
  const cluster = MemoryCluster.create({ shards: 2, maxShardBytes: 2000, minShardBytes: 300, entry: 'random', seed });
  const r = await simulate({ seed, cluster: memoryClusterTarget(cluster), clients: 4, operations: 200, faults });
  if (!r.ok) throw new Error(`seed ${seed} failed`);
}
const simMs = performance.now() - t0;

console.log(`## Linearizability checker and simulation (shardorm/testing)

\`npx tsx bench/checker.bench.ts\` — Node ${process.version}, best of ${ROUNDS} per cell, one process.
Histories: \`syntheticHistory\` (8 clients, 100 keys; 30 % get, 15 % insert, 15 % upsert, 25 % update,
15 % delete; half of upserts/updates @Version-conditional), all linearizable by construction.
"reject" = the same history with one read changed to a value nobody wrote, including shrinking.

| operations | unknown outcomes | check | ops/s | explored states | reject + shrink |
|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}

simulate() on MemoryCluster (4 clients × 200 ops, 4 × 4 keys, request/reply loss 3 % each,
automatic splits above 2,000 bytes and merges below 300, entry at random shards): ${SIM_SEEDS} seeds in ${(simMs / 1000).toFixed(1)} s = **${Math.round((SIM_SEEDS / simMs) * 60_000)} seeds/minute**
(${(simMs / SIM_SEEDS).toFixed(0)} ms per seed, checking included).`);
