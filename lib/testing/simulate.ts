// simulate(): a deterministic, seeded run of concurrent clients against a SimulationTarget.
// One PRNG (lib/random) drives everything: which client acts, what it does, when its request
// reaches the target and when the answer comes back (sim-network.ts), lost requests and replies,
// forced splits and merges (some landing in the middle of in-flight requests), target faults.
// Then it reads every key through a fresh client and checks (1) the recorded history is
// linearizable per key, (2) every acknowledged write is still there, (3) a full scan and count
// agree with the per-key reads. The same seed gives the same history and target digest.
import { assertSimulationOptions, type SimulationOptions, type SimulationResult, type SimulationStats } from './simulation-result.js';
import { checkLinearizable } from './checker.js';
import { digestOf } from './digest.js';
import { HistoryRecorder } from './recorder.js';
import { SimulatedNetwork } from './sim-network.js';
import { everyKey, nextOp, runOp, SimRecord, type SeenVersions, type WorkloadShape } from './sim-workload.js';
import { verifyFinalState } from './final-state.js';
import { randomBelow, Xoshiro128 } from '../random/prng.js';

/** Settle calls one quiescence wait may make before the scheduler moves on (calls stay in flight). */
export const MAX_SETTLE_CALLS = 1000;
/** Requests one delivery step may start together. */
export const MAX_DELIVERY_BATCH = 3;
/** Microtask turns a mid-flight topology change may wait after a delivery. */
export const MAX_MIDFLIGHT_TURNS = 6;

interface Client {
  repo: ReturnType<typeof makeRepo>;
  seen: SeenVersions;
  busy?: Promise<void>;
}

function makeRepo(rec: HistoryRecorder, net: SimulatedNetwork, options: SimulationOptions, c: number) {
  return rec.wrap(net.gate(options.cluster.repository(SimRecord), c), `client-${c}`, { entity: SimRecord });
}

export async function simulate(options: SimulationOptions): Promise<SimulationResult> {
  assertSimulationOptions(options);
  const { seed, cluster: target } = options;
  const clientCount = options.clients ?? 4;
  const operations = options.operations ?? 200;
  const faults = options.faults ?? {};
  const shape: WorkloadShape = { groups: options.keys?.groups ?? 4, perGroup: options.keys?.perGroup ?? 4, payloadBytes: options.payloadBytes ?? 200 };
  const random = new Xoshiro128(seed);
  const chance = (p: number | undefined): boolean => p !== undefined && p > 0 && randomBelow(random, 1_000_000) < p * 1_000_000;
  const rec = new HistoryRecorder();
  const net = new SimulatedNetwork();
  const clients: Client[] = Array.from({ length: clientCount }, (_, c) => ({ repo: makeRepo(rec, net, options, c), seen: new Map() }));
  const stats: SimulationStats = { steps: 0, operations: 0, splits: 0, merges: 0, targetFaults: 0, requestsLost: 0, repliesLost: 0 };
  const maxSteps = operations * 50 + 1000;

  // A topology change or fault that throws is a finding, not a crash: it is reported with the
  // seed, and no further changes are forced (the workload goes on; the end checks still run).
  const failures: string[] = [];
  let wedged = false;
  const attempt = async (what: string, run: () => Promise<unknown> | unknown): Promise<unknown> => {
    try {
      return await run();
    } catch (error) {
      failures.push(`${what} threw at step ${stats.steps}: ${(error as Error)?.message ?? String(error)}`);
      wedged = true;
      return undefined;
    }
  };
  const topologyChange = async (): Promise<void> => {
    if (wedged) return;
    if (chance(faults.split) && (await attempt('split', () => target.split?.({ random }))) === true) stats.splits++;
    if (chance(faults.merge) && (await attempt('merge', () => target.merge?.({ random }))) === true) stats.merges++;
    const kinds = target.faultKinds ?? [];
    if (kinds.length > 0 && target.fault !== undefined && chance(faults.targetFault)) {
      const kind = kinds[randomBelow(random, kinds.length)];
      await attempt(`fault ${kind}`, () => target.fault?.({ kind, random }));
      stats.targetFaults++;
    }
  };
  const quiesce = async (): Promise<void> => {
    for (let i = 0; i < MAX_SETTLE_CALLS && net.inPhase('running').length > 0; i++) await target.settle();
  };
  const idle = (): number[] => clients.flatMap((c, i) => (c.busy === undefined ? [i] : []));
  const pick = <T>(items: T[]): T => items[randomBelow(random, items.length)];

  while (stats.operations < operations || net.size > 0) {
    if (++stats.steps > maxSteps) throw new Error(`simulate: no progress after ${maxSteps} steps (seed ${seed})`);
    const draining = stats.operations >= operations;
    if (!draining) await topologyChange();
    const actions: Array<'invoke' | 'deliver' | 'reply'> = [];
    if (!draining && idle().length > 0) actions.push('invoke');
    if (net.inPhase('queued').length > 0) actions.push('deliver');
    if (net.inPhase('done').length > 0) actions.push('reply');
    if (actions.length === 0) {
      await target.settle(); // only calls still running inside the target: let them progress
      continue;
    }
    const action = pick(actions);
    if (action === 'invoke') {
      const c = pick(idle());
      const client = clients[c];
      const op = nextOp(random, shape, `client-${c}.${stats.operations}`, client.seen);
      stats.operations++;
      client.busy = runOp(client.repo, op, client.seen).then(
        () => void (client.busy = undefined),
        () => void (client.busy = undefined), // recorded; conflicts and faults are part of the workload
      );
    } else if (action === 'deliver') {
      const queued = net.inPhase('queued');
      const batch = 1 + randomBelow(random, Math.min(queued.length, MAX_DELIVERY_BATCH));
      for (let i = 0; i < batch; i++) {
        const m = queued.splice(randomBelow(random, queued.length), 1)[0];
        if (!draining && chance(faults.requestLoss)) {
          net.drop(m);
          stats.requestsLost++;
          await clients[m.client].busy;
        } else net.deliver(m);
      }
      if (!draining && chance(faults.midFlight)) {
        const turns = randomBelow(random, MAX_MIDFLIGHT_TURNS + 1);
        for (let i = 0; i < turns; i++) await Promise.resolve();
        await topologyChange();
      }
      await quiesce();
    } else {
      const m = pick(net.inPhase('done'));
      const lose = !draining && chance(faults.replyLoss);
      if (lose) stats.repliesLost++;
      net.reply(m, lose);
      await clients[m.client].busy;
    }
  }
  await Promise.all(clients.map((c) => c.busy));
  await target.settle();

  const final = rec.wrap(target.repository(SimRecord), 'final', { entity: SimRecord });
  for (const key of everyKey(shape)) await final.get(key);
  const history = rec.history();
  failures.push(...(await verifyFinalState({ history, repository: target.repository(SimRecord), keys: everyKey(shape).length })));
  const check = checkLinearizable(history, { maxStates: options.maxStates, scans: options.scans ?? 'as-reads' });
  if (check.ok === false) failures.unshift(`not linearizable:\n${check.explanation}`);
  if (check.ok === 'unknown') failures.unshift(`linearizability undecided: ${check.explanation}`);
  const historyDigest = digestOf(history);
  const targetDigest = await target.digest();
  const replay = options.replayCommand?.(seed) ?? `SHARDORM_SEED=${seed} npm test -- __tests__/testing/simulate`;
  return {
    seed,
    ok: failures.length === 0,
    failures,
    check,
    history,
    stats,
    historyDigest,
    targetDigest,
    digest: digestOf([historyDigest, targetDigest]),
    replay,
  };
}
