// The whole migration state machine: a split or a merge as data plus pure transitions. `nextEffect`
// says what to do in the current phase; `applyResult` takes what happened and moves the phase on.
// A driver (lib/topology/driver.ts) performs effects — management and shard calls in the manager
// canister, direct calls in MemoryCluster — and persists the record after every transition, so a
// trap, a reject or a manager upgrade resumes at the same step. Every effect is idempotent.
//
//  split, snapshot:  planned → pointed → target-created → prepared → source-stopped → snapshotted
//                    → source-started → target-stopped → loaded → target-installed → copied
//                    → caught-up → cut-over → announced → done
//  split, stream:    … prepared → target-installed → target-ready (copy batches) → copied → …
//  merge (stream):   target-created → prepared → target-installed → target-ready → copied → …
//                    → announced → source-drained → done
//  rollback (any phase before cut-over): rolling-back (cleanup steps) → rolled-back
import { RangePartitioner, type RangePartitionerJSON, type ShardId } from '../partition/index.js';
import type { CopyMethod, MigrationKind, MigrationPlan } from '../protocol/housekeeping.js';

/** Failed attempts of one step before a migration that has not cut over rolls back. */
export const MAX_STEP_ATTEMPTS = 8;
/**
 * "Snapshot not loadable yet" answers (the IC's checkpoint rule) are retried every LOAD_WAIT_NS:
 * the wait ends at the subnet's next checkpoint, which nothing announces, so a growing backoff
 * would only add its overshoot to every snapshot split. A canister's timer paces the retries
 * (the manager ticks every 2 s), so MAX_LOAD_WAITS outlasts a checkpoint interval of half an
 * hour (the IC's is about 500 rounds) before the split rolls back.
 */
export const LOAD_WAIT_NS = 500_000_000n;
export const MAX_LOAD_WAITS = 1_000;
/** Delta entries left before the cutover may start (the rest goes inside the fence). */
export const CATCH_UP_ENTRIES = 256;
/** Backoff between attempts of a step: base × 2^attempt, capped. */
export const RETRY_BASE_NS = 200_000_000n;
export const RETRY_CAP_NS = 30_000_000_000n;

export type Phase =
  | 'planned' | 'pointed' | 'target-created' | 'prepared'
  | 'source-stopped' | 'snapshotted' | 'source-started' | 'target-stopped' | 'loaded'
  | 'target-installed' | 'target-ready' | 'copied' | 'caught-up'
  | 'cut-over' | 'announced' | 'source-drained' | 'done'
  | 'rolling-back' | 'rolled-back';

export type CleanupStep = 'start-source' | 'abort-source' | 'abort-target' | 'delete-target' | 'delete-snapshot';

export interface Migration {
  id: string;
  kind: MigrationKind;
  method: CopyMethod;
  phase: Phase;
  source: ShardId;
  target?: ShardId;
  /** The manager's map when the migration was planned; `plan.next` is the map after it. */
  prev: RangePartitionerJSON;
  at?: bigint;
  plan?: MigrationPlan;
  snapshotId?: string;
  attempts: number;
  loadWaits: number;
  /** Replica time (ns) before which the next attempt must not start. */
  retryAt: bigint;
  lastError?: string;
  /** Rows and bytes sent by streamed copy, delta entries left: progress for `status`. */
  copiedRows: number;
  copiedBytes: number;
  deltaRemaining?: number;
  rollback?: { reason: string; steps: CleanupStep[] };
}

