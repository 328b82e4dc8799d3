// How a failed inter-canister call is classified: only rejects that prove the callee never ran
// may become UnavailableError (safe to re-send) for a write; everything else is UnknownOutcome.
import { UnavailableError, UnknownOutcomeError } from 'shardorm';
import { callFailure, didNotExecute } from '../../lib/canister/call-failure.js';

const rejected = (rejectCode: number, rejectMessage: string) => ({ type: 'CallRejected', rejectCode, rejectMessage });

test.each([
  ['call_perform failed', { type: 'CallPerformFailed' }],
  ['SYS_TRANSIENT (queue full)', rejected(2, 'Canister queue is full')],
  ['DESTINATION_INVALID', rejected(3, 'Canister abc not found')],
  ['stopped', rejected(5, 'Canister rrkah-fqaaa-aaaaa-aaaaq-cai is stopped')],
  ['stopping', rejected(5, 'Canister rrkah-fqaaa-aaaaa-aaaaq-cai is stopping')],
  ['no module', rejected(5, 'Canister rrkah-fqaaa-aaaaa-aaaaq-cai has no Wasm module installed; install code first')],
  ['IC0508 prefix', rejected(5, 'IC0508: Canister x is stopped and therefore does not have a CallContextManager')],
])('%s: did not run, a write becomes UnavailableError', (_name, failure) => {
  expect(didNotExecute(failure)).toBe(true);
  expect(callFailure(failure, 'b', 'execute', true)).toBeInstanceOf(UnavailableError);
});

test.each([
  ['a trap (even one mentioning a stopped canister)', rejected(5, 'Error from Canister b: Canister called `ic0.trap` with message: Canister c is stopped')],
  ['a canister reject', rejected(4, 'nope')],
  ['SYS_FATAL', rejected(1, 'fatal')],
  ['SYS_UNKNOWN (best effort timeout)', rejected(6, 'deadline expired')],
  ['a cleanup callback', { type: 'CleanupCallback', rejectCode: 10_001 }],
  ['something else', new Error('boom')],
])('%s: may have run, a write becomes UnknownOutcomeError and a read UnavailableError', (_name, failure) => {
  expect(didNotExecute(failure)).toBe(false);
  expect(callFailure(failure, 'b', 'execute', true)).toBeInstanceOf(UnknownOutcomeError);
  expect(callFailure(failure, 'b', 'read', false)).toBeInstanceOf(UnavailableError);
});
