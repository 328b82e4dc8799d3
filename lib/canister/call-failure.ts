// What a failed inter-canister call means, as a typed error. A reject that says the callee never
// ran (stopped or stopping canister, no module, queue full / SYS_TRANSIENT, destination invalid,
// the call not even made) is UnavailableError: safe to send again. Any other failure of a write
// is UnknownOutcomeError: it may have run, so it is never re-sent automatically. A failed read is
// UnavailableError (reads are safe to repeat). Pure: no Azle import, so Node tests check it.
import { UnavailableError, UnknownOutcomeError } from '../model/errors.js';

/** Reject codes (IC interface spec). */
const SYS_TRANSIENT = 2;
const DESTINATION_INVALID = 3;
const CANISTER_ERROR = 5;
/**
 * CANISTER_ERROR messages that say the callee never ran: stopped (IC0508), stopping (IC0509), no
 * Wasm module (IC0537). Anchored at the start: a trap's message ("Error from Canister …: …") may
 * contain any text, and mistaking a trap of a write for "did not run" would re-send it.
 */
const NOT_EXECUTED = /^(?:IC05(?:08|09|37)\b|Canister [a-z0-9-]+ (?:is stopped|is stopping|has no Wasm module|contains no Wasm module))/;

interface CallFailure {
  type?: string;
  rejectCode?: number;
  rejectMessage?: string;
}

/** Whether a failed call surely did not execute on the callee (Azle's CallError shapes). */
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

