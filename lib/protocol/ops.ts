// The request/response protocol between a Repository and the shards (and between shards when
// one forwards). Plain data only (bytes, bigints, strings, numbers), so the canister and client
// transports carry it as Candid (lib/protocol/candid.ts). Every request is a batch of operations;
// each op that names a `hash` is served by the shard owning that hash, ops without one (fan-out
// scan/count) by the shard that receives them, over the rows it owns.
import { ValidationError, type WireError } from '../model/errors.js';
import type { PartitionerJSON, ShardId } from '../partition/index.js';

/** Operations per request (getMany, bulk writes and scans are split into batches of this size). */
export const MAX_BATCH_OPS = 256;
/** Rows one scan/find op may return. */
export const MAX_SCAN_LIMIT = 1000;
export const DEFAULT_SCAN_LIMIT = 100;
/** A request entering at any shard is forwarded at most this many times. */
export const MAX_FORWARD_HOPS = 1;

export type Op =
  | { kind: 'get'; collection: string; hash: bigint; key: Uint8Array }
  | { kind: 'put'; collection: string; hash: bigint; key: Uint8Array; value: Uint8Array; mode: 'insert' | 'upsert' }
  | { kind: 'update'; collection: string; hash: bigint; key: Uint8Array; patch: Uint8Array }
  | { kind: 'delete'; collection: string; hash: bigint; key: Uint8Array }
  /** Rows (or index entries) with `prefix` after `after`. With hash: one shard key's rows. */
  | { kind: 'scan'; collection: string; hash?: bigint; prefix: Uint8Array; after?: Uint8Array; limit: number }
  | { kind: 'count'; collection: string }
  | { kind: 'map' };

export type OpResult =
  | { kind: 'value'; value?: Uint8Array }
  | { kind: 'deleted'; existed: boolean }
  | { kind: 'rows'; rows: [Uint8Array, Uint8Array][] }
  | { kind: 'count'; count: number }
  | { kind: 'map'; map: PartitionerJSON }
  /** The shard does not own the hash and the request may not be forwarded again: refresh the map. */
  | { kind: 'moved' }
  /** Not executed, safe to send again (writes fenced for a split's cutover, a full delta log). */
  | { kind: 'retry'; reason: string }
  | { kind: 'error'; error: WireError };

export interface ShardRequest {
  ops: Op[];
  /** Times this request has been forwarded already (0 when it comes from a client). */
  hops: number;
  /**
   * The original caller's principal (text), set only by a cluster member forwarding the request;
   * a shard trusts it only when the immediate caller is a member.
   */
  origin?: string;
}

export interface ShardResponse {
  results: OpResult[];
  /** Newest partition-map epoch the answering shard saw (its own, or a peer's it forwarded to). */
  epoch: number;
  /** A shard known to hold the map of `epoch` when that is newer than the answering shard's own. */
  newerAt?: ShardId;
}

/** How a Repository (or a forwarding shard) reaches a shard: in-process, inter-canister, agent. */
export interface ShardTransport {
  send(shard: ShardId, request: ShardRequest): Promise<ShardResponse>;
}

export function isWriteOp(op: Op): op is Extract<Op, { kind: 'put' | 'update' | 'delete' }> {
  return op.kind === 'put' || op.kind === 'update' || op.kind === 'delete';
}

/** A request of reads only may travel as a (composite) query. */
export function isReadOnly(request: ShardRequest): boolean {
  return !request.ops.some(isWriteOp);
}

/** Checks a request's envelope at the door: a malformed one gets a ValidationError, never a trap. */
export function assertBatch(request: ShardRequest): void {
  if (!Array.isArray(request?.ops) || request.ops.length === 0 || request.ops.length > MAX_BATCH_OPS) {
    throw new ValidationError(`a request carries 1..${MAX_BATCH_OPS} ops, got ${request?.ops?.length}: split the batch`);
  }
  if (!Number.isInteger(request.hops) || request.hops < 0 || request.hops > MAX_FORWARD_HOPS) {
    throw new ValidationError(`a request may be forwarded at most ${MAX_FORWARD_HOPS} time(s), this one claims ${request.hops}: send it with hops = 0`);
  }
  if (request.hops === 0 && request.origin !== undefined) {
    throw new ValidationError('only a forwarded request (hops > 0) names an origin: drop the origin field');
  }
}
