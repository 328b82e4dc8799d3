// Ingress accepted over HTTP, executed in rounds: every call that arrives while a round is being
// prepared joins it (up to the IC's per-round limits), the engine runs the batch as one block of
// ingress, and the state is certified once for the whole round, so N concurrent callers cost one
// BLS signature instead of N. Calls still running after their round (waiting on time or on delayed
// messages) finish in later rounds; their statuses are certified the next time the state is read.
// Under load, rounds that follow each other closely share one signature, and the signature waits
// (bounded) until every caller seen lately has a call in it: clients of one process send their next
// calls one after another, so without the wait a signature covered ~5 of 16 callers' calls.
import { bytesToHex } from '@noble/hashes/utils';
import { RejectCode } from '../errors.js';
import { type CallOutcome, type IngressBackend, type IngressMessage, MAX_INGRESS_BYTES_PER_ROUND, MAX_INGRESS_MESSAGES_PER_ROUND } from '../ingress.js';
import type { CertifiedState } from './certificate.js';
import type { AuthenticatedRequest } from './envelope.js';
import { HttpInterfaceError, messageOf } from './errors.js';
import type { RequestLog } from './request-log.js';

/** Calls accepted but not yet inducted into a round; beyond it new calls get 503. */
export const MAX_QUEUED_INGRESS = 10_000;
/**
 * Rounds run back to back before one signature covers them all, while calls keep arriving
 * (under load); with MAX_CERTIFICATION_WAIT_MS, bounds how long a finished call can wait for its
 * certificate.
 */
export const MAX_ROUNDS_PER_CERTIFICATION = 64;
/** Longest a certification waits for more callers' calls, counted from its first round (ms). */
export const MAX_CERTIFICATION_WAIT_MS = 50;
/** Callers count as active for this long after their last call (ms)... */
export const ACTIVE_CALLER_WINDOW_MS = 1000;
/** ...and at most this many are tracked (the least recent are forgotten first). */
export const MAX_TRACKED_CALLERS = 10_000;

interface Accepted {
  request: AuthenticatedRequest;
  message: IngressMessage;
}

export interface IngressQueueOptions {
  backend: IngressBackend;
  log: RequestLog;
  certified: CertifiedState;
  /**
   * Least time between the starts of two ingress rounds (the IC's block time; default 0: a round
   * starts as soon as the calls that arrived together are queued). Calls arriving meanwhile join.
   */
  roundIntervalMs?: number;
  /** Engine failures (answered as SYS_FATAL rejects, never thrown at clients). */
  onEngineError?: (error: unknown) => void;
}

export class IngressQueue {
  readonly #queued: Accepted[] = [];
  /** Requests (hex id) accepted and not yet settled. */
  readonly #unsettled = new Set<string>();
  /** Callers waiting for a certified outcome, by request id (hex). */
  readonly #waiters = new Map<string, (() => void)[]>();
  /** A round is scheduled, running, or waiting for its certification. */
  #busy = false;
  #uncertifiedRounds = 0;
  #lastRoundMs = 0;
  /** Senders (hex) of the calls taken into rounds since the last certification, and when the first of those rounds ran. */
  readonly #uncertifiedCallers = new Set<string>();
  #firstUncertifiedMs = 0;
  /** Senders (hex) by the time of their last call, least recent first. */
  readonly #callers = new Map<string, number>();
  #certifyScheduled = false;
  /** Set while a certification waits for more callers (it fires at the wait's bound). */
  #waitTimer: NodeJS.Timeout | undefined;
  #wakeScheduled = false;
  #drained: (() => void) | undefined;

  constructor(private readonly options: IngressQueueOptions) {}