export type Effect =
  | { kind: 'split-point'; shard: ShardId }
  | { kind: 'create-canister' }
  | { kind: 'prepare'; shard: ShardId; plan: MigrationPlan }
  | { kind: 'stop'; canister: ShardId }
  | { kind: 'start'; canister: ShardId }
  | { kind: 'take-snapshot'; canister: ShardId; replace?: string }
  | { kind: 'load-snapshot'; canister: ShardId; from: ShardId; snapshotId: string }
  | { kind: 'delete-snapshot'; canister: ShardId; snapshotId: string }
  | { kind: 'install-shard'; canister: ShardId; map: RangePartitionerJSON }
  | { kind: 'accept'; shard: ShardId; plan: MigrationPlan }
  | { kind: 'copy-batch'; shard: ShardId; migration: string }
  | { kind: 'push-delta'; shard: ShardId; migration: string }
  | { kind: 'cutover'; shard: ShardId; migration: string }
  | { kind: 'announce'; map: RangePartitionerJSON; skip: ShardId[] }
  | { kind: 'drain-cycles'; shard: ShardId }
  | { kind: 'delete-canister'; canister: ShardId }
  | { kind: 'abort'; shard: ShardId; migration: string };

/** What performing an effect gave. `value` carries the effect's answer (split point, canister id, …). */
export type EffectResult =
  | { ok: true; at?: bigint; canisterId?: ShardId; snapshotId?: string; done?: boolean; remaining?: number; rows?: number; bytes?: number }
  /** `wait`: not an error, try again later (snapshot not loadable yet, cutover fence could not be held). */
  | { ok: false; error: string; kind: 'wait' | 'failed' | 'unsupported' };

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`migration: ${message}`);
}

export function planSplit(options: { id: string; source: ShardId; map: RangePartitioner; method: CopyMethod; now: bigint }): Migration {
  assert(options.map.shards().includes(options.source), `split of ${options.source}, which is not in the map`);
  return fresh(options.id, 'split', options.method, options.source, undefined, options.map, 'planned', options.now);
}

/** A merge of `source` into its neighbour `target` (streamed: the neighbour already runs). */
export function planMerge(options: { id: string; source: ShardId; target: ShardId; map: RangePartitioner; now: bigint }): Migration {
  const m = fresh(options.id, 'merge', 'stream', options.source, options.target, options.map, 'target-created', options.now);
  const { start, end } = options.map.rangeOf(options.source);
  m.plan = { id: m.id, kind: 'merge', method: 'stream', source: m.source, target: options.target, start, end, next: options.map.merge(options.source, options.target).toJSON() };
  return m;
}

function fresh(id: string, kind: MigrationKind, method: CopyMethod, source: ShardId, target: ShardId | undefined, map: RangePartitioner, phase: Phase, now: bigint): Migration {
  return { id, kind, method, phase, source, target, prev: map.toJSON(), attempts: 0, loadWaits: 0, retryAt: now, copiedRows: 0, copiedBytes: 0 };
}

export function isTerminal(m: Migration): boolean {
  return m.phase === 'done' || m.phase === 'rolled-back';
}

/** Whether the migration can still be undone (nothing has changed hands yet). */
export function canRollBack(m: Migration): boolean {
  return !isTerminal(m) && m.phase !== 'rolling-back' && !['cut-over', 'announced', 'source-drained'].includes(m.phase);
}

