// Shrinking a non-linearizable key history to a small counterexample, and printing it. Only moves
// that keep "this subset cannot be ordered ⇒ the whole history cannot" are used, so the printed
// ops are a real witness, never an artifact of shrinking:
// - cut at a response time T: drop ops invoked after T, weaken ops still running at T (a
//   linearization of the whole history, restricted to what happened before T, orders the rest).
//   Cuts are monotone in T, so a binary search finds the earliest failing one;
// - drop an op that changes nothing (a get, a ConflictError, update of an absent key, delete of
//   an absent key): a linearization of the whole history stays one without it;
// - weaken a definite write to "outcome ignored" (it may or may not have taken effect): the same
//   linearization still works.
// (Dropping a write outright is not sound: a read that saw it would look like a phantom.)
import { isDefinite, type KeyHistory, type KeyOp } from './key-ops.js';
import { relevantOps, searchKey, type SearchResult } from './search.js';
import type { RegisterState } from './register-model.js';
import { show, type Json } from './values.js';

/** Ops printed in an explanation (the latest ones, nearest where the search got stuck). */
export const MAX_PRINTED_OPS = 40;
/** Above this many ops (after the cut), a counterexample is not shrunk op by op. */
export const MAX_SHRINK_OPS = 200;
/** Re-checks one op-by-op shrink may run. */
export const MAX_SHRINK_CHECKS = 400;
/** Least state bound of each re-check while shrinking (2× the failed search's, up to maxStates). */
export const SHRINK_MAX_STATES = 5_000;
/** Least number of states all re-checks of one shrink may explore together (or 4× the failed search's). */
export const SHRINK_TOTAL_STATES = 100_000;

export interface Counterexample {
  ops: KeyOp[];
  /** Ops the counterexample weakened to "outcome ignored". */
  weakened: Set<KeyOp>;
  blocked?: { op: KeyOp; states: RegisterState[] };
}

function changesNothing(op: KeyOp): boolean {
  if (op.model.kind === 'get' || op.expect.kind === 'conflict') return op.expect.kind !== 'any';
  if (op.expect.kind !== 'result') return false;
  return (op.model.kind === 'delete' && op.expect.text === 'false') || (op.model.kind === 'update' && op.expect.text === 'null');
}

/** Smallest failing subset found with sound moves (1-minimal when small enough to try every op). */
export function shrinkCounterexample(kh: KeyHistory, maxStates: number, first: Extract<SearchResult, { ok: false }>): Counterexample {
  // A re-check of a subset rarely needs more states than the whole search did.
  const budget = Math.min(maxStates, Math.max(SHRINK_MAX_STATES, 2 * first.explored));
  const total = Math.max(SHRINK_TOTAL_STATES, 4 * first.explored);
  const weakened = new Set<KeyOp>();
  const weaken = (op: KeyOp): KeyOp => {
    const w: KeyOp = { ...op, expect: { kind: 'any' }, ret: Infinity };
    weakened.add(w);
    return w;
  };
  let current = relevantOps(kh.ops);
  let blocked = first.blocked;
  let spent = 0;
  const check = (candidate: KeyOp[]): SearchResult => {
    if (spent >= total) return { ok: 'unknown', explored: 0 };
    const r = searchKey({ info: kh.info, ops: candidate }, budget);
    spent += r.explored;
    return r;
  };
  const attempt = (candidate: KeyOp[]): boolean => {
    const r = check(candidate);
    if (r.ok !== false) return false;
    current = relevantOps(candidate);
    blocked = r.blocked;
    return true;
  };
  const cutAt = (t: number): KeyOp[] =>
    current.flatMap((op) => (op.call > t ? [] : op.ret <= t ? [op] : changesNothing(op) ? [] : isDefinite(op) ? [weaken(op)] : [op]));

  // The earliest failing cut: first where the search got stuck, then a binary search below it.
  const times = [...new Set(current.filter(isDefinite).map((o) => o.ret))].sort((a, b) => a - b);
  let hi = times.length - 1; // cutting at the last response keeps everything: known to fail
  const stuck = times.indexOf(blocked.op.ret);
  if (stuck >= 0 && stuck < hi && check(cutAt(times[stuck])).ok === false) hi = stuck;
  let lo = 0;
  while (lo < hi && spent < total) {
    const mid = (lo + hi) >> 1;
    const r = check(cutAt(times[mid]));
    if (r.ok === false) hi = mid;
    else if (r.ok === true) lo = mid + 1;
    else break; // undecided within the budget: keep the cut known to fail
  }
  attempt(cutAt(times[hi]));

  // All the reads but the stuck one in one go (often enough), then op by op if small enough.
  attempt(current.filter((o) => !changesNothing(o) || o.source === blocked.op.source));
  if (current.length <= MAX_SHRINK_OPS) {
    let checks = 0; // also bounded by SHRINK_TOTAL_STATES inside attempt()
    const byLatest = (ops: KeyOp[]): KeyOp[] => [...ops].sort((a, b) => b.call - a.call);
    const readers = byLatest(current.filter(changesNothing));
    const writers = byLatest(current.filter((o) => isDefinite(o) && !changesNothing(o)));
    for (const op of readers) if (checks++ < MAX_SHRINK_CHECKS) attempt(current.filter((o) => o !== op));
    for (const op of writers) {
      if (checks++ >= MAX_SHRINK_CHECKS || !current.includes(op)) continue;
      attempt(current.map((o) => (o === op ? weaken(o) : o)));
    }
  }
  return { ops: [...current].sort((a, b) => a.call - b.call), weakened: new Set([...weakened].filter((w) => current.includes(w))), blocked };
}

