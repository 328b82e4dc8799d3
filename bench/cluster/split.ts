// One split of the sample dapp's shard 0 on the local replica, driven round by round so the
// benchmark sees what a writer sees: each round it sends one write per probe key to shard 0
// (which serves or forwards it) and records whether the answer was retryable (canister stopped,
// writes fenced); the manager is driven through `drive` and its phases are read every round.
// Instructions are summed over source, target and manager; the inter-canister payload bytes come
// from the replica's per-method counter (Engine.sentRequests).
import { IDL } from '@dfinity/candid';
import type { Principal } from '@dfinity/principal';
import { RangePartitioner, requestToCandid, responseFromCandid, ShardRequestIdl, ShardResponseIdl, Reply, type Op } from 'shardorm';
import { TickIdl } from '../../lib/protocol/manager-candid.js';
import { Snippet } from '../../example-app/src/models.js';
import { opsOf } from '../../__tests__/canister/shard-cluster.js';
import type { CanisterCluster } from '../../__tests__/cluster-canister/harness.js';
import { Canister } from '../../lib/replica/canister.js';

/** Replica time one round stands for (the IC's app subnets make about one block per second). */
export const ROUND_MS = 100;
/** Rounds a split may take before the benchmark gives up (bounded, not a timeout in wall time). */
export const MAX_SPLIT_ROUNDS = 5_000;
/**
 * Rounds the benchmark leaves the manager to its own timer after a `drive` that performed no
 * effect: the manager canister ticks itself every MANAGER_TICK_S = 2 s (lib/canister/manager-canister.ts).
 */
export const IDLE_DRIVE_ROUNDS = 2_000 / ROUND_MS;
/** Keys the concurrent writer writes, one write each per round (about half fall in the moving range). */
export const PROBE_KEYS = 8;

export interface WriteRecord {
  key: number;
  hash: bigint;
  round: number;
  outcome: 'ok' | 'retryable' | 'error';
  detail?: string;
}

export interface SplitResult {
  method: 'snapshot' | 'stream';
  writers: boolean;
  rounds: { toCutover: number; toDone: number };
  wallMs: { toCutover: number; toDone: number };
  /** `drive` calls the benchmark made, and how many of them found nothing due. */
  drives: { sent: number; idle: number };
  /** Wall ms each round took (index = round number - 1 since the request). */
  roundWallMs: number[];
  /**
   * Wall ms of the benchmark's own status queries (one `cluster_status` per round, to see the
   * phase), summed up to the cutover and to done: measurement, not the split's work, so the
   * report takes them out of the wall times as the instructions already are (both methods alike).
   */
  pollWallMs: { toCutover: number; toDone: number };
  /**
   * Wall ms the replica spent executing the writer's own calls (`execute` on any member and its
   * callbacks), up to the cutover and to done: the application's work, which runs in every round
   * whether a split is under way or not, left out as its instructions are.
   */
  writerWallMs: { toCutover: number; toDone: number };
  instructions: { source: bigint; target: bigint; manager: bigint };
  /** Inter-canister request payload bytes and calls by method, during the split. */
  sent: Map<string, { calls: number; bytes: number }>;
  /** Instructions of source + target + manager less the writer's `execute` calls (from the trace) and the benchmark's status queries. */
  splitInstructions: bigint;
  /** From the execution trace: source not running (stop → start), and the cutover fence (source's `cutover` → the manager has its reply). */
  paused: Array<{ what: 'stopped' | 'fenced'; fromRound: number; toRound: number; ms: number }>;
  /** The costliest (canister role, execution label) pairs, writer's executes included. */
  topCosts: Array<[string, bigint]>;
  /** Phase first seen after each round. */
  phases: Array<{ phase: string; round: number }>;
  writes: WriteRecord[];
  target: Principal;
  moving: { start: bigint; end: bigint };
  copiedBytes: number;
}

const ShardReply = Reply(ShardResponseIdl);

