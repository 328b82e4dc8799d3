// Splits of a full shard of the sample dapp (shardorm_example) on the local replica, with the
// checkpoint rule on: snapshot clone vs streamed copy, each with and without a concurrent writer.
// The shard is filled once (upsertMany of ~4 KiB Snippets); before each split the manager and
// shard 0 are put back to that state by loading canister snapshots of them (and the previous
// split's new shard is deleted), so all four splits start from the same bytes.
// Sizes: BENCH_CLUSTER_MIB (default "64,256") MiB of entities.
import { Principal } from '@dfinity/principal';
import { Snippet } from '../example-app/src/models.js';
import { deployExampleCluster } from '../__tests__/cluster-canister/harness.js';
import { IDLE_DRIVE_ROUNDS, ROUND_MS, runSplit, unavailableWindows, type SplitResult } from './cluster/split.js';

/** Shard sizes benchmarked, MiB of entities, each on a fresh replica. */
const SIZES = (process.env.BENCH_CLUSTER_MIB ?? '64,256').split(',').map(Number);
const BODY_CHARS = 4096;
/** Snippets per upsertMany call: the client cuts them into batches of MAX_BATCH_OPS per shard. */
const FILL_CALL = 1024;
const CHECKPOINT_MS = 5_000;

async function benchSize(MIB: number): Promise<void> {
  const c = await deployExampleCluster({ seed: 7, maxShardBytes: 2 ** 40, replica: { checkpointIntervalMs: CHECKPOINT_MS } } as never);
  const me = c.deployer.getPrincipal();
  const snippets = c.client.repository(Snippet);
  const body = 'b'.repeat(BODY_CHARS);
  const fillStart = performance.now();
  let filled = 0;
  let logical = 0;
  while (logical < MIB * 2 ** 20) {
    const batch = Array.from({ length: FILL_CALL }, (_, i) => Object.assign(new Snippet(), { pageId: `page-${filled + i}`, id: 's', body, owner: me, createdAt: 1n }));
    await snippets.upsertMany(batch);
    filled += FILL_CALL;
    logical = Number((await c.client.status()).shards[0].logicalBytes);
    console.error(`cluster bench: filled ${filled} snippets, ${(logical / 2 ** 20).toFixed(1)} MiB in ${((performance.now() - fillStart) / 1000).toFixed(0)} s`);
  }
  const fillMs = performance.now() - fillStart;

  const mgmt = (method: string, arg: Record<string, unknown>) => c.replica.callManagement({ method: method as never, arg, sender: me });
  async function snapshotOf(canister: Principal): Promise<Uint8Array> {
    await c.replica.stopCanister({ canisterId: canister, sender: me });
    const [snap] = (await mgmt('take_canister_snapshot', { canister_id: canister, replace_snapshot: [], uninstall_code: [] })) as [{ id: Uint8Array }];
    await c.replica.startCanister({ canisterId: canister, sender: me });
    return snap.id;
  }
  async function restore(canister: Principal, id: Uint8Array): Promise<void> {
    await c.replica.stopCanister({ canisterId: canister, sender: me });
    await mgmt('load_canister_snapshot', { canister_id: canister, snapshot_id: id, sender_canister_version: [] });
    await c.replica.startCanister({ canisterId: canister, sender: me });
  }
  const baseline = { manager: await snapshotOf(c.manager), shard: await snapshotOf(c.entry) };

  const results: SplitResult[] = [];
  for (const method of ['snapshot', 'stream'] as const) {
    for (const writers of [false, true]) {
      const r = await runSplit(c, { method, writers });
      results.push(r);
      console.error(`cluster bench: ${method}${writers ? ' + writer' : ''}: done in ${r.rounds.toDone} rounds, ${(r.wallMs.toDone / 1000).toFixed(1)} s`);
      await c.replica.stopCanister({ canisterId: r.target, sender: me });
      await mgmt('delete_canister', { canister_id: r.target });
      await restore(c.manager, baseline.manager);
      await restore(c.entry, baseline.shard);
    }
  }
  report(MIB, filled, logical, fillMs, results);
  await c.close();
}

for (const size of SIZES) await benchSize(size);

/** Wall ms to cutover without the benchmark's own status queries. */
function lessPolls(r: SplitResult): number {
  return r.wallMs.toCutover - r.pollWallMs.toCutover;
}

/** Wall ms to cutover without the status queries and without the writer's own executions: the split's work. */
function splitWall(r: SplitResult): number {
  return lessPolls(r) - r.writerWallMs.toCutover;
}

