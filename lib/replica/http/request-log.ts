// Status of every ingress call the replica accepted, kept for the certified
// /request_status/<id> subtree (interface spec, "Request status"), and the replay guard: an id
// stays known until its ingress expiry (plus a grace period) has passed, so an identical signed
// request can never run twice. Bounded twice over: when MAX_REQUEST_STATUSES ids are held, new
// calls are refused (503) rather than any id forgotten; when replies held exceed
// MAX_STATUS_REPLY_BYTES, the oldest lose their reply and read as `done`, as on the IC.
import { lebEncode } from '@dfinity/candid';
import type { Principal } from '@dfinity/principal';
import { bytesToHex as hex, utf8ToBytes } from '@noble/hashes/utils';
import type { CallOutcome } from '../ingress.js';
import { invariant } from '../errors.js';
import { PERMITTED_DRIFT_NS } from './envelope.js';
import { HttpInterfaceError } from './errors.js';
import { LabeledTree } from './hash-tree.js';
import { LabelTrie } from './label-trie.js';

/** Most request ids held at once (~6 minutes of 275 calls/s); beyond it new calls get 503. */
export const MAX_REQUEST_STATUSES = 100_000;
/** Reply and reject-message bytes held; beyond it the oldest finished statuses become `done`. */
export const MAX_STATUS_REPLY_BYTES = 256 * 1024 * 1024;
/** How long after its ingress expiry a status stays readable (pollers are slow). */
export const STATUS_GRACE_NS = 60n * 1_000_000_000n;
// An id must outlive the window in which the expiry check still accepts its request.
invariant(STATUS_GRACE_NS >= PERMITTED_DRIFT_NS, 'request statuses must be kept at least as long as expired requests are accepted');

export interface RequestLogLimits {
  /** Default MAX_REQUEST_STATUSES. */
  maxStatuses?: number;
  /** Default MAX_STATUS_REPLY_BYTES. */
  maxReplyBytes?: number;
}

export interface RequestStatus {
  sender: Principal;
  expiryNs: bigint;
  /** `done`: finished, and the reply was dropped to bound memory (only the id is kept). */
  phase: 'processing' | 'finished' | 'done';
  /** Set while `finished`. */
  outcome?: CallOutcome;
  /** The certified subtree; rebuilt only when the status changes. */
  tree: LabeledTree;
}

const PROCESSING_TREE = LabeledTree.map([['status', LabeledTree.leaf('processing')]]);
const DONE_TREE = LabeledTree.map([['status', LabeledTree.leaf('done')]]);

export class RequestLog {
  readonly #entries = new Map<string, RequestStatus>();
  /** Finished statuses still holding their reply, oldest finished first. */
  readonly #withReply = new Set<string>();
  #replyBytes = 0;
  readonly #maxStatuses: number;
  readonly #maxReplyBytes: number;
  /** The certified `request_status` map; each change copies one path (the old trie stays whole). */
  #trie = LabelTrie.empty<LabeledTree>();
  #tree: LabeledTree | undefined;
  /**
   * No finished entry may be pruned before this time (a lower bound: the entry it came from may
   * have been pruned since). Lets `prune`, called on every request, skip its scan until one is due.
   */
  #nextPruneNs: bigint | undefined;

  constructor(limits: RequestLogLimits = {}) {
    this.#maxStatuses = limits.maxStatuses ?? MAX_REQUEST_STATUSES;
    this.#maxReplyBytes = limits.maxReplyBytes ?? MAX_STATUS_REPLY_BYTES;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(requestId: Uint8Array): RequestStatus | undefined {
    return this.#entries.get(hex(requestId));
  }

