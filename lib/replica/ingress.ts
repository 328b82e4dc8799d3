// The seam between the replica's execution engine and its HTTP interface (lib/replica/http).
// The engine (LocalReplica) implements IngressBackend; the HTTP layer only ever talks to this
// interface, so it can serve any engine that executes messages with IC semantics.
import type { Principal } from '@dfinity/principal';
import { ErrorCode, RejectCode } from './errors.js';

/** Largest ingress argument the IC accepts. */
export const MAX_INGRESS_BYTES = 2 * 1024 * 1024;
/** Most ingress messages inducted in one round (the IC's max_ingress_messages_per_block). */
export const MAX_INGRESS_MESSAGES_PER_ROUND = 1_000;
/** Most ingress argument bytes inducted in one round (the IC's max_ingress_bytes_per_block, 4 MB). */
export const MAX_INGRESS_BYTES_PER_ROUND = 4 * 1024 * 1024;

/** An ingress message after the HTTP layer has authenticated its sender. */
export interface IngressMessage {
  sender: Principal;
  /** `aaaaa-aa` for the management canister. */
  canisterId: Principal;
  methodName: string;
  arg: Uint8Array;
  /** The `<ecid>` of the URL; for management calls it names the canister the call is about. */
  effectiveCanisterId: Principal;
}

/** How a message ended, as the IC reports it (reject codes 1..6, error codes like `IC0503`). */
export type CallOutcome =
  | { status: 'replied'; reply: Uint8Array }
  | { status: 'rejected'; rejectCode: number; rejectMessage: string; errorCode: string };

/** What the certified state tree needs to know about one canister. */
export interface CanisterCertifiedInfo {
  certifiedData: Uint8Array;
  /** SHA-256 of the installed module, absent when empty. */
  moduleHash?: Uint8Array;
  controllers: Principal[];
}

export interface IngressBackend {
  /** Replica time in nanoseconds since the epoch. */
  timeNs(): bigint;
  /** Moves replica time forward (live mode keeps it near the wall clock for the agent's checks). */
  advanceTime(ms: number): Promise<void>;
  /**
   * Runs `canister_inspect_message` when the canister exports it. Resolves to undefined when the
   * message is accepted, or to the rejection to answer over HTTP.
   */
  inspectIngress(message: IngressMessage): Promise<CallOutcome | undefined>;
  /**
   * Runs one round (due timers, heartbeats, queued messages). A live HTTP server calls it on a
   * fixed interval so canister timers fire while no request arrives, as on a real subnet.
   */
  tick?(): Promise<void>;
  /**
   * Runs `inspectIngress`, then executes the message alone and resolves with its outcome: the
   * form for in-process callers. The HTTP layer inspects once on arrival and uses executeIngress.
   */
  submitIngress(message: IngressMessage): Promise<CallOutcome>;
  /**
   * Inducts `messages` (already accepted by inspectIngress; at most MAX_INGRESS_MESSAGES_PER_ROUND
   * and MAX_INGRESS_BYTES_PER_ROUND of arguments) into one round, as a block of ingress, and runs
   * rounds until each has an outcome or nothing is left to run. `settle(i, outcome)` is called
   * exactly once per message: during this call for those that finished, later (in a round run by
   * `tick`) for those waiting on time or on delayed messages.
   */
  executeIngress(messages: readonly IngressMessage[], settle: (index: number, outcome: CallOutcome) => void): void;
  /** Executes a query (non-replicated: `data_certificate_present` is 1, changes discarded). */
  query(message: IngressMessage): Promise<CallOutcome>;
  /** Certified facts of a canister, undefined when it does not exist. */
  canisterInfo(canisterId: Principal): CanisterCertifiedInfo | undefined;
  /** Every canister that exists, for `canister_ranges` and routing checks. */
  canisterIds(): Principal[];
  /** Sets the certificate the engine hands to canisters in non-replicated queries. */
  setDataCertificateProvider?(provide: (canisterId: Principal) => Uint8Array | undefined): void;
}

/** The IC refuses ingress above MAX_INGRESS_BYTES before any canister code runs. */
export function oversizedIngress(message: IngressMessage): CallOutcome | undefined {
  if (message.arg.length <= MAX_INGRESS_BYTES) return undefined;
  return {
    status: 'rejected',
    rejectCode: RejectCode.CanisterError,
    rejectMessage: `ingress message of ${message.arg.length} bytes exceeds the ${MAX_INGRESS_BYTES}-byte limit; upload large modules with upload_chunk + install_chunked_code`,
    errorCode: ErrorCode.CanisterContractViolation
  };
}
