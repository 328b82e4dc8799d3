// Linearizability search for one key: Wing & Gong's tree search with Lowe's memoization (the
// algorithm Porcupine uses). The ops' invoke and response events form a doubly linked list in
// time order; the search walks it, "lifting" (linearizing) an op whose invoke comes before every
// pending response when the register model accepts it, and backtracks when it meets a response
// whose op could not be placed. A (set of linearized ops, register state) pair is explored once:
// the set is a bitset hashed incrementally (Zobrist), compared exactly on a hash hit.
// Unknown-outcome ops respond at ∞: they may be linearized anywhere after their invoke, or left
// out (the search succeeds once every definite op is placed). Bounded by `maxStates`.
import { Xoshiro128 } from '../random/prng.js';
import { isDefinite, type KeyHistory, type KeyOp } from './key-ops.js';
import { applyRegisterOp, type RegisterState } from './register-model.js';
import { canonical } from './values.js';

/** Default bound on explored (linearized set, state) pairs for one key (~250 B each at 1,000 ops per key: ~50 MB). */
export const DEFAULT_MAX_STATES = 200_000;
/** Register states kept to explain where a failed search got stuck. */
export const MAX_BLOCKED_STATES = 6;

export type SearchResult =
  | { ok: true; explored: number }
  | { ok: false; explored: number; blocked: { op: KeyOp; states: RegisterState[] } }
  | { ok: 'unknown'; explored: number };

function assert(cond: boolean, message: string): asserts cond {
  if (!cond) throw new Error(`linearizability search: ${message}`);
}

/** Unknown ops invoked after every definite op responded change nothing observable: left out. */
export function relevantOps(ops: readonly KeyOp[]): KeyOp[] {
  let lastDefinite = -Infinity;
  for (const o of ops) if (isDefinite(o) && o.ret > lastDefinite) lastDefinite = o.ret;
  return ops.filter((o) => isDefinite(o) || o.call < lastDefinite);
}

