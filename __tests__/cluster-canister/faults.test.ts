// The fault matrix on real canisters: a snapshot split, a streamed split and a merge of the sample
// dapp's cluster, with a fault aimed at every step — a trap in the shard's housekeeping method of
// that step (or a rejected management call, for management steps), a stopped source or target
// (started again a few clock advances later), or the manager upgraded mid-way — while 4 writers
// entering at random shards keep writing. Afterwards: the migration is done (or rolled back before
// its cutover), every key reads the same from every entry shard, the recorded history is
// linearizable (nothing acknowledged lost, duplicated or resurrected), no canister is left stopped.
// CI runs one migration of each kind with a different fault kind at each of its steps (every step
// of each kind gets a fault); SHARDORM_LONG=1 runs every (step, fault kind) pair as its own migration.
import { Principal } from '@dfinity/principal';
import { HistoryRecorder } from 'shardorm/testing';
import { type AimedFault, runMigration, shardsOf, status, type RunResult } from './fault-run.js';
import { faultKindsAt, STEPS, type MigrationCase } from './fault-steps.js';
import type { CanisterCluster } from './harness.js';
import { deploySeededCluster, everyKey, verifyCluster, Writers } from './writers.js';

const LONG = process.env.SHARDORM_LONG === '1';
const WRITERS = 4;

let cluster: CanisterCluster;
let recorder: HistoryRecorder;

beforeAll(async () => {
  recorder = new HistoryRecorder();
  cluster = await deploySeededCluster({ seed: 31, recorder });
}, 600_000);
afterAll(() => cluster?.close());

/** The shard holding most of the writers' keys (so a split has data on both sides). */
async function fullestShard(): Promise<Principal> {
  const s = await status(cluster);
  const best = [...s.shards].sort((a: any, b: any) => Number(b.entities - a.entities))[0]; // eslint-disable-line @typescript-eslint/no-explicit-any
  return best.shard as Principal;
}

/** Runs one migration under 4 writers and checks everything afterwards. */
async function underWriters(kind: MigrationCase, source: Principal, faults: AimedFault[], seed: number): Promise<RunResult> {
  const agent = cluster.replica.createAgent({ identity: cluster.deployer });
  const writers = new Writers({ agent, entry: cluster.entry, recorder, owner: cluster.deployer.getPrincipal(), count: WRITERS, seed });
  await writers.start();
  let result: RunResult;
  try {
    result = await runMigration(cluster, { kind, source, faults });
  } finally {
    await writers.stop();
  }
  expect(writers.ops).toBeGreaterThan(WRITERS);
  const cutOver = result.seen.includes('cut-over');
  if (result.phase === 'rolled-back') expect(cutOver).toBe(false);
  else expect(result.phase).toBe('done');
  await verifyCluster({ cluster, agent, recorder, keys: everyKey() });
  return result;
}

/** CI: one fault per step, the kind rotating with the step so each kind lands on several steps. */
function rotating(kind: MigrationCase, offset: number): AimedFault[] {
  return STEPS[kind].map((s, i) => {
    const kinds = faultKindsAt(s);
    return { phase: s.phase, kind: kinds[(i + offset) % kinds.length] };
  });
}

const name = (faults: AimedFault[]) => faults.map((f) => `${f.phase}:${f.kind}`).join(', ');

const ci: { kind: MigrationCase; offset: number }[] = [
  { kind: 'snapshot', offset: 0 },
  { kind: 'merge', offset: 1 },
  { kind: 'stream', offset: 2 },
  { kind: 'merge', offset: 3 },
];

describe.each(ci)('every step of a $kind with a fault (rotation $offset)', ({ kind, offset }) => {
  const faults = rotating(kind, offset);
  test(`${kind}: ${name(faults)}`, async () => {
    const s = await status(cluster);
    const source = kind === 'merge' ? Principal.fromText(shardsOf(s)[shardsOf(s).length - 1]) : await fullestShard();
    const r = await underWriters(kind, source, faults, offset + 1);
    expect(r.phase).toBe('done');
    const missed = faults.filter((f) => !r.applied.some((a) => a.phase === f.phase && a.kind === f.kind));
    expect(missed).toEqual([]);
    if (kind === 'merge') expect(cluster.replica.canister(source)?.deleted ?? true).toBe(true);
  }, 900_000);
});

const matrix = LONG
  ? (['snapshot', 'stream', 'merge'] as const).flatMap((kind) => STEPS[kind].flatMap((s) => faultKindsAt(s).map((f) => ({ kind, fault: { phase: s.phase, kind: f } }))))
  : [];

(LONG ? describe : describe.skip)('SHARDORM_LONG: every (step, fault kind) pair as its own migration', () => {
  test.each(matrix.length > 0 ? matrix : [{ kind: 'snapshot' as MigrationCase, fault: { phase: 'planned', kind: 'trap' } as AimedFault }])('$kind at $fault.phase: $fault.kind', async ({ kind, fault }) => {
    let s = await status(cluster);
    if (kind === 'merge' && shardsOf(s).length < 3) {
      await underWriters('snapshot', await fullestShard(), [], 7);
      s = await status(cluster);
    }
    const source = kind === 'merge' ? Principal.fromText(shardsOf(s)[shardsOf(s).length - 1]) : await fullestShard();
    const r = await underWriters(kind, source, [fault], 11);
    expect(r.applied).toEqual([fault]);
    // Keep the cluster at two or three shards.
    s = await status(cluster);
    if (shardsOf(s).length > 3) await underWriters('merge', Principal.fromText(shardsOf(s)[shardsOf(s).length - 1]), [], 13);
  }, 900_000);
});
