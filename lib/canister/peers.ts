// ShardPeers over Azle inter-canister calls: how a shard forwards requests and streams migration
// batches to other members, and notifies the manager. Raw Candid with the one IDL of
// lib/protocol/candid.ts. Call failures become typed errors: a reject that means "did not
// execute" (stopped or stopping canister, queue full, SYS_TRANSIENT, destination invalid, no
// module) is UnavailableError (safe to retry); any other failure of a write is
// UnknownOutcomeError (never re-sent automatically); a read that failed is UnavailableError.
import { IDL } from '@dfinity/candid';
import { call, inReplicatedExecution } from 'azle';
import { fromWireError, UnavailableError, UnknownOutcomeError, type WireError } from '../model/errors.js';
import type { ShardId } from '../partition/index.js';
import {
  AckIdl, ackFromCandid, DeltaBatchIdl, deltaToCandid, Reply, requestToCandid, responseFromCandid, RowsBatchIdl,
  ShardRequestIdl, ShardResponseIdl, TopologyChangeRequestIdl, topologyChangeToCandid,
} from '../protocol/candid.js';
import type { BatchAck, DeltaBatch, RowsBatch } from '../protocol/housekeeping.js';
import { isReadOnly, type ShardRequest, type ShardResponse } from '../protocol/ops.js';
import type { ShardPeers } from '../shard/node.js';

/** Reject codes (IC interface spec). */
const SYS_TRANSIENT = 2;
const DESTINATION_INVALID = 3;
const CANISTER_ERROR = 5;
/** CANISTER_ERROR messages that say the callee never ran: stopped, stopping, no Wasm module. */
const NOT_EXECUTED = /is stopped|is stopping|IC0508|IC0509|no Wasm module|IC0537|empty/i;

interface CallFailure {
  type?: string;
  rejectCode?: number;
  rejectMessage?: string;
}

/** Whether a failed call surely did not execute on the callee. */
export function didNotExecute(e: unknown): boolean {
  const f = e as CallFailure;
  if (f?.type === 'CallPerformFailed' || f?.type === 'InsufficientLiquidCycleBalance') return true;
  if (f?.type !== 'CallRejected') return false;
  if (f.rejectCode === SYS_TRANSIENT || f.rejectCode === DESTINATION_INVALID) return true;
  return f.rejectCode === CANISTER_ERROR && NOT_EXECUTED.test(f.rejectMessage ?? '');
}

function describe(e: unknown): string {
  const f = e as CallFailure;
  if (f?.type === 'CallRejected') return `reject code ${f.rejectCode}: ${f.rejectMessage}`;
  return f?.type ?? (e instanceof Error ? e.message : String(e));
}

/** The typed error for a failed call to `method` on `target`. */
export function callFailure(e: unknown, target: string, method: string, write: boolean): Error {
  if (didNotExecute(e) || !write) return new UnavailableError(`${method} on ${target} did not run (${describe(e)}): retry in a moment`);
  return new UnknownOutcomeError(`${method} on ${target} failed (${describe(e)}): the write may or may not have happened; read the key to find out`);
}

/** Calls `method` with one Candid argument and decodes a `variant { ok; err }` reply; err is rethrown typed. */
export async function callReply(options: { target: string; method: string; argType: IDL.Type; arg: unknown; okType: IDL.Type; write: boolean }): Promise<unknown> {
  const { target, method } = options;
  let reply: Uint8Array;
  try {
    reply = await call<Uint8Array, Uint8Array>(target, method, { raw: true, args: new Uint8Array(IDL.encode([options.argType], [options.arg])) });
  } catch (e) {
    throw callFailure(e, target, method, options.write);
  }
  const [decoded] = IDL.decode([Reply(options.okType)], reply) as [Record<string, unknown>];
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
