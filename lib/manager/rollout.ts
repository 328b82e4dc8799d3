// A rolling upgrade of every shard, as data plus pure transitions (the same shape as
// lib/topology/migration.ts): `nextRolloutEffect` says what to do for the shard being upgraded,
// `applyRolloutResult` takes what happened and moves it on. The manager persists the record after
// every transition, so a trap, a reject or a manager upgrade resumes at the same step; every effect
// is idempotent (a module check, stop/start of a canister already stopped/started, an upgrade to
// the module it already runs, a rewrite step that finds nothing old).
//
// One shard at a time, in map order:
//   pending → checked (canister_status: a shard that already runs the new module — upgraded by an
//             earlier roll-out that stopped later — goes straight to installed, never stopped)
//           → stopped (stop_canister: open call contexts finish first)
//           → installed (install_chunked_code, mode upgrade, the new Wasm from the manager's store)
//           → rewriting (started again; schema upgrade hooks rewrite old rows, a batch per step)
//           → done
// A failed install (post_upgrade trapped: the IC keeps the old module and state) or a step that
// failed MAX_ROLLOUT_ATTEMPTS times: the shard is started again on whatever module it has
// (restarting → failed) and the roll-out stops there. Shards after it stay pending on the old
// module and keep serving; no migration starts until a new roll-out finishes.
import type { ShardId } from '../partition/index.js';

/** Attempts of one step (backoff between them) before the shard counts as failed. */
export const MAX_ROLLOUT_ATTEMPTS = 5;
/** Backoff between attempts: base × 2^attempt, capped. */
export const ROLLOUT_RETRY_BASE_NS = 500_000_000n;
export const ROLLOUT_RETRY_CAP_NS = 30_000_000_000n;
/** A start that keeps failing is retried this often before the shard is reported left stopped. */
export const MAX_RESTART_ATTEMPTS = 20;

export type ShardUpgradeStep = 'pending' | 'checked' | 'stopped' | 'installed' | 'rewriting' | 'restarting' | 'done' | 'failed';
export type RolloutPhase = 'running' | 'done' | 'failed';

/** Where a schema rewrite continues: the collection and the last row key rewritten. */
export interface RewriteCursor {
  collection: string;
  after: Uint8Array;
}

export interface ShardUpgrade {
  shard: ShardId;
  step: ShardUpgradeStep;
  cursor?: RewriteCursor;
  /** Rows the schema upgrade hooks rewrote on this shard. */
  rewritten: number;
  error?: string;
}

export interface Rollout {
  id: string;
  /** SHA-256 of the new Wasm and its chunks in the manager's chunk store (hex). */
  wasmHash: string;
  chunks: string[];
  phase: RolloutPhase;
  shards: ShardUpgrade[];
  attempts: number;
  /** Replica time (ns) before which the next attempt must not start. */
  retryAt: bigint;
  startedAt: bigint;
  finishedAt?: bigint;
  lastError?: string;
}

export type RolloutEffect =
  | { kind: 'check-module'; shard: ShardId; wasmHash: string }
  | { kind: 'stop'; shard: ShardId }
  | { kind: 'upgrade'; shard: ShardId; wasmHash: string; chunks: string[] }
  | { kind: 'start'; shard: ShardId }
  | { kind: 'rewrite-rows'; shard: ShardId; cursor?: RewriteCursor };

export type RolloutResult =
  /** `current` (check-module): the shard runs the roll-out's module already. */
  | { ok: true; current?: boolean; rewritten?: number; next?: RewriteCursor; done?: boolean }
  /** `permanent`: retrying cannot help (post_upgrade trapped: the new Wasm refuses this shard). */
  | { ok: false; error: string; permanent?: boolean };

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`rollout: ${message}`);
}

export function planRollout(options: { id: string; shards: ShardId[]; wasmHash: string; chunks: string[]; now: bigint }): Rollout {
  assert(options.shards.length > 0, 'a roll-out needs at least one shard');
  assert(new Set(options.shards).size === options.shards.length, 'a shard listed twice');
  assert(options.chunks.length > 0, 'a Wasm of no chunks');
  return {
    id: options.id, wasmHash: options.wasmHash, chunks: options.chunks, phase: 'running',
    shards: options.shards.map((shard) => ({ shard, step: 'pending', rewritten: 0 })),
    attempts: 0, retryAt: options.now, startedAt: options.now,
  };
}