/** The one effect the current phase calls for (undefined when terminal). */
export function nextEffect(m: Migration): Effect | undefined {
  const plan = m.plan;
  switch (m.phase) {
    case 'planned':
      return { kind: 'split-point', shard: m.source };
    case 'pointed':
      return { kind: 'create-canister' };
    case 'target-created':
      return { kind: 'prepare', shard: m.source, plan: plan! };
    case 'prepared':
      if (m.method === 'snapshot') return { kind: 'stop', canister: m.source };
      return m.kind === 'split' ? { kind: 'install-shard', canister: m.target!, map: m.prev } : { kind: 'accept', shard: m.target!, plan: plan! };
    case 'source-stopped':
      return { kind: 'take-snapshot', canister: m.source, ...(m.snapshotId === undefined ? {} : { replace: m.snapshotId }) };
    case 'snapshotted':
      return { kind: 'start', canister: m.source };
    case 'source-started':
      return { kind: 'stop', canister: m.target! };
    case 'target-stopped':
      return { kind: 'load-snapshot', canister: m.target!, from: m.source, snapshotId: m.snapshotId! };
    case 'loaded':
      return { kind: 'start', canister: m.target! };
    case 'target-installed':
      return { kind: 'accept', shard: m.target!, plan: plan! };
    case 'target-ready':
      return { kind: 'copy-batch', shard: m.source, migration: m.id };
    case 'copied':
      return { kind: 'push-delta', shard: m.source, migration: m.id };
    case 'caught-up':
      return { kind: 'cutover', shard: m.source, migration: m.id };
    case 'cut-over':
      return { kind: 'announce', map: plan!.next as RangePartitionerJSON, skip: [m.source, m.target!] };
    case 'announced':
      if (m.snapshotId !== undefined) return { kind: 'delete-snapshot', canister: m.source, snapshotId: m.snapshotId };
      return m.kind === 'merge' ? { kind: 'drain-cycles', shard: m.source } : undefined;
    case 'source-drained':
      return { kind: 'delete-canister', canister: m.source };
    case 'rolling-back':
      return cleanupEffect(m, m.rollback!.steps[0]);
    case 'done':
    case 'rolled-back':
      return undefined;
  }
}

function cleanupEffect(m: Migration, step: CleanupStep | undefined): Effect | undefined {
  switch (step) {
    case 'start-source':
      return { kind: 'start', canister: m.source };
    case 'abort-source':
      return { kind: 'abort', shard: m.source, migration: m.id };
    case 'abort-target':
      return { kind: 'abort', shard: m.target!, migration: m.id };
    case 'delete-target':
      return { kind: 'delete-canister', canister: m.target! };
    case 'delete-snapshot':
      return { kind: 'delete-snapshot', canister: m.source, snapshotId: m.snapshotId! };
    case undefined:
      return undefined;
  }
}

/** Takes the result of `effect` (which nextEffect(m) returned) and moves the migration on. */
export function applyResult(m: Migration, effect: Effect, result: EffectResult, now: bigint): void {
  assert(!isTerminal(m), `result for ${m.id}, which is ${m.phase}`);
  assert(nextEffect(m)?.kind === effect.kind, `a ${effect.kind} result for ${m.id} in phase ${m.phase} (two drivers at once?)`);
  if (!result.ok) return failed(m, result, now);
  m.attempts = 0;
  m.lastError = undefined;
  m.retryAt = now;
  switch (m.phase) {
    case 'planned':
      if (result.at === undefined) return beginRollback(m, `${m.source} cannot be split: all its data has one shard-key hash`);
      m.at = result.at;
      return to(m, 'pointed');
    case 'pointed': {
      assert(result.canisterId !== undefined, 'create-canister gave no id');
      m.target = result.canisterId;
      const prev = RangePartitioner.fromJSON(m.prev);
      const { end } = prev.rangeOf(m.source);
      m.plan = { id: m.id, kind: 'split', method: m.method, source: m.source, target: m.target, start: m.at!, end, next: prev.split(m.source, m.at!, m.target).toJSON() };
      return to(m, 'target-created');
    }
    case 'target-created':
      return to(m, 'prepared');
    case 'prepared':
      if (m.method === 'snapshot') return to(m, 'source-stopped');
      return to(m, m.kind === 'split' ? 'target-installed' : 'target-ready');
    case 'source-stopped':
      assert(result.snapshotId !== undefined, 'take-snapshot gave no id');
      m.snapshotId = result.snapshotId;
      return to(m, 'snapshotted');
    case 'snapshotted':
      return to(m, 'source-started');
    case 'source-started':
      return to(m, 'target-stopped');
    case 'target-stopped':
      return to(m, 'loaded');
    case 'loaded':
      return to(m, 'target-installed');
    case 'target-installed':
      return to(m, m.method === 'stream' ? 'target-ready' : 'copied');
    case 'target-ready':
      m.copiedRows += result.rows ?? 0;
      m.copiedBytes += result.bytes ?? 0;
      return result.done ? to(m, 'copied') : undefined; // another batch
    case 'copied':
      m.deltaRemaining = result.remaining;
      return (result.remaining ?? 0) <= CATCH_UP_ENTRIES ? to(m, 'caught-up') : undefined;
    case 'caught-up':
      return to(m, 'cut-over');
    case 'cut-over':
      return to(m, m.kind === 'split' && m.snapshotId === undefined ? 'done' : 'announced');
    case 'announced':
      if (effect.kind === 'delete-snapshot') {
        m.snapshotId = undefined;
        return m.kind === 'merge' ? undefined : to(m, 'done');
      }
      return to(m, 'source-drained');
    case 'source-drained':
      return to(m, 'done');
    case 'rolling-back':
      if (effect.kind === 'delete-snapshot') m.snapshotId = undefined;
      m.rollback!.steps.shift();
      return m.rollback!.steps.length === 0 ? to(m, 'rolled-back') : undefined;
  }
}

