// The two sides of a migration on a shard, as functions over the node's state: the source logs
// writes to the moving range, streams rows or deltas to the target and holds the cutover fence;
// the target takes rows and deltas in order and adopts the next map at the cutover. ShardNode
// (node.ts) owns the state and exposes these as its housekeeping methods.
import { ForbiddenError, ShardOrmError, UnavailableError, ValidationError } from '../model/errors.js';
import { hashOfStorageKey } from '../model/keys.js';
import type { PartitionerJSON, ShardId } from '../partition/index.js';
import type { BatchAck, DeltaBatch, MigrationPlan, RowsBatch } from '../protocol/housekeeping.js';
import { MAX_BATCH_BYTES, MAX_MIGRATION_BATCH_ENTRIES } from '../protocol/housekeeping.js';
import { dropEntries, readBatch } from './delta-log.js';
import { walkHashRange } from './hash-ranges.js';
import type { ShardPeers, ShardStorage } from './ports.js';
import type { ShardState } from './state.js';

/** What the migration functions may touch of a node. */
export interface SideContext {
  readonly id: ShardId;
  readonly storage: ShardStorage;
  readonly peers: ShardPeers;
  /** The live state (mutated in place, then saved). */
  state(): ShardState;
  epoch(): number;
  ownRange(): { start: bigint; end: bigint };
  adopt(json: PartitionerJSON): void;
  save(): void;
}

/** Source: from now on every write to the moving range is logged. Idempotent per plan id. */
export function prepare(c: SideContext, plan: MigrationPlan): void {
  if (c.state().outgoing?.plan.id === plan.id) return;
  assertFree(c, plan.id);
  if (plan.source !== c.id) throw new ValidationError(`plan ${plan.id} moves data from ${plan.source}, not from ${c.id}`);
  const own = c.ownRange();
  if (!(plan.start >= own.start && plan.end <= own.end && plan.start < plan.end)) {
    throw new ValidationError(`plan ${plan.id} moves [${plan.start}, ${plan.end}), outside ${c.id}'s range [${own.start}, ${own.end})`);
  }
  if (plan.next.epoch !== c.epoch() + 1) throw new ValidationError(`plan ${plan.id} is for epoch ${plan.next.epoch}, this shard is at ${c.epoch()}: replan`);
  c.state().outgoing = { plan, fenced: false, nextSeq: 1n, firstSeq: 1n, acked: 0n, logBytes: 0, copyDone: false };
  c.save();
}

/**
 * Target: takes the moving range's rows and deltas from the source from now on. After a
 * snapshot load the target holds the source's state, plan included: it continues from the
 * source's log position (and drops the copied log) instead of starting from nothing.
 */
export function accept(c: SideContext, plan: MigrationPlan): void {
  if (c.state().incoming?.plan.id === plan.id) return;
  if (plan.target !== c.id) throw new ValidationError(`plan ${plan.id} moves data to ${plan.target}, not to ${c.id}`);
  const cloned = c.state().outgoing?.plan.id === plan.id; // we are a snapshot of the source
  if (!cloned) {
    assertFree(c, plan.id);
    dropStaleRows(c, plan);
  }
  let applied = 0n;
  if (cloned) {
    const copy = c.state().outgoing!;
    applied = copy.nextSeq - 1n;
    dropEntries(c.storage.log, copy.firstSeq, copy.nextSeq);
    c.state().outgoing = undefined;
  }
  c.state().incoming = { plan, applied };
  c.save();
}

/** Stale rows a streamed migration's target drops per accept call before it answers "retry". */
export const MAX_STALE_DROP_ENTRIES = 4096;

/**
 * A streamed copy's target may still hold rows of the incoming range that it does not own: left
 * by an earlier snapshot split and not pruned yet. They are stale (the owner may have deleted or
 * changed them since) and the copy never overwrites a row the source no longer has, so they
 * would come back to life at the cutover. Drop them before taking the range, in bounded steps:
 * when more remain, what was dropped stays dropped and the manager's retry continues.
 */