  /** Refuses (503) before any work is done on a call that could not be queued. */
  assertRoom(): void {
    if (this.#queued.length < MAX_QUEUED_INGRESS) return;
    throw new HttpInterfaceError(503, `${MAX_QUEUED_INGRESS} calls are waiting for a round; retry shortly.`);
  }

  /** Records the call as `processing` and queues it for the next round. */
  accept(request: AuthenticatedRequest, message: IngressMessage): void {
    this.assertRoom();
    this.options.log.accept(request.requestId, request.sender, request.ingressExpiryNs);
    this.#unsettled.add(bytesToHex(request.requestId));
    this.#queued.push({ request, message });
    this.#noteCaller(senderKey(request));
    if (this.#waitTimer === undefined) this.#scheduleRound();
    else this.#wake();
  }

  /** A call arrived while a certification waits: run it as the next round, after this loop turn's I/O. */
  #wake(): void {
    if (this.#wakeScheduled) return;
    this.#wakeScheduled = true;
    setImmediate(() => {
      this.#wakeScheduled = false;
      if (this.#waitTimer !== undefined) this.#afterRound();
    });
  }

  #noteCaller(sender: string): void {
    const now = performance.now();
    this.#callers.delete(sender);
    this.#callers.set(sender, now);
    if (this.#callers.size > MAX_TRACKED_CALLERS) this.#callers.delete(this.#callers.keys().next().value!);
  }

  /** Senders that called within ACTIVE_CALLER_WINDOW_MS (older entries are dropped). */
  #activeCallers(now: number): number {
    for (const [sender, at] of this.#callers) {
      if (now - at <= ACTIVE_CALLER_WINDOW_MS) break;
      this.#callers.delete(sender);
    }
    return this.#callers.size;
  }

  /**
   * Whether the certification should wait: some caller active lately has no call in it yet (it is
   * probably sending its next one), and the wait stays within MAX_CERTIFICATION_WAIT_MS.
   */
  #awaitMoreCallers(now: number): boolean {
    if (this.#queued.length > 0 || (this.options.roundIntervalMs ?? 0) > 0) return false;
    return this.#uncertifiedCallers.size < this.#activeCallers(now) && now - this.#firstUncertifiedMs < MAX_CERTIFICATION_WAIT_MS;
  }

  /**
   * Resolves true once the request's outcome is in the certified state, false after `timeoutMs`
   * (the caller then answers 202 and the agent polls read_state).
   */
  async waitForCertified(requestId: Uint8Array, timeoutMs: number): Promise<boolean> {
    const key = bytesToHex(requestId);
    if (!this.#unsettled.has(key)) return true;
    let timer: NodeJS.Timeout | undefined;
    const waiters = this.#waiters.get(key) ?? [];
    this.#waiters.set(key, waiters);
    const certified = await new Promise<boolean>(resolve => {
      const wake = () => resolve(true);
      waiters.push(wake);
      timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(wake), 1);
        if (waiters.length === 0 && this.#waiters.get(key) === waiters) this.#waiters.delete(key);
        resolve(false);
      }, timeoutMs);
    });
    clearTimeout(timer);
    return certified;
  }

  /** Resolves once every accepted call has settled, or after `timeoutMs` (shutdown). */
  async drain(timeoutMs: number): Promise<void> {
    if (this.#unsettled.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>(resolve => {
      this.#drained = resolve;
      timer = setTimeout(resolve, timeoutMs);
    });
    clearTimeout(timer);
  }

  /** State may have changed outside a round of ours (the live pump's tick). */
  invalidate(): void {
    this.options.certified.invalidate();
  }

  #scheduleRound(): void {
    if (this.#busy) return;
    this.#busy = true;
    const run = () => {
      this.#lastRoundMs = performance.now();
      this.#round();
    };
    const waitMs = this.#lastRoundMs + (this.options.roundIntervalMs ?? 0) - performance.now();
    // setImmediate runs after the I/O callbacks of this loop turn: every request that arrived
    // with them has been authenticated and queued by then, so they share the round.
    if (waitMs <= 0) setImmediate(run);
    else setTimeout(run, waitMs);
  }