/* eslint-disable @typescript-eslint/no-explicit-any */
export async function runSplit(c: CanisterCluster, options: { method: 'snapshot' | 'stream'; writers: boolean }): Promise<SplitResult> {
  const { replica } = c;
  const me = c.deployer.getPrincipal();
  const ids = () => replica.canisterIds().map((p) => p.toText());
  const before = new Set(ids());
  const counted = (id: Principal | undefined) => (id ? replica.canister(id)?.instructionsExecuted ?? 0n : 0n);
  const sentBefore = new Map([...replica.engine.sentRequests].map(([k, v]) => [k, { ...v }]));
  const startInstr = { source: counted(c.entry), manager: counted(c.manager) };
  // The status queries the benchmark itself makes are not the split's work: their instructions are taken out.
  // They reach the shards too (cluster_status asks every shard for its report).
  const pollInstr = { manager: 0n, source: 0n };
  const probeOps = await Promise.all(
    Array.from({ length: PROBE_KEYS }, (_, k) =>
      opsOf(Snippet, RangePartitioner.even([c.entry.toText()]), (r) => r.upsert(Object.assign(new Snippet(), { pageId: `probe-${k}`, id: 'w', body: 'w'.repeat(200), owner: me, createdAt: 0n })))
    )
  );
  // The writer's requests are encoded once and its replies decoded after the split: the
  // benchmark's own Candid work is measurement, not the split's (and would weigh on every round).
  const probeArgs = probeOps.map(([op]) => new Uint8Array(IDL.encode([ShardRequestIdl], [requestToCandid({ ops: [op], hops: 0 })])));
  const answers: Array<{ key: number; hash: bigint; round: number; reply?: Uint8Array; error?: Error }> = [];
  const write = (key: number, round: number, op: Op): void => {
    const hash = op.kind === 'put' ? op.hash : 0n;
    replica.submitCall({ canisterId: c.entry, method: 'execute', arg: probeArgs[key], sender: me }).then(
      (reply) => void answers.push({ key, hash, round, reply }),
      (error: Error) => void answers.push({ key, hash, round, error })
    );
  };
  const decodeWrites = (): WriteRecord[] =>
    answers.map(({ key, hash, round, reply, error }) => {
      if (error !== undefined) return { key, hash, round, outcome: /stopp/i.test(error.message) ? 'retryable' : 'error', detail: error.message.slice(0, 120) };
      const decoded = IDL.decode([ShardReply], reply!)[0] as any;
      if ('err' in decoded) return { key, hash, round, outcome: 'error', detail: decoded.err.code };
      const r = responseFromCandid(decoded.ok).results[0];
      return { key, hash, round, outcome: r.kind === 'value' ? 'ok' : r.kind === 'retry' ? 'retryable' : 'error', detail: r.kind };
    });

  const trace = traceSplit(c);
  const requested = await c.managerActor.split_shard({ shard: c.entry, method: [options.method] });
  if ('err' in requested) throw new Error(`split_shard: ${JSON.stringify(requested.err)}`);
  const phases: SplitResult['phases'] = [];
  const roundWallMs: number[] = [];
  let driving = false;
  let driveAfterRound = 0;
  const drives = { sent: 0, idle: 0 };
  const DriveReply = Reply(TickIdl);
  let cutoverRound = 0;
  let cutoverWall = 0;
  let pollWall = 0;
  let pollWallAtCutover = 0;
  let writerWallAtCutover = 0;
  let status: any;
  const t0 = performance.now();
  for (let round = 1; ; round++) {
    if (round > MAX_SPLIT_ROUNDS) throw new Error(`the ${options.method} split did not finish in ${MAX_SPLIT_ROUNDS} rounds: ${JSON.stringify(phases.slice(-3))}`);
    if (options.writers) probeOps.forEach(([op], k) => write(k, round, op));
    if (!driving && round > driveAfterRound) {
      driving = true;
      drives.sent++;
      const arg = new Uint8Array(IDL.encode([], []));
      replica
        .submitCall({ canisterId: c.manager, method: 'drive', arg: arg, sender: me })
        .then((bytes) => {
          const reply = IDL.decode([DriveReply], bytes)[0] as any;
          if ('ok' in reply && reply.ok.effects === 0) (drives.idle++, (driveAfterRound = round + IDLE_DRIVE_ROUNDS));
        })
        .finally(() => (driving = false))
        .catch(() => undefined);
    }
    const roundStart = performance.now();
    await replica.tick();
    roundWallMs.push(performance.now() - roundStart);
    await replica.advanceTime(ROUND_MS);
    await new Promise((resolve) => setImmediate(resolve)); // let the settled calls' callbacks run
    const polled = { manager: counted(c.manager), source: counted(c.entry) };
    const pollStart = performance.now();
    status = await c.managerActor.cluster_status();
    pollWall += performance.now() - pollStart;
    pollInstr.manager += counted(c.manager) - polled.manager;
    pollInstr.source += counted(c.entry) - polled.source;
    const m = status.ok.migrations.at(-1);
    if (m && phases.at(-1)?.phase !== m.state) phases.push({ phase: m.state, round });
    if (m && cutoverRound === 0 && ['cut-over', 'announced', 'source-drained', 'done'].includes(m.state)) {
      cutoverRound = round;
      cutoverWall = performance.now() - t0;
      pollWallAtCutover = pollWall;
      writerWallAtCutover = trace.writerWallMs();
    }
    if (m?.state === 'rolled-back') throw new Error(`the ${options.method} split rolled back: ${m.last_error}`);
    if (m?.state === 'done' && !driving) {
      const doneWall = performance.now() - t0;
      const writerWallAtDone = trace.writerWallMs();
      const traced = trace.stop();
      const target = replica.canisterIds().find((p) => !before.has(p.toText()))!;
      const instructions = { source: counted(c.entry) - startInstr.source - pollInstr.source, target: counted(target), manager: counted(c.manager) - startInstr.manager - pollInstr.manager };
      const shard = status.ok.shards.find((s: any) => s.shard.toText() === target.toText());
      const sent = new Map<string, { calls: number; bytes: number }>();
      for (const [method, v] of replica.engine.sentRequests) {
        const b = sentBefore.get(method) ?? { calls: 0, bytes: 0 };
        if (v.calls > b.calls) sent.set(method, { calls: v.calls - b.calls, bytes: v.bytes - b.bytes });
      }
      return {
        method: options.method,
        writers: options.writers,
        rounds: { toCutover: cutoverRound, toDone: round },
        wallMs: { toCutover: cutoverWall, toDone: doneWall },
        drives,
        roundWallMs,
        pollWallMs: { toCutover: pollWallAtCutover, toDone: pollWall },
        writerWallMs: { toCutover: writerWallAtCutover, toDone: writerWallAtDone },
        instructions,
        sent,
        splitInstructions: instructions.source + instructions.target + instructions.manager - traced.writer(target),
        paused: traced.paused,
        topCosts: traced.top(target, 6),
        phases,
        writes: decodeWrites(),
        target,
        moving: { start: BigInt(shard.start), end: BigInt(shard.end) },
        copiedBytes: Number(m.copied_bytes)
      };
    }
  }
}

