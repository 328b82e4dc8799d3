// The canisters' input queues: FIFO per receiving canister (which keeps the IC's ordering per
// caller/callee pair), the count of requests queued per pair (at most MAX_QUEUE_MESSAGES), and
// the holds fault injection puts on a message (some rounds, or until a replica time).
import { Principal } from '@dfinity/principal';
import { idText } from './canister-ids.js';
import { invariant } from './errors.js';
import type { Message, Request } from './messages.js';

/** Messages queued per caller/callee pair before call_perform fails (SYS_TRANSIENT). */
export const MAX_QUEUE_MESSAGES = 500;

export class MessageQueues {
  readonly #queues = new Map<string, Message[]>();
  readonly #pairCounts = new Map<string, number>();

  /** Whether `from` may queue one more request to `to`, with `pending` more already made in this execution. */
  canEnqueue(from: Principal, to: Uint8Array, pending: number): boolean {
    return (this.#pairCounts.get(pairKey(from, Principal.fromUint8Array(to))) ?? 0) + pending < MAX_QUEUE_MESSAGES;
  }

  enqueue(message: Message, round: number): void {
    message.sentInRound = round;
    const key = idText(message.receiver);
    let queue = this.#queues.get(key);
    if (!queue) this.#queues.set(key, (queue = []));
    queue.push(message);
    if (message.kind === 'request') this.#adjustPair(message, 1);
  }

  /** Some message can be delivered now or after rounds pass (a time-held one waits for time). */
  hasWork(time: bigint): boolean {
    for (const queue of this.#queues.values()) {
      if (queue.some((m) => m.delayUntil === undefined || m.delayUntil <= time || (m.delayRounds ?? 0) > 0)) return true;
    }
    return false;
  }

  /** Receivers (canister id text) with queued messages. */
  receivers(): string[] {
    return [...this.#queues.keys()].filter((k) => this.#queues.get(k)!.length > 0);
  }

  /** Takes the messages of `receiver` that may run this round; held ones stay (a round-hold counts down). */
  takeForRound(receiver: string, time: bigint): Message[] {
    const queue = this.#queues.get(receiver);
    if (!queue) return [];
    const ready: Message[] = [];
    for (const message of queue.splice(0, queue.length)) {
      if ((message.delayRounds ?? 0) > 0) {
        message.delayRounds!--;
        queue.push(message);
      } else if (message.delayUntil !== undefined && message.delayUntil > time) queue.push(message);
      else ready.push(message);
    }
    ready.forEach((m) => this.#delivered(m));
    return ready;
  }

  /** Takes, per receiver, the unheld messages sent in `round` (they run in the round they were sent). */
  takeSentIn(round: number, time: bigint): Map<string, Message[]> {
    const ready = (m: Message): boolean => m.sentInRound === round && !(m.delayRounds ?? 0) && (m.delayUntil === undefined || m.delayUntil <= time);
    const taken = new Map<string, Message[]>();
    for (const [key, queue] of this.#queues) {
      if (!queue.some(ready)) continue;
      taken.set(key, queue.filter(ready));
      this.#queues.set(key, queue.filter((m) => !ready(m)));
    }
    for (const batch of taken.values()) batch.forEach((m) => this.#delivered(m));
    return taken;
  }

  #delivered(message: Message): void {
    if (message.kind === 'request') this.#adjustPair(message, -1);
  }

  #adjustPair(request: Request, delta: number): void {
    const key = pairKey(request.sender, request.receiver);
    const count = (this.#pairCounts.get(key) ?? 0) + delta;
    invariant(count >= 0, `more requests delivered than queued from ${key}`);
    if (count === 0) this.#pairCounts.delete(key);
    else this.#pairCounts.set(key, count);
  }
}

function pairKey(from: Principal, to: Principal): string {
  return `${idText(from)}|${idText(to)}`;
}
