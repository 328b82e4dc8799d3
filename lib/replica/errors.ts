// Typed errors of the local replica. Rejections carry the IC's reject code (1..6) and its error
// code (`IC0xxx`), with the same meaning as on mainnet, so callers can branch on them.

/** Reject codes of the IC interface specification. */
export const RejectCode = {
  SysFatal: 1,
  SysTransient: 2,
  DestinationInvalid: 3,
  CanisterReject: 4,
  CanisterError: 5,
  SysUnknown: 6
} as const;
export type RejectCodeValue = (typeof RejectCode)[keyof typeof RejectCode];

/** Error codes as today's replica reports them (`ErrorCode` in dfinity/ic, printed `IC0xxx`). */
export const ErrorCode = {
  CanisterQueueFull: 'IC0201',
  CanisterIdAlreadyExists: 'IC0205',
  CanisterOutOfCycles: 'IC0207',
  CanisterNotFound: 'IC0301',
  CanisterSnapshotNotFound: 'IC0305',
  InsufficientCyclesForCreateCanister: 'IC0403',
  CanisterRejectedMessage: 'IC0406',
  InvalidManagementPayload: 'IC0408',
  CanisterTrapped: 'IC0502',
  CanisterCalledTrap: 'IC0503',
  CanisterContractViolation: 'IC0504',
  CanisterInvalidWasm: 'IC0505',
  CanisterDidNotReply: 'IC0506',
  CanisterOutOfMemory: 'IC0507',
  CanisterStopped: 'IC0508',
  CanisterStopping: 'IC0509',
  CanisterNotStopped: 'IC0510',
  CanisterStoppingCancelled: 'IC0511',
  CanisterInvalidController: 'IC0512',
  CanisterNonEmpty: 'IC0514',
  QueryCallGraphLoopDetected: 'IC0517',
  InsufficientCyclesInCall: 'IC0520',
  CanisterInstructionLimitExceeded: 'IC0522',
  QueryCallGraphTooDeep: 'IC0525',
  CompositeQueryCalledInReplicatedMode: 'IC0527',
  CanisterMethodNotFound: 'IC0536',
  CanisterWasmModuleNotFound: 'IC0537',
  CanisterAlreadyInstalled: 'IC0538',
  DeadlineExpired: 'IC0601'
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class: anything the replica throws on purpose. */
export class ReplicaError extends Error {
  override name = 'ReplicaError';
}

/** A call ended in a rejection (canister reject, trap, system error). */
export class CallRejectedError extends ReplicaError {
  override name = 'CallRejectedError';
  constructor(
    readonly rejectCode: number,
    readonly rejectMessage: string,
    readonly errorCode: string
  ) {
    super(`${errorCode} (reject code ${rejectCode}): ${rejectMessage}`);
  }
}

/** The bytes given as a canister module are not valid WebAssembly (or use unsupported features). */
export class InvalidWasmError extends ReplicaError {
  override name = 'InvalidWasmError';
}

/**
 * A trap inside an execution. Thrown by the System API (and mapped from Wasm runtime errors);
 * caught by the executor, never escapes the replica.
 */
export class CanisterTrap extends Error {
  override name = 'CanisterTrap';
  constructor(
    message: string,
    readonly errorCode: ErrorCodeValue = ErrorCode.CanisterTrapped
  ) {
    super(message);
  }
}

/** A rejection as data: what call contexts and callbacks carry around. */
export interface Rejection {
  rejectCode: number;
  rejectMessage: string;
  errorCode: string;
  /** A calling canister reads the message as is (a canister's own reject, a routing failure). */
  verbatim?: boolean;
}

export function reject(rejectCode: number, errorCode: string, rejectMessage: string): Rejection {
  return { rejectCode, rejectMessage, errorCode };
}

/** DESTINATION_INVALID for a canister id that names no (living) canister. */
export function canisterNotFound(id: string): Rejection {
  return reject(RejectCode.DestinationInvalid, ErrorCode.CanisterNotFound, `Canister ${id} not found`);
}

/** Internal consistency check at a state transition; a failure is a replica bug. */
export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`local replica invariant violated: ${message}`);
}