function to(m: Migration, phase: Phase): void {
  m.phase = phase;
}

function failed(m: Migration, result: Extract<EffectResult, { ok: false }>, now: bigint): void {
  m.lastError = result.error;
  if (result.kind === 'unsupported' && m.phase === 'target-stopped') {
    // No snapshot onto another canister here (e.g. another subnet): fall back to a streamed copy.
    // The source is running again and logging; the target gets fresh code and every row.
    m.method = 'stream';
    if (m.plan !== undefined) m.plan = { ...m.plan, method: 'stream' };
    return to(m, 'prepared');
  }
  if (result.kind === 'wait') {
    m.loadWaits++;
    m.retryAt = now + LOAD_WAIT_NS;
    if (m.loadWaits > MAX_LOAD_WAITS && canRollBack(m)) beginRollback(m, `gave up after ${MAX_LOAD_WAITS} waits: ${result.error}`);
    return;
  }
  m.attempts++;
  m.retryAt = now + backoff(m.attempts);
  if (m.attempts >= MAX_STEP_ATTEMPTS && canRollBack(m)) beginRollback(m, `step ${m.phase} failed ${m.attempts} times: ${result.error}`);
}

export function backoff(attempt: number): bigint {
  const ns = RETRY_BASE_NS << BigInt(Math.min(attempt, 16));
  return ns > RETRY_CAP_NS ? RETRY_CAP_NS : ns;
}

/** Undoes what the migration did so far; possible only before the cutover. */
export function beginRollback(m: Migration, reason: string): void {
  assert(canRollBack(m), `rollback of ${m.id} in phase ${m.phase}`);
  const reached = (p: Phase): boolean => ORDER.indexOf(m.phase) >= ORDER.indexOf(p);
  const steps: CleanupStep[] = [];
  if (m.method === 'snapshot' && (m.phase === 'source-stopped' || m.phase === 'snapshotted')) steps.push('start-source');
  if (reached('target-created') && m.plan !== undefined) steps.push('abort-source');
  if (m.kind === 'merge') steps.push('abort-target');
  else if (m.target !== undefined) steps.push('delete-target');
  if (m.snapshotId !== undefined) steps.push('delete-snapshot');
  m.rollback = { reason, steps };
  m.attempts = 0;
  to(m, steps.length === 0 ? 'rolled-back' : 'rolling-back');
}

const ORDER: Phase[] = [
  'planned', 'pointed', 'target-created', 'prepared', 'source-stopped', 'snapshotted', 'source-started', 'target-stopped',
  'loaded', 'target-installed', 'target-ready', 'copied', 'caught-up', 'cut-over', 'announced', 'source-drained', 'done',
];

/** The map the manager serves while `m` runs: the next map from the cutover on. */
export function currentMap(m: Migration): RangePartitionerJSON {
  return ORDER.indexOf(m.phase) >= ORDER.indexOf('cut-over') && m.plan !== undefined ? (m.plan.next as RangePartitionerJSON) : m.prev;
}