/** Contiguous runs of rounds in which some write to a key of `range` got a retryable answer. */
export function unavailableWindows(result: SplitResult): Array<{ from: number; to: number }> {
  const inRange = (h: bigint) => h >= result.moving.start && h < result.moving.end;
  const rounds = [...new Set(result.writes.filter((w) => inRange(w.hash) && w.outcome === 'retryable').map((w) => w.round))].sort((a, b) => a - b);
  const windows: Array<{ from: number; to: number }> = [];
  for (const r of rounds) {
    const last = windows.at(-1);
    if (last && r === last.to + 1) last.to = r;
    else windows.push({ from: r, to: r });
  }
  return windows;
}

/**
 * Watches the replica's execution trace (Engine.record, wrapped for the length of one split):
 * wall time and round of each execution, the source's status after it, and instructions per
 * canister and method, so the writer's own work can be left out of the split's cost. Canister
 * executions are timed too (Canister.prototype.execute, wrapped likewise) to sum the wall time of
 * the writer's calls.
 */
function traceSplit(c: CanisterCluster) {
  const engine = c.replica.engine;
  const original = engine.record.bind(engine);
  const source = c.entry.toText();
  const manager = c.manager.toText();
  const lines: Array<{ id: string; kind: string; label: string; instructions: bigint }> = [];
  const paused: SplitResult['paused'] = [];
  let stoppedAt: { round: number; t: number } | undefined;
  let fencedAt: { round: number; t: number } | undefined;
  let writerMs = 0;
  const execute = Canister.prototype.execute;
  Canister.prototype.execute = function (this: Canister, exec, entry) {
    if (exec.input.methodName !== 'execute' || !exec.replicated) return execute.call(this, exec, entry);
    const t = performance.now();
    try {
      return execute.call(this, exec, entry);
    } finally {
      writerMs += performance.now() - t;
    }
  };
  engine.record = (line: string) => {
    original(line);
    const t = performance.now();
    const [id, kind, label, , instr] = line.split(' ');
    if (/^\d+$/.test(instr ?? '')) lines.push({ id, kind, label, instructions: BigInt(instr) });
    const running = c.replica.canister(c.entry)?.status === 'running';
    if (!running && !stoppedAt) stoppedAt = { round: engine.round, t };
    if (running && stoppedAt) {
      paused.push({ what: 'stopped', fromRound: stoppedAt.round, toRound: engine.round, ms: t - stoppedAt.t });
      stoppedAt = undefined;
    }
    if (id === source && kind === 'update' && label === 'cutover') fencedAt ??= { round: engine.round, t };
    if (id === manager && label === 'reply<cutover' && fencedAt) {
      paused.push({ what: 'fenced', fromRound: fencedAt.round, toRound: engine.round, ms: t - fencedAt.t });
      fencedAt = undefined;
    }
  };
  return {
    writerWallMs: () => writerMs,
    stop() {
      engine.record = original;
      Canister.prototype.execute = execute;
      return {
        paused,
        top(target: Principal, n: number): Array<[string, bigint]> {
          const role = new Map([[source, 'source'], [manager, 'manager'], [target.toText(), 'target']]);
          const sums = new Map<string, bigint>();
          for (const l of lines) {
            const who = role.get(l.id);
            if (who === undefined || l.kind.includes('query') || l.kind.startsWith('composite')) continue;
            const k = `${who} ${l.kind} ${l.label}`;
            sums.set(k, (sums.get(k) ?? 0n) + l.instructions);
          }
          return [...sums].sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : 0)).slice(0, n);
        },
        /** Instructions of the writer's own `execute` calls (and their callbacks) on the cluster's canisters. */
        writer(target: Principal): bigint {
          const members = new Set([source, manager, target.toText()]);
          const ofWriter = (l: (typeof lines)[number]) => !l.kind.includes('query') && (l.label === 'execute' || l.label.endsWith('<execute'));
          return lines.filter((l) => members.has(l.id) && ofWriter(l)).reduce((s, l) => s + l.instructions, 0n);
        }
      };
    }
  };
}