/** Wall ms of the rounds (up to the cutover) after which the migration's phase had moved on: the split's work without the rounds that only waited for a checkpoint. */
function movingWall(r: SplitResult): number {
  return r.phases.filter((p) => p.round <= r.rounds.toCutover).reduce((s, p) => s + r.roundWallMs[p.round - 1], 0);
}

function report(MIB: number, filled: number, logical: number, fillMs: number, rs: SplitResult[]): void {
  const fmt = (n: number | bigint) => Number(n).toLocaleString('en-US');
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(2)} MiB`;
  const name = (r: SplitResult) => `${r.method === 'snapshot' ? 'snapshot clone' : 'streamed copy'}${r.writers ? ', 1 writer × 8 keys' : ', no writer'}`;
  const entityBytes = (r: SplitResult) => (r.sent.get('apply_rows')?.bytes ?? 0) + (r.sent.get('apply_delta')?.bytes ?? 0);
  console.log(`## Cluster: split of a shard holding ${MIB} MiB of Snippets (shardorm_example)\n`);
  console.log(`\`npm run bench -- cluster\` (BENCH_CLUSTER_MIB=${SIZES.join(',')}). ${fmt(filled)} Snippets of ${BODY_CHARS}-char bodies, ${mib(logical)} logical bytes on shard 0,`);
  console.log(`filled by ShardedClient.upsertMany (in-process agent) in ${(fillMs / 1000).toFixed(0)} s. Checkpoint rule on (a checkpoint every ${CHECKPOINT_MS / 1000} s of replica time);`);
  console.log(`one round = one \`replica.tick()\` followed by ${ROUND_MS} ms of replica time. The manager is driven by \`drive\`: a new one as soon as the last returned`);
  console.log(`having done some work; after one that found nothing due (a backoff, the checkpoint rule) the manager is left to its own 2 s timer for ${IDLE_DRIVE_ROUNDS} rounds,`);
  console.log('as a deployed manager would be (the same rule for both methods; "drives" below counts the benchmark\'s calls and the idle ones).');
  console.log('With a writer: every round one upsert (200-char body) to each of 8 keys, sent to shard 0 (which serves or forwards it).');
  console.log('The replica runs the messages an execution sends within the same round (up to 100 inner passes, as the IC does for subnet-local');
  console.log('messages up to its per-round instruction bound, which the replica does not model), so a whole stop → snapshot → start, a fenced');
  console.log('cutover, or many copy batches complete inside one round here: rounds below are replica rounds, not IC rounds.\n');
  console.log('Instructions leave out the benchmark\'s status queries on the manager and on the source (each `cluster_status` asks every shard for a report).');
  console.log('"Wall to cutover" is measured from the `split_shard` call to the end of the round in which the benchmark saw the cutover;');
  console.log('"less polls" takes out the wall time of the benchmark\'s own `cluster_status` query after every round (how it sees the phase;');
  console.log('its instructions are left out of the split\'s too), with the same rule for both methods: it is one query per round, so it weighs on');
  console.log('the snapshot clone\'s rounds that wait for the checkpoint and hardly on the streamed copy\'s few long rounds.');
  console.log('"Less polls and writer" also takes out the wall time the replica spent executing the writer\'s own calls (`execute` and its');
  console.log('callbacks, timed around each execution), as the instructions of the split do: the application\'s work, which runs in every');
  console.log('round with or without a split. It is what the split itself costs the replica; "less polls" is what the run took with that load on.');
  console.log('The snapshot clone\'s rounds are mostly a wait for the next checkpoint (at most one interval, whatever the shard holds), so with a');
  console.log('writer its "less polls" grows with the load per round, not with the data; the streamed copy\'s grows with the data.\n');
  console.log('| split | payload of apply_rows + apply_delta | all inter-canister payload | instructions of the split (the writer\'s `execute` calls left out) | all instructions: source + target + manager | rounds to cutover | drives (idle) | wall to cutover | less polls | less polls and writer | of it, in rounds where the phase moved | rounds to done | wall to done |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rs) {
    const all = [...r.sent.values()].reduce((s, v) => s + v.bytes, 0);
    const instr = r.instructions.source + r.instructions.target + r.instructions.manager;
    console.log(`| ${name(r)} | ${fmt(entityBytes(r))} B | ${fmt(all)} B | ${fmt(r.splitInstructions)} | ${fmt(instr)} (${fmt(r.instructions.source)} + ${fmt(r.instructions.target)} + ${fmt(r.instructions.manager)}) | ${r.rounds.toCutover} | ${r.drives.sent} (${r.drives.idle}) | ${fmt(Math.round(r.wallMs.toCutover))} ms | ${fmt(Math.round(lessPolls(r)))} ms | ${fmt(Math.round(splitWall(r)))} ms | ${fmt(Math.round(movingWall(r)))} ms (${r.phases.filter((p) => p.round <= r.rounds.toCutover).length} rounds) | ${r.rounds.toDone} | ${fmt(Math.round(r.wallMs.toDone))} ms |`);
  }
  const pair = (w: boolean) => [rs.find((r) => r.method === 'snapshot' && r.writers === w)!, rs.find((r) => r.method === 'stream' && r.writers === w)!];
  for (const w of [false, true]) {
    const [s, t] = pair(w);
    console.log(`\n${w ? 'With' : 'Without'} the writer: streamed copy / snapshot clone = **${(lessPolls(t) / lessPolls(s)).toFixed(1)}× wall to cutover less the polls**${w ? `, **${(splitWall(t) / splitWall(s)).toFixed(1)}× less the polls and the writer's executions**` : ''} (${(t.wallMs.toCutover / s.wallMs.toCutover).toFixed(1)}× with the polls, ${(movingWall(t) / movingWall(s)).toFixed(1)}× in the rounds where the phase moved), ${(Number(t.splitInstructions) / Number(s.splitInstructions)).toFixed(1)}× instructions of the split.`);
  }
  console.log('\n### Write unavailability seen by the writer (keys in the moving range)\n');
  console.log('Rounds in which a write to a moving key got a retryable answer (canister stopped, or `retry`: fenced), as contiguous windows; ms = the wall time the replica spent in those rounds (+ replica time: rounds × ' + `${ROUND_MS} ms). Writes to moving keys answered ok / retryable / other error.\n`);
  console.log('| split | windows (rounds, from–to) | rounds | wall ms | ok / retryable / error | phases (round first seen) |');
  console.log('|---|---|---:|---:|---:|---|');
  for (const r of rs.filter((x) => x.writers)) {
    const windows = unavailableWindows(r);
    const rounds = windows.reduce((s, w) => s + w.to - w.from + 1, 0);
    const ms = windows.reduce((s, w) => s + r.roundWallMs.slice(w.from - 1, w.to).reduce((a, b) => a + b, 0), 0);
    const moving = r.writes.filter((x) => x.hash >= r.moving.start && x.hash < r.moving.end);
    const count = (o: string) => moving.filter((x) => x.outcome === o).length;
    const errors = [...new Set(moving.filter((x) => x.outcome === 'error').map((x) => x.detail))].join('; ');
    console.log(`| ${name(r)} | ${windows.map((w) => `${w.to - w.from + 1} (${w.from}–${w.to})`).join(', ') || 'none'} | ${rounds} | ${fmt(Math.round(ms))} | ${count('ok')} / ${count('retryable')} / ${count('error')}${errors ? ` (${errors})` : ''} | ${r.phases.map((p) => `${p.phase} ${p.round}`).join(', ')} |`);
  }
  console.log('\n### Pauses from the execution trace (every split)\n');
  console.log('Source not running: from the first execution after which the source is no longer `running` to the first after which it runs again; fenced: from the source\'s `cutover` execution to the manager\'s execution of its reply. Rounds are replica rounds (`from–to`), ms wall time.\n');
  console.log('| split | source stopped (rounds, ms) | cutover fence (rounds, ms) |');
  console.log('|---|---|---|');
  const pauses = (r: SplitResult, what: string) => r.paused.filter((p) => p.what === what).map((p) => `${p.toRound - p.fromRound + 1} round${p.toRound > p.fromRound ? 's' : ''} (${p.fromRound}–${p.toRound}), ${p.ms.toFixed(1)} ms`).join('; ') || 'none';
  for (const r of rs) console.log(`| ${name(r)} | ${pauses(r, 'stopped')} | ${pauses(r, 'fenced')} |`);
  console.log('\nInter-canister requests during each split, by method (calls, payload bytes):\n');
  for (const r of rs) console.log(`- ${name(r)}: ${[...r.sent].map(([m, v]) => `${m} ${v.calls} × = ${fmt(v.bytes)} B`).join(', ')}`);
  console.log('\nLargest costs of each split (instructions by canister and execution, from the trace):\n');
  for (const r of rs) console.log(`- ${name(r)}: ${r.topCosts.map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
  console.log('');
}