  #round(): void {
    const batch = this.#takeBatch();
    if (this.#uncertifiedCallers.size === 0) this.#firstUncertifiedMs = performance.now();
    for (const { request } of batch) this.#uncertifiedCallers.add(senderKey(request));
    let inRound = true;
    try {
      this.options.backend.executeIngress(batch.map(a => a.message), (index, outcome) => this.#settle(batch[index].request, outcome, inRound));
    } catch (error) {
      // Messages the engine did not settle stay `processing`; they may still finish in later rounds.
      this.options.onEngineError?.(error);
    }
    inRound = false;
    this.#uncertifiedRounds++;
    // One loop turn lets I/O deliver the calls that arrived while this round ran: under load
    // they run as the next round first, and one signature then covers both.
    setImmediate(() => this.#afterRound());
  }

  #afterRound(): void {
    clearTimeout(this.#waitTimer);
    this.#waitTimer = undefined;
    const paced = (this.options.roundIntervalMs ?? 0) > 0;
    if (!paced && this.#queued.length > 0 && this.#uncertifiedRounds < MAX_ROUNDS_PER_CERTIFICATION) {
      this.#round();
      return;
    }
    const now = performance.now();
    if (this.#uncertifiedRounds < MAX_ROUNDS_PER_CERTIFICATION && this.#awaitMoreCallers(now)) {
      // Woken by the next accepted call (accept → #wake), or at the bound: no polling.
      this.#waitTimer = setTimeout(() => this.#afterRound(), Math.max(0, this.#firstUncertifiedMs + MAX_CERTIFICATION_WAIT_MS - now));
      return;
    }
    this.#uncertifiedRounds = 0;
    this.#uncertifiedCallers.clear();
    this.#certifyAndWake();
    this.#busy = false;
    if (this.#queued.length > 0) this.#scheduleRound();
  }

  /** The oldest queued calls within the per-round message and byte limits (at least one). */
  #takeBatch(): Accepted[] {
    let [count, bytes] = [0, 0];
    while (count < this.#queued.length && count < MAX_INGRESS_MESSAGES_PER_ROUND) {
      bytes += this.#queued[count].message.arg.length;
      if (count > 0 && bytes > MAX_INGRESS_BYTES_PER_ROUND) break;
      count++;
    }
    return this.#queued.splice(0, count);
  }

  #settle(request: AuthenticatedRequest, outcome: CallOutcome, inRound: boolean): void {
    this.options.log.finish(request.requestId, outcome);
    this.#unsettled.delete(bytesToHex(request.requestId));
    if (this.#unsettled.size === 0) this.#drained?.();
    if (inRound) return; // certified at the end of the round
    this.options.certified.invalidate();
    if (this.#certifyScheduled) return;
    this.#certifyScheduled = true;
    setImmediate(() => {
      this.#certifyScheduled = false;
      this.#certifyAndWake();
    });
  }

  /** One certification for everything that finished; then every waiter whose status it holds. */
  #certifyAndWake(): void {
    this.options.certified.invalidate();
    try {
      this.options.certified.certify();
    } catch (error) {
      // A bug of ours: reported; the waiters still wake, and their read re-certifies (or answers 500).
      this.options.onEngineError?.(error);
    }
    for (const [key, waiters] of this.#waiters) {
      if (this.#unsettled.has(key)) continue;
      this.#waiters.delete(key);
      for (const wake of waiters) wake();
    }
  }
}

function senderKey(request: AuthenticatedRequest): string {
  return bytesToHex(request.sender.toUint8Array());
}

/** What a call the engine failed on reports (code 1, logged by the caller). */
export function engineFailure(error: unknown): CallOutcome {
  return { status: 'rejected', rejectCode: RejectCode.SysFatal, rejectMessage: `Local replica engine failure: ${messageOf(error)}`, errorCode: 'IC0001' };
}
