// One execution of one entry point: its inputs (what the System API lets the canister read) and
// the effects it produced, which the replica applies only when the execution does not trap.
import type { Rejection } from './errors.js';

export type ExecutionKind =
  | 'init'
  | 'pre_upgrade'
  | 'post_upgrade'
  | 'update'
  | 'query'
  | 'replicated_query'
  | 'composite_query'
  | 'composite_reply'
  | 'composite_reject'
  | 'reply'
  | 'reject'
  | 'cleanup'
  | 'timer'
  | 'heartbeat'
  | 'inspect';

/** Instruction limits of the IC (per execution). */
export const INSTRUCTION_LIMITS: Record<ExecutionKind, bigint> = {
  init: 300_000_000_000n,
  pre_upgrade: 300_000_000_000n,
  post_upgrade: 300_000_000_000n,
  update: 40_000_000_000n,
  replicated_query: 40_000_000_000n,
  reply: 40_000_000_000n,
  reject: 40_000_000_000n,
  cleanup: 40_000_000_000n,
  timer: 40_000_000_000n,
  heartbeat: 40_000_000_000n,
  query: 5_000_000_000n,
  composite_query: 5_000_000_000n,
  composite_reply: 5_000_000_000n,
  composite_reject: 5_000_000_000n,
  inspect: 200_000_000n
};

const NON_REPLICATED = new Set<ExecutionKind>(['query', 'inspect', 'composite_query', 'composite_reply', 'composite_reject']);

/** A call being assembled by call_new .. call_perform. */
export interface OutgoingCall {
  callee: Uint8Array;
  method: string;
  arg: Uint8Array[];
  argSize: number;
  cycles: bigint;
  replyFun: number;
  replyEnv: number;
  rejectFun: number;
  rejectEnv: number;
  cleanup?: { fun: number; env: number };
  /** Seconds, set by call_with_best_effort_response. */
  timeoutSeconds?: number;
}

export interface ExecutionInput {
  kind: ExecutionKind;
  arg: Uint8Array;
  caller: Uint8Array;
  methodName: string;
  time: bigint;
  /** Cycles attached to the call (update) or returned (callbacks: refunded). */
  cyclesAvailable: bigint;
  cyclesRefunded: bigint;
  /** For reject callbacks (and cleanup): the rejection received. */
  rejection?: Rejection;
  /** The call context was already answered (callbacks of a context that replied earlier). */
  alreadyResponded: boolean;
  dataCertificate?: Uint8Array;
  /** Deadline of a best-effort call being executed, 0 for guaranteed responses. */
  deadline: bigint;
  /** Instructions of the earlier executions of this call context (performance_counter type 1). */
  contextInstructions: bigint;
}

/** Joins the pieces of a payload assembled by `*_data_append` calls (no copy when there is one piece). */
export function concatChunks(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export class Execution {
  replyChunks: Uint8Array[] = [];
  replySize = 0;
  response?: { reply: Uint8Array } | { reject: Rejection };
  pending?: OutgoingCall;
  calls: OutgoingCall[] = [];
  certifiedData?: Uint8Array;
  /** New global timer value when set in this execution. */
  timer?: bigint;
  cyclesAccepted = 0n;
  cyclesBurned = 0n;
  cyclesSent = 0n;
  messageAccepted = false;
  logs: string[] = [];

  constructor(
    readonly input: ExecutionInput,
    /** Instructions this execution may run (the replica's limit for its kind). */
    readonly limit: bigint
  ) {}

  get kind(): ExecutionKind {
    return this.input.kind;
  }

  get responded(): boolean {
    return this.input.alreadyResponded || this.response !== undefined;
  }

  /** Executed by the whole subnet (charged cycles); queries and inspect_message are not. */
  get replicated(): boolean {
    return !NON_REPLICATED.has(this.kind);
  }

  /**
   * Whether state changes are kept: never for queries (even called as an update). Composite query
   * executions keep them until the whole query call graph ends (composite.ts then restores).
   */
  get commits(): boolean {
    return this.kind === 'composite_query' || this.kind === 'composite_reply' || this.kind === 'composite_reject' || (this.replicated && this.kind !== 'replicated_query');
  }
}