/** The shard being upgraded (the first one not done), undefined when the roll-out is over. */
export function currentShard(r: Rollout): ShardUpgrade | undefined {
  if (r.phase !== 'running') return undefined;
  return r.shards.find((s) => s.step !== 'done');
}

export function nextRolloutEffect(r: Rollout): RolloutEffect | undefined {
  const s = currentShard(r);
  if (s === undefined) return undefined;
  switch (s.step) {
    case 'pending':
      return { kind: 'check-module', shard: s.shard, wasmHash: r.wasmHash };
    case 'checked':
      return { kind: 'stop', shard: s.shard };
    case 'stopped':
      return { kind: 'upgrade', shard: s.shard, wasmHash: r.wasmHash, chunks: r.chunks };
    case 'installed':
    case 'restarting':
      return { kind: 'start', shard: s.shard };
    case 'rewriting':
      return { kind: 'rewrite-rows', shard: s.shard, ...(s.cursor === undefined ? {} : { cursor: s.cursor }) };
    case 'done':
    case 'failed':
      assert(false, `shard ${s.shard} is ${s.step} but current`);
  }
}

export function applyRolloutResult(r: Rollout, effect: RolloutEffect, result: RolloutResult, now: bigint): void {
  const s = currentShard(r);
  assert(s !== undefined, `result for ${r.id}, which is ${r.phase}`);
  assert(nextRolloutEffect(r)?.kind === effect.kind && effect.shard === s.shard, `a ${effect.kind} result for ${effect.shard} while ${s.shard} is ${s.step} (two drivers at once?)`);
  if (!result.ok) return failed(r, s, result, now);
  r.attempts = 0;
  r.lastError = undefined;
  r.retryAt = now;
  switch (s.step) {
    case 'pending':
      s.step = result.current === true ? 'installed' : 'checked'; // installed: started (a no-op if running), then its rows
      return;
    case 'checked':
      s.step = 'stopped';
      return;
    case 'stopped':
      s.step = 'installed';
      return;
    case 'installed':
      s.step = 'rewriting';
      return;
    case 'rewriting':
      s.rewritten += result.rewritten ?? 0;
      s.cursor = result.next;
      if (result.done) {
        s.step = 'done';
        s.cursor = undefined;
        if (r.shards.every((x) => x.step === 'done')) finish(r, 'done', now);
      }
      return;
    case 'restarting':
      s.step = 'failed';
      return finish(r, 'failed', now);
  }
}

function failed(r: Rollout, s: ShardUpgrade, result: Extract<RolloutResult, { ok: false }>, now: bigint): void {
  r.lastError = result.error;
  r.attempts++;
  r.retryAt = now + backoff(r.attempts);
  if (s.step === 'restarting') {
    // The failure is recorded already; only starting the shard again is left.
    if (r.attempts >= MAX_RESTART_ATTEMPTS) {
      s.step = 'failed';
      s.error = `${s.error}; and it could not be started again (${result.error}): start it with \`dfx canister start ${s.shard}\``;
      finish(r, 'failed', now);
    }
    return;
  }
  if (!result.permanent && r.attempts < MAX_ROLLOUT_ATTEMPTS) return;
  s.error = `${STEP_NAMES[s.step]} failed${result.permanent ? '' : ` ${r.attempts} times`}: ${result.error}`;
  s.step = 'restarting';
  r.attempts = 0;
  r.retryAt = now;
}

const STEP_NAMES: Record<ShardUpgradeStep, string> = {
  pending: 'module check', checked: 'stop', stopped: 'upgrade', installed: 'start', rewriting: 'schema upgrade (rewriting rows)', restarting: 'start', done: 'done', failed: 'failed',
};

function finish(r: Rollout, phase: 'done' | 'failed', now: bigint): void {
  r.phase = phase;
  r.finishedAt = now;
}

function backoff(attempt: number): bigint {
  const ns = ROLLOUT_RETRY_BASE_NS << BigInt(Math.min(attempt, 16));
  return ns > ROLLOUT_RETRY_CAP_NS ? ROLLOUT_RETRY_CAP_NS : ns;
}

/** What `status` shows per shard: pending, upgrading, done or failed. */
export function publicState(s: ShardUpgrade): 'pending' | 'upgrading' | 'done' | 'failed' {
  if (s.step === 'pending' || s.step === 'checked') return 'pending';
  if (s.step === 'done' || s.step === 'failed') return s.step;
  return 'upgrading';
}