function dropStaleRows(c: SideContext, plan: MigrationPlan): void {
  const step = walkHashRange(c.storage.kv, { start: plan.start, end: plan.end }, undefined, { maxEntries: MAX_STALE_DROP_ENTRIES, maxBytes: Number.MAX_SAFE_INTEGER });
  for (const [k] of step.entries) c.storage.kv.delete(k);
  if (step.next !== undefined) {
    c.save();
    throw new UnavailableError(`${c.id} is still dropping stale rows of migration ${plan.id}'s range (${MAX_STALE_DROP_ENTRIES} per call): call accept again`);
  }
}

function assertFree(c: SideContext, id: string): void {
  const busy = c.state().outgoing?.plan.id ?? c.state().incoming?.plan.id;
  if (busy !== undefined) throw new ValidationError(`${c.id} is already in migration ${busy}; finish or abort it before ${id}`);
}

function incomingFrom(c: SideContext, migration: string, from: string): NonNullable<ShardState['incoming']> {
  const inc = c.state().incoming;
  if (inc === undefined || inc.plan.id !== migration) throw new ValidationError(`${c.id} is not receiving migration ${migration}`);
  if (from !== inc.plan.source) throw new ForbiddenError(`${from} is not the source of migration ${migration}`);
  return inc;
}

function assertMoving(plan: MigrationPlan, key: Uint8Array): void {
  const h = hashOfStorageKey(key);
  if (h < plan.start || h >= plan.end) throw new ValidationError(`a row with hash ${h} is outside migration ${plan.id}'s range`);
}

/** Target: stores a batch of copied rows (idempotent: a row sent twice is written twice). */
export function applyRows(c: SideContext, batch: RowsBatch, from: string): BatchAck {
  const inc = incomingFrom(c, batch.migration, from);
  if (batch.rows.length > MAX_MIGRATION_BATCH_ENTRIES) throw new ValidationError(`a rows batch carries at most ${MAX_MIGRATION_BATCH_ENTRIES} rows`);
  for (const [k] of batch.rows) assertMoving(inc.plan, k);
  for (const [k, v] of batch.rows) c.storage.kv.set(k, v);
  return { applied: inc.applied };
}

/** Target: applies deltas it has not seen, in order; with `adopt`, takes ownership (the cutover). */
export function applyDelta(c: SideContext, batch: DeltaBatch, from: string): BatchAck {
  if (c.state().completed === batch.migration) return { applied: -1n }; // a retried last batch of a finished cutover
  const inc = incomingFrom(c, batch.migration, from);
  if (batch.entries.length > MAX_MIGRATION_BATCH_ENTRIES) throw new ValidationError(`a delta batch carries at most ${MAX_MIGRATION_BATCH_ENTRIES} entries`);
  for (const e of batch.entries) assertMoving(inc.plan, e.key);
  for (const e of batch.entries) {
    if (e.seq <= inc.applied) continue;
    if (e.seq !== inc.applied + 1n) throw new ValidationError(`delta ${e.seq} arrived after ${inc.applied}: the source must send in order`);
    if (e.value === undefined) c.storage.kv.delete(e.key);
    else c.storage.kv.set(e.key, e.value);
    inc.applied = e.seq;
  }
  const applied = inc.applied;
  if (batch.adopt !== undefined) {
    if (batch.adopt.epoch !== inc.plan.next.epoch) throw new ValidationError(`cutover of ${inc.plan.id} must adopt epoch ${inc.plan.next.epoch}`);
    c.adopt(batch.adopt);
    c.state().incoming = undefined;
    c.state().completed = inc.plan.id;
    c.state().completedWith = inc.plan.source;
  }
  c.save();
  return { applied };
}

