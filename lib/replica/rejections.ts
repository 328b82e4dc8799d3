// The rejections the system produces, worded as the IC words them, and how a calling canister
// sees them: system rejects reach a canister with the error code in front of the text
// (`IC0503: Error from Canister …`), while a canister's own msg_reject and routing failures
// (`No route to canister …`) arrive verbatim.
import type { CanisterTrap } from './errors.js';
import { ErrorCode, RejectCode, reject, type Rejection } from './errors.js';

/** Where the IC's documentation explains an explicit trap; appended as the IC appends it. */
const TRAPPED_EXPLICITLY_HELP =
  'Consider gracefully handling failures from this canister or altering the canister to handle exceptions. See documentation: https://internetcomputer.org/docs/current/references/execution-errors#trapped-explicitly';

export function trapRejection(canisterId: string, trap: CanisterTrap): Rejection {
  const help = trap.errorCode === ErrorCode.CanisterCalledTrap ? `.\n${TRAPPED_EXPLICITLY_HELP}` : '';
  return reject(RejectCode.CanisterError, trap.errorCode, `Error from Canister ${canisterId}: ${trap.message}${help}`);
}

export function methodNotFound(canisterId: string, kind: 'query' | 'update', method: string): Rejection {
  return reject(RejectCode.CanisterError, ErrorCode.CanisterMethodNotFound, `Error from Canister ${canisterId}: Canister has no ${kind} method '${method}'.`);
}

export function noReply(canisterId: string): Rejection {
  return reject(RejectCode.CanisterError, ErrorCode.CanisterDidNotReply, `Error from Canister ${canisterId}: Canister did not reply to the call`);
}

export function managementMethodNotFound(method: string): Rejection {
  return reject(RejectCode.CanisterError, ErrorCode.CanisterMethodNotFound, `Management canister has no method '${method}'`);
}

export function compositeQueryInReplicatedMode(canisterId: string, method: string): Rejection {
  return reject(RejectCode.CanisterError, ErrorCode.CompositeQueryCalledInReplicatedMode, `Error from Canister ${canisterId}: Composite query cannot be called in replicated mode; call '${method}' as a query.`);
}

/** A call to an id no subnet hosts (outside every canister range): rejected by message routing. */
export function noRoute(canisterId: string): Rejection {
  return { ...reject(RejectCode.DestinationInvalid, ErrorCode.CanisterNotFound, `No route to canister ${canisterId}`), verbatim: true };
}

/** The reject message a calling canister reads with msg_reject_msg_copy. */
export function canisterVisibleMessage(r: Rejection): string {
  return r.verbatim ? r.rejectMessage : `${r.errorCode}: ${r.rejectMessage}`;
}
