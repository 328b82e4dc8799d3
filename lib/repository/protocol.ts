// The request/response protocol between a Repository and the shards (and between shards when
// one forwards). Plain data only (bytes, bigints, strings, numbers), so the canister and client
// transports can carry it as Candid. Every request is a batch of operations; each op that names a
// `hash` is served by the shard owning that hash, ops without one (fan-out scan/count) by the shard
// that receives them, over the rows it owns.
import type { WireError } from '../model/errors.js';
import type { PartitionerJSON } from '../partition/index.js';

/** Operations per request (getMany and scans are split into batches of this size). */
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
  | { kind: 'error'; error: WireError };

export interface ShardRequest {
  ops: Op[];
  /** Times this request has been forwarded already (0 when it comes from a client). */
  hops: number;
}

export interface ShardResponse {
  results: OpResult[];
  /** Epoch of the answering shard's partition map. */
  epoch: number;
}

/** How a Repository (or a forwarding shard) reaches a shard: in-process, inter-canister, agent. */
export interface ShardTransport {
  send(shard: string, request: ShardRequest): Promise<ShardResponse>;
}

export function assertBatch(request: ShardRequest): void {
  if (!Array.isArray(request.ops) || request.ops.length === 0 || request.ops.length > MAX_BATCH_OPS) {
    throw new RangeError(`a request carries 1..${MAX_BATCH_OPS} ops, got ${request.ops?.length}: split the batch`);
  }
  if (!Number.isInteger(request.hops) || request.hops < 0 || request.hops > MAX_FORWARD_HOPS) {
    throw new RangeError(`request forwarded ${request.hops} times, above MAX_FORWARD_HOPS (${MAX_FORWARD_HOPS}): routing bug`);
  }
}