  /** Refuses (503) when full: forgetting an unexpired id would let its request run again. */
  assertRoom(): void {
    if (this.#entries.size < this.#maxStatuses) return;
    throw new HttpInterfaceError(
      503,
      `The replica holds ${this.#maxStatuses} request ids, each kept until its ingress expiry passes so that no signed request runs twice; retry once older requests have expired (at most ${Number(STATUS_GRACE_NS / 1_000_000_000n)} s after their expiry).`
    );
  }

  /** Records an accepted call (status `processing` until `finish`). */
  accept(requestId: Uint8Array, sender: Principal, expiryNs: bigint): void {
    const key = hex(requestId);
    invariant(!this.#entries.has(key), `RequestLog.accept: request ${key} already accepted`);
    this.assertRoom();
    this.#entries.set(key, { sender, expiryNs, phase: 'processing', tree: PROCESSING_TREE });
    this.#changed(key);
  }

  finish(requestId: Uint8Array, outcome: CallOutcome): void {
    const key = hex(requestId);
    const entry = this.#entries.get(key);
    invariant(entry !== undefined, `RequestLog.finish: request ${key} was never accepted (processing entries are never pruned)`);
    invariant(entry.phase === 'processing', `RequestLog.finish: request ${key} finished twice`);
    entry.phase = 'finished';
    entry.outcome = outcome;
    entry.tree = statusTree(outcome);
    this.#changed(key);
    this.#withReply.add(key);
    this.#replyBytes += replyBytes(outcome);
    while (this.#replyBytes > this.#maxReplyBytes) this.#dropOldestReply();
    const deadline = entry.expiryNs + STATUS_GRACE_NS;
    if (this.#nextPruneNs === undefined || deadline < this.#nextPruneNs) this.#nextPruneNs = deadline;
  }

  /** Drops statuses whose expiry (plus grace) lies before `nowNs`. */
  prune(nowNs: bigint): void {
    if (this.#nextPruneNs === undefined || nowNs <= this.#nextPruneNs) return;
    this.#nextPruneNs = undefined;
    for (const [key, entry] of this.#entries) {
      if (entry.phase === 'processing') continue;
      const deadline = entry.expiryNs + STATUS_GRACE_NS;
      if (deadline < nowNs) {
        if (this.#withReply.delete(key)) this.#replyBytes -= replyBytes(entry.outcome!);
        this.#entries.delete(key);
        this.#changed(key);
      } else if (this.#nextPruneNs === undefined || deadline < this.#nextPruneNs) {
        this.#nextPruneNs = deadline;
      }
    }
  }

  /** The `request_status` subtree, labels being raw request ids (unchanged trees are reused). */
  tree(): LabeledTree {
    return (this.#tree ??= LabeledTree.fromTrie(this.#trie));
  }

  /** Records that `key` was added, changed or removed: one path of the trie is replaced. */
  #changed(key: string): void {
    const entry = this.#entries.get(key);
    const label = Buffer.from(key, 'hex');
    this.#trie = entry === undefined ? this.#trie.delete(label) : this.#trie.set(label, entry.tree);
    this.#tree = undefined;
  }

  /** The oldest finished status keeps its id (the replay guard) but loses its reply. */
  #dropOldestReply(): void {
    const key = this.#withReply.values().next().value!;
    this.#withReply.delete(key);
    const entry = this.#entries.get(key)!;
    this.#replyBytes -= replyBytes(entry.outcome!);
    entry.phase = 'done';
    entry.outcome = undefined;
    entry.tree = DONE_TREE;
    this.#changed(key);
  }
}

function replyBytes(outcome: CallOutcome): number {
  return outcome.status === 'replied' ? outcome.reply.length : outcome.rejectMessage.length;
}

/** Labels and fixed leaves of status subtrees, encoded once (a status is built per finished call). */
const STATUS = utf8ToBytes('status');
const REPLY = utf8ToBytes('reply');
const REJECT_CODE = utf8ToBytes('reject_code');
const REJECT_MESSAGE = utf8ToBytes('reject_message');
const ERROR_CODE = utf8ToBytes('error_code');
const REPLIED = LabeledTree.leaf('replied');
const REJECTED = LabeledTree.leaf('rejected');

/** The certified `request_status/<id>` subtree of a call (undefined: still processing). */
export function statusTree(outcome: CallOutcome | undefined): LabeledTree {
  if (outcome === undefined) return PROCESSING_TREE;
  if (outcome.status === 'replied') {
    return LabeledTree.map([
      [STATUS, REPLIED],
      [REPLY, LabeledTree.leaf(outcome.reply)]
    ]);
  }
  return LabeledTree.map([
    [STATUS, REJECTED],
    [REJECT_CODE, LabeledTree.leaf(new Uint8Array(lebEncode(outcome.rejectCode)))],
    [REJECT_MESSAGE, LabeledTree.leaf(outcome.rejectMessage)],
    [ERROR_CODE, LabeledTree.leaf(outcome.errorCode)]
  ]);
}
