// Where an op goes and what it gets when going there failed: the routing rules of a shard,
// pure functions of the map, the op and the failure (ShardNode applies them to every request).
import { ForbiddenError, ShardOrmError, toWireError, UnavailableError, UnknownOutcomeError } from '../model/errors.js';
import type { Partitioner, ShardId } from '../partition/index.js';
import { isWriteOp, MAX_FORWARD_HOPS, type Op, type OpResult } from '../protocol/ops.js';

export type Route = { kind: 'local' } | { kind: 'forward'; to: ShardId } | { kind: 'moved' };

/** Where an op entering shard `self` after `hops` forwards goes. Pure. */
export function routeOp(map: Partitioner, self: ShardId, op: Op, hops: number): Route {
  if (op.kind === 'map' || op.kind === 'count' || (op.kind === 'scan' && op.hash === undefined)) return { kind: 'local' };
  const owner = map.shardFor(op.hash as bigint);
  if (owner === self) return { kind: 'local' };
  if (hops >= MAX_FORWARD_HOPS) return { kind: 'moved' };
  return { kind: 'forward', to: owner };
}

/**
 * What an op gets when its forward failed: retry if the call surely did not run, else unknown. A
 * member refusing the forwarder ran nothing: its map predates this shard (it missed an
 * announcement, and the manager's next tick re-sends it), so the op is retried, not unknown.
 */
export function forwardFailure(op: Op, e: unknown): OpResult {
  if (e instanceof UnavailableError || e instanceof ForbiddenError || !isWriteOp(op)) return { kind: 'retry', reason: (e as Error).message };
  if (e instanceof ShardOrmError && !(e instanceof UnknownOutcomeError)) return { kind: 'error', error: toWireError(e) }; // refused whole: not run
  const unknown = e instanceof UnknownOutcomeError ? e : new UnknownOutcomeError(`forwarding failed, the write may or may not have happened: ${(e as Error).message}`);
  return { kind: 'error', error: toWireError(unknown) };
}
