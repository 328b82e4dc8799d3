// Executions that keep nothing: non-replicated queries (plain and composite, and queries to the
// management canister) and canister_inspect_message. They run on the canister's committed state
// and roll back, between rounds, outside any call context.
import type { Principal } from '@dfinity/principal';
import type { Canister } from './canister.js';
import { idText } from './canister-ids.js';
import { runCompositeQuery, type QueryGraphHost } from './composite.js';
import { ErrorCode, RejectCode, reject, type Rejection } from './errors.js';
import type { Faults } from './faults.js';
import type { CallOutcome } from './ingress.js';
import { outcomeOf, type CallResult } from './messages.js';
import { methodNotFound, noReply, trapRejection } from './rejections.js';

export interface QueryHost extends QueryGraphHost {
  readonly faults: Faults;
  /** Queries to aaaaa-aa (fetch_canister_logs). */
  managementQuery(sender: Principal, method: string, arg: Uint8Array): CallResult;
  isManagement(id: Principal): boolean;
}

export interface QueryMessage {
  canisterId: Principal;
  method: string;
  arg: Uint8Array;
  sender: Principal;
  dataCertificate?: Uint8Array;
}

/** Executes a non-replicated query (changes discarded). */
export function executeQuery(host: QueryHost, q: QueryMessage): CallOutcome {
  if (host.isManagement(q.canisterId)) return outcomeOf(host.managementQuery(q.sender, q.method, q.arg));
  const canister = host.canisters.get(idText(q.canisterId));
  const refusal = host.refuse(canister, q.canisterId, true);
  if (refusal) return outcomeOf({ reject: refusal });
  const c = canister!;
  if (c.hasExport(`canister_composite_query ${q.method}`)) return outcomeOf(runCompositeQuery(host, c, q.method, q.arg, q.sender, q.dataCertificate));
  const entry = `canister_query ${q.method}`;
  if (!c.hasExport(entry)) return outcomeOf({ reject: methodNotFound(c.idText, 'query', q.method) });
  const exec = host.execution('query', { arg: q.arg, caller: q.sender.toUint8Array(), methodName: q.method, dataCertificate: q.dataCertificate });
  const trap = host.faults.onExecute(c.idText, q.method) ?? c.execute(exec, entry).trap;
  host.record(`${c.idText} query ${q.method} ${trap ? trap.errorCode : 'ok'}`);
  if (trap) return outcomeOf({ reject: trapRejection(c.idText, trap) });
  return outcomeOf(exec.response ?? { reject: noReply(c.idText) });
}

/** Runs `canister_inspect_message`; undefined when the message is accepted. */
export function inspectMessage(host: QueryHost, canister: Canister, method: string, arg: Uint8Array, sender: Principal): Rejection | undefined {
  if (!canister.module || !canister.hasExport('canister_inspect_message')) return undefined;
  const exec = host.execution('inspect', { arg, caller: sender.toUint8Array(), methodName: method });
  const { trap } = canister.execute(exec, 'canister_inspect_message');
  if (trap) return trapRejection(canister.idText, trap);
  if (!exec.messageAccepted) return reject(RejectCode.CanisterReject, ErrorCode.CanisterRejectedMessage, `Canister ${canister.idText} rejected the message`);
  return undefined;
}