function time(t: number): string {
  return t === Infinity ? '∞' : String(t);
}

function describeInput(op: KeyOp): string {
  switch (op.model.kind) {
    case 'insert':
    case 'upsert':
      return ` ${show(op.model.entity as Json, 200)}`;
    case 'update':
      return ` set ${show(op.model.patch.set, 200)}${op.model.patch.unset.length > 0 ? ` clear ${op.model.patch.unset.join(', ')}` : ''}`;
    default:
      return '';
  }
}

function describeOutcome(op: KeyOp, weakened: boolean): string {
  if (weakened) return '(outcome ignored)';
  switch (op.expect.kind) {
    case 'result':
      return `→ ${show(JSON.parse(op.expect.text) as Json, 200)}`;
    case 'conflict':
      return '→ ConflictError';
    case 'effect':
      return '→ ok';
    case 'any':
      return '→ outcome unknown';
  }
}

/** One line per op: `#id [invoke–response] client  op input → result`. */
export function describeKeyOp(op: KeyOp, weakened = false): string {
  const name = op.part === undefined ? op.source.op : `${op.source.op}[${op.part}]`;
  const ret = weakened ? op.source.completedAt ?? Infinity : op.ret;
  return `#${op.source.id} [${time(op.call)}–${time(ret)}] ${op.source.client}: ${name}${describeInput(op)} ${describeOutcome(op, weakened)}`;
}

export function explainCounterexample(kh: KeyHistory, cx: Counterexample): string {
  const n = cx.ops.length;
  const lines = [`${kh.collection} key ${kh.key}: ${n === 1 ? 'this operation' : `these ${n} operations`} cannot be put in any order that respects real time:`];
  const omitted = Math.max(0, n - MAX_PRINTED_OPS);
  if (omitted > 0) lines.push(`  … ${omitted} earlier operations not printed (all are in the result's \`ops\`)`);
  for (const op of cx.ops.slice(omitted)) lines.push(`  ${describeKeyOp(op, cx.weakened.has(op))}`);
  if (cx.blocked !== undefined) {
    const b = cx.blocked.op;
    const states = cx.blocked.states.map((s) => show(s as Json, 200)).join(' | ');
    lines.push(
      `No order lets #${b.source.id} (${b.source.client} ${b.source.op}) take effect before it returned at ${time(b.ret)}: ` +
        `the orders of the ops that may precede it leave the key as ${states || 'nothing reachable'}, and it does not fit any of them.`,
    );
  }
  if (cx.weakened.size > 0) lines.push('("outcome ignored": the counterexample holds even if that write did or did not take effect.)');
  return lines.join('\n');
}
