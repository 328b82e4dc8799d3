// ShardPeers over Azle inter-canister calls: how a shard forwards requests and streams migration
// batches to other members, and notifies the manager. Raw Candid with the one IDL of
// lib/protocol/candid.ts (encoded and decoded by fast-candid.ts); call failures become typed
// errors (call-failure.ts).
import { IDL } from '@dfinity/candid';
import { call, inReplicatedExecution } from 'azle';
import { fromWireError, type WireError } from '../model/errors.js';
import type { ShardId } from '../partition/index.js';
import {
  AckIdl, ackFromCandid, DeltaBatchIdl, deltaToCandid, Reply, requestToCandid, responseFromCandid, RowsBatchIdl,
  ShardRequestIdl, ShardResponseIdl, TopologyChangeRequestIdl, topologyChangeToCandid,
} from '../protocol/candid.js';
import type { BatchAck, DeltaBatch, RowsBatch } from '../protocol/housekeeping.js';
import { isReadOnly, type ShardRequest, type ShardResponse } from '../protocol/ops.js';
import type { ShardPeers } from '../shard/ports.js';
import { callFailure } from './call-failure.js';
import { codecOf } from './fast-candid.js';

const replyTypes = new WeakMap<IDL.Type, IDL.Type>();

/** `variant { ok: T; err }` for `ok`, one type object per `ok` (so its codec is built once). */
export function replyOf(ok: IDL.Type): IDL.Type {
  let reply = replyTypes.get(ok);
  if (reply === undefined) {
    reply = Reply(ok);
    replyTypes.set(ok, reply);
  }
  return reply;
}

/** Calls `method` with one Candid argument and decodes a `variant { ok; err }` reply; err is rethrown typed. */
export async function callReply(options: { target: string; method: string; argType: IDL.Type; arg: unknown; okType: IDL.Type; write: boolean }): Promise<unknown> {
  const { target, method } = options;
  let reply: Uint8Array;
  try {
    reply = await call<Uint8Array, Uint8Array>(target, method, { raw: true, args: codecOf(options.argType).encode([options.arg]) });
  } catch (e) {
    throw callFailure(e, target, method, options.write);
  }
  const [decoded] = codecOf(replyOf(options.okType)).decode(reply) as [Record<string, unknown>];
  if ('err' in decoded) throw fromWireError(decoded.err as WireError);
  return decoded.ok;
}

/** The peers of shard `self`; `manager()` gives the manager's principal, if the cluster has one. */
export function canisterPeers(manager: () => string | undefined): ShardPeers {
  return {
    async send(shard: ShardId, request: ShardRequest): Promise<ShardResponse> {
      const viaQuery = isReadOnly(request) && !inReplicatedExecution();
      const ok = await callReply({
        target: shard, method: viaQuery ? 'read' : 'execute', argType: ShardRequestIdl, arg: requestToCandid(request), okType: ShardResponseIdl, write: !isReadOnly(request),
      });
      return responseFromCandid(ok);
    },
    async applyRows(target: ShardId, batch: RowsBatch): Promise<BatchAck> {
      return ackFromCandid(await callReply({ target, method: 'apply_rows', argType: RowsBatchIdl, arg: batch, okType: AckIdl, write: true }));
    },
    async applyDelta(target: ShardId, batch: DeltaBatch): Promise<BatchAck> {
      return ackFromCandid(await callReply({ target, method: 'apply_delta', argType: DeltaBatchIdl, arg: deltaToCandid(batch), okType: AckIdl, write: true }));
    },
    requestTopologyChange(request): void {
      const to = manager();
      if (to === undefined) return; // a cluster without a manager (single shard, tests) has nobody to ask
      const args = new Uint8Array(IDL.encode([TopologyChangeRequestIdl], [topologyChangeToCandid(request)]));
      // Best effort: a full queue must not fail the write; the shard asks again at the next epoch.
      call(to, 'request_topology_change', { raw: true, oneway: true, args }).catch(() => undefined);
    },
  };
}