/** Source, streamed copy: sends the next batch of moving rows to the target. */
export async function copyBatch(c: SideContext): Promise<{ done: boolean; rows: number; bytes: number }> {
  const out = outgoingOrThrow(c);
  if (out.copyDone) return { done: true, rows: 0, bytes: 0 };
  const step = walkHashRange(c.storage.kv, out.plan, out.copyAfter, { maxEntries: MAX_MIGRATION_BATCH_ENTRIES, maxBytes: MAX_BATCH_BYTES });
  const bytes = step.entries.reduce((n, [k, v]) => n + k.length + v.length, 0);
  if (step.entries.length > 0) await c.peers.applyRows(out.plan.target, { migration: out.plan.id, rows: step.entries });
  const now = outgoingOrThrow(c); // re-read: state may have moved on while we awaited
  if (now.plan.id !== out.plan.id) throw new ValidationError(`migration ${out.plan.id} ended during a copy`);
  now.copyAfter = step.next ?? now.copyAfter;
  now.copyDone = step.next === undefined;
  c.save();
  return { done: now.copyDone, rows: step.entries.length, bytes };
}

/** Source: sends one batch of the delta log; returns how many entries remain unsent. */
export async function pushDelta(c: SideContext): Promise<{ remaining: number }> {
  const out = outgoingOrThrow(c);
  const batch = readBatch(c.storage.log, out.acked, out.nextSeq);
  if (batch.length > 0) {
    const ack = await c.peers.applyDelta(out.plan.target, { migration: out.plan.id, entries: batch });
    acknowledge(c, out.plan.id, ack.applied);
  }
  const now = outgoingOrThrow(c);
  return { remaining: Number(now.nextSeq - 1n - now.acked) };
}

function acknowledge(c: SideContext, id: string, applied: bigint): void {
  const out = c.state().outgoing;
  if (out === undefined || out.plan.id !== id || applied <= out.acked) return;
  out.logBytes -= dropEntries(c.storage.log, out.firstSeq, applied + 1n);
  out.firstSeq = applied + 1n;
  out.acked = applied;
  c.save();
}

/**
 * Source: the cutover. Fences writes to the moving range, sends the rest of the log, and with
 * the last batch the target adopts the next map; then this shard adopts it too. If the target
 * cannot be reached the fence is lifted again (nothing changed hands) and the manager retries.
 * Returns 'done' once both sides are on the next epoch (also when called again afterwards).
 */
export async function cutover(c: SideContext, migration: string): Promise<'done' | 'retry'> {
  const out = c.state().outgoing;
  if (out === undefined || out.plan.id !== migration) {
    if (c.state().completed === migration) return 'done'; // cut over already: a retried call
    throw new ValidationError(`${c.id} has no migration ${migration} to cut over`);
  }
  out.fenced = true;
  c.save();
  try {
    for (;;) {
      const cur = outgoingOrThrow(c);
      const batch = readBatch(c.storage.log, cur.acked, cur.nextSeq);
      const last = cur.acked + BigInt(batch.length) === cur.nextSeq - 1n;
      const ack = await c.peers.applyDelta(cur.plan.target, { migration, entries: batch, ...(last ? { adopt: cur.plan.next } : {}) });
      if (last) break;
      acknowledge(c, migration, ack.applied);
    }
  } catch (e) {
    const cur = c.state().outgoing;
    if (cur !== undefined) {
      cur.fenced = false; // the target did not take over: serve writes again
      c.save();
    }
    if (e instanceof UnavailableError || e instanceof ShardOrmError) return 'retry';
    throw e;
  }
  const done = outgoingOrThrow(c);
  dropEntries(c.storage.log, done.firstSeq, done.nextSeq);
  c.state().outgoing = undefined;
  c.state().completed = migration;
  c.state().completedWith = done.plan.target;
  c.adopt(done.plan.next);
  c.save();
  return 'done';
}

/** Drops this shard's side of a migration that has not cut over (rollback). Idempotent. */
export function abort(c: SideContext, migration: string): void {
  const out = c.state().outgoing;
  if (out?.plan.id === migration) {
    if (out.fenced) throw new ValidationError(`migration ${migration} is in its cutover; let it finish`);
    dropEntries(c.storage.log, out.firstSeq, out.nextSeq);
    c.state().outgoing = undefined;
  }
  if (c.state().incoming?.plan.id === migration) c.state().incoming = undefined;
  c.save();
}

function outgoingOrThrow(c: SideContext): NonNullable<ShardState['outgoing']> {
  const out = c.state().outgoing;
  if (out === undefined) throw new ValidationError(`${c.id} has no outgoing migration`);
  return out;
}