export function searchKey(kh: Pick<KeyHistory, 'info' | 'ops'>, maxStates: number = DEFAULT_MAX_STATES): SearchResult {
  const ops = relevantOps(kh.ops);
  const n = ops.length;
  let remaining = ops.filter(isDefinite).length;
  if (remaining === 0) return { ok: true, explored: 0 };

  // Register states, interned: id 0 is "absent".
  const stateVal: RegisterState[] = [null];
  const stateText: string[] = ['null'];
  const stateIds = new Map<string, number>([['null', 0]]);
  const intern = (s: RegisterState, text: string = canonical(s)): number => {
    let id = stateIds.get(text);
    if (id === undefined) {
      id = stateVal.length;
      stateVal.push(s);
      stateText.push(text);
      stateIds.set(text, id);
    }
    return id;
  };
  const stepMemo = new Map<number, number>();
  const step = (state: number, i: number): number => {
    const memoKey = state * n + i;
    const hit = stepMemo.get(memoKey);
    if (hit !== undefined) return hit;
    const op = ops[i];
    const r = applyRegisterOp(kh.info, stateVal[state], op.model);
    let next: number;
    if (op.expect.kind === 'conflict') next = r.conflict ? state : -1;
    else if (r.conflict) next = op.expect.kind === 'any' ? state : -1;
    else if (op.expect.kind === 'result') {
      const text = op.model.kind === 'get' ? stateText[state] : canonical(r.result);
      next = text !== op.expect.text ? -1 : r.next === r.result ? intern(r.next, text) : intern(r.next);
    } else next = intern(r.next);
    stepMemo.set(memoKey, next);
    return next;
  };

  // Event list: node 0 head, 1 + 2i the invoke of op i, 2 + 2i its response, 2n + 1 tail.
  const tail = 2 * n + 1;
  const order = Array.from({ length: 2 * n }, (_, k) => k + 1);
  const timeOf = (node: number): number => (node % 2 === 1 ? ops[(node - 1) >> 1].call : ops[(node - 2) >> 1].ret);
  order.sort((a, b) => timeOf(a) - timeOf(b) || a - b);
  const next = new Int32Array(2 * n + 2);
  const prev = new Int32Array(2 * n + 2);
  let last = 0;
  for (const node of order) {
    next[last] = node;
    prev[node] = last;
    last = node;
  }
  next[last] = tail;
  prev[tail] = last;
  const unlink = (node: number): void => {
    next[prev[node]] = next[node];
    prev[next[node]] = prev[node];
  };
  const relink = (node: number): void => {
    next[prev[node]] = node;
    prev[next[node]] = node;
  };

  // Memo of explored (linearized set, state): Zobrist hash → exact bitset copies (state in the last word).
  const words = (n + 31) >>> 5;
  const bits = new Uint32Array(words);
  const random = new Xoshiro128(0x5eed ^ n);
  const z1 = Uint32Array.from({ length: n }, () => random.nextU32());
  const z2 = Uint32Array.from({ length: n }, () => random.nextU32());
  let h1 = 0;
  let h2 = 0;
  const toggle = (i: number): void => {
    bits[i >>> 5] ^= 1 << (i & 31);
    h1 = (h1 ^ z1[i]) >>> 0;
    h2 = (h2 ^ z2[i]) >>> 0;
  };
  const cache = new Map<number, Uint32Array[]>();
  let explored = 0;
  const remember = (state: number): boolean => {
    const bucketKey = ((h1 ^ Math.imul(state + 1, 0x9e3779b1)) >>> 0) * 0x200000 + (h2 >>> 11);
    let bucket = cache.get(bucketKey);
    if (bucket === undefined) cache.set(bucketKey, (bucket = []));
    outer: for (const seen of bucket) {
      if (seen[words] !== state) continue;
      for (let w = 0; w < words; w++) if (seen[w] !== bits[w]) continue outer;
      return false;
    }
    const copy = new Uint32Array(words + 1);
    copy.set(bits);
    copy[words] = state;
    bucket.push(copy);
    explored++;
    return true;
  };

  const stackOp: number[] = [];
  const stackState: number[] = [];
  let state = 0;
  let entry = next[0];
  let blockedOp = -1;
  const blockedStates = new Set<number>();
  while (remaining > 0) {
    if (explored > maxStates) return { ok: 'unknown', explored };
    assert(entry !== tail, 'walked past the last response with definite ops left');
    const isCall = entry % 2 === 1;
    const i = isCall ? (entry - 1) >> 1 : (entry - 2) >> 1;
    if (isCall) {
      const s2 = step(state, i);
      if (s2 >= 0) {
        toggle(i);
        if (remember(s2)) {
          stackOp.push(i);
          stackState.push(state);
          state = s2;
          unlink(1 + 2 * i);
          unlink(2 + 2 * i);
          if (isDefinite(ops[i])) remaining--;
          entry = next[0];
          continue;
        }
        toggle(i);
      }
      entry = next[entry];
      continue;
    }
    // A response: op i had to take effect before now and could not. Remember the latest such
    // point for the explanation, then undo the last linearized op and try its next sibling.
    assert(ops[i].ret !== Infinity, 'reached the response of an unknown op');
    if (blockedOp < 0 || ops[i].ret > ops[blockedOp].ret) {
      blockedOp = i;
      blockedStates.clear();
    }
    if (i === blockedOp && blockedStates.size < MAX_BLOCKED_STATES) blockedStates.add(state);
    const j = stackOp.pop();
    if (j === undefined) {
      return { ok: false, explored, blocked: { op: ops[blockedOp], states: [...blockedStates].map((s) => stateVal[s]) } };
    }
    state = stackState.pop() as number;
    relink(2 + 2 * j);
    relink(1 + 2 * j);
    toggle(j);
    if (isDefinite(ops[j])) remaining++;
    entry = next[1 + 2 * j];
  }
  return { ok: true, explored };
}
