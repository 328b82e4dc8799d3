// Status of every ingress call the replica accepted, kept for the certified
// /request_status/<id> subtree (interface spec, "Request status"). Bounded: entries live until
// their ingress expiry plus a grace period, and the oldest finished ones go first when full.
import { lebEncode } from '@dfinity/candid';
import type { Principal } from '@dfinity/principal';
import { bytesToHex as hex } from '@noble/hashes/utils';
import type { CallOutcome } from '../ingress.js';
import { HttpInterfaceError } from './errors.js';
import { LabeledTree } from './hash-tree.js';

/** Most request statuses held at once; beyond it the oldest finished entries are dropped. */
export const MAX_REQUEST_STATUSES = 20_000;
/** How long after its ingress expiry a status stays readable (pollers are slow). */
export const STATUS_GRACE_NS = 60n * 1_000_000_000n;

export interface RequestStatus {
  sender: Principal;
  expiryNs: bigint;
  outcome?: CallOutcome;
  /** The certified subtree; rebuilt only when the status changes. */
  tree: LabeledTree;
}

export class RequestLog {
  readonly #entries = new Map<string, RequestStatus>();
  /** Request ids are hashes, so their first byte spreads entries evenly over 256 segments. */
  readonly #segmentKeys = new Map<number, Set<string>>();
  readonly #segments = new Map<number, LabeledTree>();
  #cached: LabeledTree | undefined;
  /**
   * No finished entry may be pruned before this time (a lower bound: the entry it came from may
   * have been evicted since). Lets `prune`, called on every request, skip its scan until one is due.
   */
  #nextPruneNs: bigint | undefined;

  get size(): number {
    return this.#entries.size;
  }

  get(requestId: Uint8Array): RequestStatus | undefined {
    return this.#entries.get(hex(requestId));
  }

  /** Records an accepted call (status `processing` until `finish`). */
  accept(requestId: Uint8Array, sender: Principal, expiryNs: bigint): void {
    const key = hex(requestId);
    if (this.#entries.has(key)) throw new Error(`RequestLog.accept: request ${key} already accepted`);
    if (this.#entries.size >= MAX_REQUEST_STATUSES) this.#evictOldestFinished();
    this.#entries.set(key, { sender, expiryNs, tree: statusTree(undefined) });
    this.#changed(key);
  }

  finish(requestId: Uint8Array, outcome: CallOutcome): void {
    const entry = this.#entries.get(hex(requestId));
    if (entry === undefined) return; // evicted while running: nobody can read it any more
    if (entry.outcome !== undefined) throw new Error(`RequestLog.finish: request ${hex(requestId)} finished twice`);
    entry.outcome = outcome;
    entry.tree = statusTree(outcome);
    this.#changed(hex(requestId));
    const deadline = entry.expiryNs + STATUS_GRACE_NS;
    if (this.#nextPruneNs === undefined || deadline < this.#nextPruneNs) this.#nextPruneNs = deadline;
  }

  /** Drops statuses whose expiry (plus grace) lies before `nowNs`. */
  prune(nowNs: bigint): void {
    if (this.#nextPruneNs === undefined || nowNs <= this.#nextPruneNs) return;
    this.#nextPruneNs = undefined;
    for (const [key, entry] of this.#entries) {
      if (entry.outcome === undefined) continue;
      const deadline = entry.expiryNs + STATUS_GRACE_NS;
      if (deadline < nowNs) {
        this.#entries.delete(key);
        this.#changed(key);
      } else if (this.#nextPruneNs === undefined || deadline < this.#nextPruneNs) {
        this.#nextPruneNs = deadline;
      }
    }
  }

  /** The `request_status` subtree, labels being raw request ids. */
  tree(): LabeledTree {
    if (this.#cached === undefined) {
      for (const [segment, keys] of this.#segmentKeys) {
        if (this.#segments.has(segment)) continue;
        this.#segments.set(segment, LabeledTree.map([...keys].map(key => [Buffer.from(key, 'hex'), this.#entries.get(key)!.tree] as const)));
      }
      this.#cached = LabeledTree.concat([...this.#segments].sort(([a], [b]) => a - b).map(([, tree]) => tree));
    }
    return this.#cached;
  }

  /** Records that `key` was added, changed or removed: only its segment is rebuilt. */
  #changed(key: string): void {
    const segment = parseInt(key.slice(0, 2), 16);
    const keys = this.#segmentKeys.get(segment) ?? new Set<string>();
    if (this.#entries.has(key)) keys.add(key);
    else keys.delete(key);
    if (keys.size === 0) this.#segmentKeys.delete(segment);
    else this.#segmentKeys.set(segment, keys);
    this.#segments.delete(segment);
    this.#cached = undefined;
  }

  #evictOldestFinished(): void {
    for (const [key, entry] of this.#entries) {
      if (entry.outcome !== undefined) {
        this.#entries.delete(key);
        this.#changed(key);
        return;
      }
    }
    throw new HttpInterfaceError(503, `More than ${MAX_REQUEST_STATUSES} calls in flight; retry once some have finished.`);
  }
}

export function statusTree(outcome: CallOutcome | undefined): LabeledTree {
  if (outcome === undefined) return LabeledTree.map([['status', LabeledTree.leaf('processing')]]);
  if (outcome.status === 'replied') {
    return LabeledTree.map([
      ['status', LabeledTree.leaf('replied')],
      ['reply', LabeledTree.leaf(outcome.reply)]
    ]);
  }
  return LabeledTree.map([
    ['status', LabeledTree.leaf('rejected')],
    ['reject_code', LabeledTree.leaf(new Uint8Array(lebEncode(outcome.rejectCode)))],
    ['reject_message', LabeledTree.leaf(outcome.rejectMessage)],
    ['error_code', LabeledTree.leaf(outcome.errorCode)]
  ]);
}
