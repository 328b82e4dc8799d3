// The CLI's failures as one line each. CliError is an answer to bad input or a state the user can
// fix (its message says what to do next); `explainFailure` turns what the agent throws into such a
// line: a non-controller identity (IC0512), an unreachable network, a canister that does not exist.

export class CliError extends Error {
  override readonly name = 'CliError';
}

interface RejectDetails {
  rejectCode?: number;
  rejectErrorCode?: string;
  rejectMessage?: string;
}

/** The reject an agent error carries, if the IC answered with one. */
export function rejectOf(error: unknown): RejectDetails | undefined {
  const code = (error as { cause?: { code?: RejectDetails } })?.cause?.code;
  return code?.rejectErrorCode !== undefined || code?.rejectCode !== undefined ? code : undefined;
}

export interface FailureContext {
  /** The principal the CLI signs as. */
  principal?: string;
  /** The network's name, for "cannot reach" lines. */
  network?: string;
}

/** One line for any failure; CliErrors pass through unchanged. */
export function explainFailure(error: unknown, context: FailureContext = {}): string {
  if (error instanceof CliError) return error.message;
  const reject = rejectOf(error);
  if (reject?.rejectErrorCode === 'IC0512') {
    const canister = /canister ([a-z0-9-]+)/.exec(reject.rejectMessage ?? '')?.[1] ?? 'the canister';
    return `identity ${context.principal ?? '(unknown)'} does not control ${canister}; pass --identity with a controller's PEM`;
  }
  if (reject?.rejectErrorCode === 'IC0301' || reject?.rejectCode === 3) {
    return `${(reject.rejectMessage ?? 'canister not found').split('\n')[0]} (${reject.rejectErrorCode ?? 'destination invalid'}); check --network and --cluster`;
  }
  if (reject !== undefined) return `${reject.rejectErrorCode ?? `reject ${reject.rejectCode}`}: ${(reject.rejectMessage ?? '').split('\n')[0]}`;
  const message = error instanceof Error ? error.message : String(error);
  if (/fetch failed|ECONNREFUSED|ENOTFOUND|EAI_AGAIN/.test(message + String((error as { cause?: unknown })?.cause ?? ''))) {
    return `cannot reach network ${context.network ?? ''}: ${message.split('\n')[0]}; is the replica running?`;
  }
  return message.split('\n')[0];
}
