// Messages between canisters and the bookkeeping of open calls (call contexts and callbacks).
import type { Principal } from '@dfinity/principal';
import type { Canister } from './canister.js';
import type { Rejection } from './errors.js';
import type { OutgoingCall } from './execution.js';
import type { CallOutcome } from './ingress.js';

/** Who is waiting for a call context's response. */
export type Origin =
  | { kind: 'ingress'; settle: (outcome: CallOutcome) => void }
  | { kind: 'canister'; caller: Principal; callbackId: number }
  | { kind: 'system' };

export type CallResult = { reply: Uint8Array } | { reject: Rejection };

export interface Request {
  kind: 'request';
  sender: Principal;
  receiver: Principal;
  method: string;
  arg: Uint8Array;
  cycles: bigint;
  origin: Origin;
  /** Effective canister id (management calls over ingress). */
  effectiveCanisterId?: Principal;
  /** Best-effort deadline in ns, 0 for guaranteed response calls. */
  deadline: bigint;
  /** Rounds this message still waits (fault injection `delay`). */
  delayRounds?: number;
  /** Replica time before which it is not delivered (fault injection `delay`). */
  delayUntil?: bigint;
  /** Round in which it was sent (set by Engine.enqueue): sent this round, it runs this round. */
  sentInRound?: number;
}

export interface Response {
  kind: 'response';
  receiver: Principal;
  callbackId: number;
  result: CallResult;
  refund: bigint;
  delayRounds?: number;
  delayUntil?: bigint;
  sentInRound?: number;
}

export type Message = Request | Response;

export interface CallContext {
  id: number;
  canister: Canister;
  origin: Origin;
  caller: Uint8Array;
  methodName: string;
  cyclesAvailable: bigint;
  cyclesAccepted: bigint;
  responded: boolean;
  outstanding: number;
  deadline: bigint;
  /** Instructions of every execution of this context so far, traps and cleanups included. */
  instructions: bigint;
}

export interface Callback {
  id: number;
  canister: Canister;
  contextId: number;
  call: OutgoingCall;
  /** Best-effort deadline (ns), 0 when the response is guaranteed. */
  deadline: bigint;
  /** Canister version when the call was made: callbacks die with reinstall/uninstall. */
  moduleGeneration: number;
}

export function outcomeOf(result: CallResult): CallOutcome {
  return 'reply' in result
    ? { status: 'replied', reply: result.reply }
    : { status: 'rejected', rejectCode: result.reject.rejectCode, rejectMessage: result.reject.rejectMessage, errorCode: result.reject.errorCode };
}
