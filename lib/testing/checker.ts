// checkLinearizable: is a recorded history linearizable per key? Splits the history by key
// (key-ops.ts), searches each key (search.ts) and, for the first key that cannot be ordered,
// shrinks its ops to a small witness and explains it (counterexample.ts).
// Result forms (a discriminated union on `ok`):
// - { ok: true }: every key's ops can be ordered.
// - { ok: false, key, ops, explanation }: this key's `ops` cannot be ordered; `explanation` is
//   printable. Checked keys are independent, so one failing key is reported (the first in
//   history order).
// - { ok: 'unknown', reason: 'too-large', key, … }: no key failed, but this key's search hit
//   `maxStates` before deciding: the history is too concurrent (or has too many unknown-outcome
//   writes per key) to check within the bound. Raise maxStates, or record fewer ops per key.
// Not checked: count, ops whose key could not be computed, and (unless `scans: 'as-reads'`) scan
// and find (see key-ops.ts).
import type { History, HistoryOp } from './history.js';
import { keyHistories, type ScanPolicy } from './key-ops.js';
import { explainCounterexample, shrinkCounterexample } from './counterexample.js';
import { DEFAULT_MAX_STATES, searchKey } from './search.js';

export interface CheckOptions {
  /** Bound on explored (linearized set, state) pairs per key (default DEFAULT_MAX_STATES). */
  maxStates?: number;
  /** Shrink a counterexample to a small witness (default true). */
  shrink?: boolean;
  /**
   * 'ignore' (default): scan/find results are not checked. 'as-reads': each returned row is
   * checked as a read of its key at some point inside the call (sound when the system promises
   * per-key linearizable scans, as ShardORM's owned-range filtering does; rows a page lacks
   * prove nothing and are not used).
   */
  scans?: ScanPolicy;
}

/** An op of a counterexample: the recorded op, flagged when its outcome was ignored. */
export interface CounterexampleOp extends HistoryOp {
  /** Position in a getMany/…Many op when only that key's part is meant. */
  part?: number;
  /** True when the witness holds whether or not this write took effect. */
  outcomeIgnored?: true;
}

export type LinearizabilityResult =
  | { ok: true; keys: number; checkedOps: number; explored: number }
  | { ok: false; collection: string; key: string; ops: CounterexampleOp[]; explanation: string }
  | { ok: 'unknown'; reason: 'too-large'; collection: string; key: string; explored: number; maxStates: number; explanation: string };

export function checkLinearizable(history: History, options: CheckOptions = {}): LinearizabilityResult {
  const maxStates = options.maxStates ?? DEFAULT_MAX_STATES;
  if (!Number.isInteger(maxStates) || maxStates < 1) throw new RangeError(`maxStates must be a positive integer, got ${maxStates}`);
  let explored = 0;
  let checkedOps = 0;
  let tooLarge: Extract<LinearizabilityResult, { ok: 'unknown' }> | undefined;
  const keys = keyHistories(history, options.scans);
  for (const kh of keys) {
    const r = searchKey(kh, maxStates);
    explored += r.explored;
    checkedOps += kh.ops.length;
    if (r.ok === true) continue;
    if (r.ok === 'unknown') {
      tooLarge ??= {
        ok: 'unknown',
        reason: 'too-large',
        collection: kh.collection,
        key: kh.key,
        explored: r.explored,
        maxStates,
        explanation:
          `${kh.collection} key ${kh.key}: gave up after exploring ${r.explored} states (maxStates ${maxStates}) over ${kh.ops.length} ops; ` +
          'the key has too many concurrent or unknown-outcome ops to decide. Raise maxStates or spread the workload over more keys.',
      };
      continue;
    }
    const cx = options.shrink === false ? { ops: kh.ops, weakened: new Set<never>(), blocked: r.blocked } : shrinkCounterexample(kh, maxStates, r);
    const ops = cx.ops.map((op) => {
      const out: CounterexampleOp = { ...op.source };
      if (op.part !== undefined) out.part = op.part;
      if (cx.weakened.has(op)) out.outcomeIgnored = true;
      return out;
    });
    return { ok: false, collection: kh.collection, key: kh.key, ops, explanation: explainCounterexample(kh, cx) };
  }
  return tooLarge ?? { ok: true, keys: keys.length, checkedOps, explored };
}
