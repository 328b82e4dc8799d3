// The migration state machine on its own: each phase calls for exactly one effect, results move it
// on, failures back off and roll back only before the cutover, and every path ends terminal.
import { applyResult, beginRollback, canRollBack, CATCH_UP_ENTRIES, currentMap, isTerminal, LOAD_WAIT_NS, MAX_LOAD_WAITS, MAX_STEP_ATTEMPTS, nextEffect, planMerge, planSplit, RangePartitioner, type EffectResult, type Migration } from 'shardorm';

const map = RangePartitioner.single('s0').split('s0', 1n << 63n, 's1');

/** Feeds every effect a success (with the answers each kind needs) until the migration ends. */
function runToEnd(m: Migration, answer: (kind: string) => EffectResult = () => ({ ok: true })): string[] {
  const kinds: string[] = [];
  for (let i = 0; i < 200 && !isTerminal(m); i++) {
    const e = nextEffect(m)!;
    kinds.push(e.kind);
    applyResult(m, e, withAnswers(e.kind, answer(e.kind)), BigInt(i) * 1_000_000_000_000n);
  }
  return kinds;
}

/** A success carries what its effect's kind answers with (a split point, a canister id, …). */
function withAnswers(kind: string, base: EffectResult): EffectResult {
  if (!base.ok) return base;
  return { ...(kind === 'split-point' ? { at: 1000n } : {}), ...(kind === 'create-canister' ? { canisterId: 't' } : {}), ...(kind === 'take-snapshot' ? { snapshotId: 'snap' } : {}), ...(kind === 'copy-batch' ? { done: true } : {}), ...(kind === 'push-delta' ? { remaining: 0 } : {}), ...base } as EffectResult;
}

describe('migration state machine', () => {
  it('a snapshot split walks the documented steps in order', () => {
    const m = planSplit({ id: 'm1', source: 's0', map, method: 'snapshot', now: 0n });
    expect(runToEnd(m)).toEqual([
      'split-point', 'create-canister', 'prepare', 'stop', 'take-snapshot', 'start', 'stop', 'load-snapshot', 'start',
      'accept', 'push-delta', 'cutover', 'announce', 'delete-snapshot',
    ]);
    expect(m.phase).toBe('done');
    expect(m.plan).toMatchObject({ source: 's0', target: 't', start: 1000n, end: 1n << 63n });
    expect(RangePartitioner.fromJSON(currentMap(m)).shardFor(1000n)).toBe('t');
  });

  it('a streamed split copies batches until done, and a merge drains and deletes the source', () => {
    const split = planSplit({ id: 'm2', source: 's0', map, method: 'stream', now: 0n });
    expect(runToEnd(split)).toEqual(['split-point', 'create-canister', 'prepare', 'install-shard', 'accept', 'copy-batch', 'push-delta', 'cutover', 'announce']);
    const merge = planMerge({ id: 'm3', source: 's1', target: 's0', map, now: 0n });
    expect(runToEnd(merge)).toEqual(['prepare', 'accept', 'copy-batch', 'push-delta', 'cutover', 'announce', 'drain-cycles', 'delete-canister']);
    expect(merge.plan!.next).toEqual(map.merge('s1', 's0').toJSON());
  });

  it('catch-up repeats push-delta until the remaining delta is small', () => {
    const m = planSplit({ id: 'm4', source: 's0', map, method: 'snapshot', now: 0n });
    let pushes = 0;
    runToEnd(m, (kind) => (kind === 'push-delta' ? { ok: true, remaining: ++pushes < 3 ? CATCH_UP_ENTRIES * 4 : 0 } as EffectResult : { ok: true }));
    expect(pushes).toBe(3);
  });

  it('a snapshot that is never loadable onto another canister is waited out, then falls back when unsupported', () => {
    const m = planSplit({ id: 'm5', source: 's0', map, method: 'snapshot', now: 0n });
    let waits = 0;
    const kinds = runToEnd(m, (kind) => {
      if (kind === 'load-snapshot' && waits < 3) return { ok: false, kind: 'wait', error: `not loadable ${++waits}` };
      if (kind === 'load-snapshot') return { ok: false, kind: 'unsupported', error: 'other subnet' };
      return { ok: true };
    });
    expect(m.loadWaits).toBe(3);
    expect(m.attempts).toBe(0);
    expect(m.method).toBe('stream');
    expect(kinds.slice(kinds.lastIndexOf('load-snapshot') + 1)).toEqual(['install-shard', 'accept', 'copy-batch', 'push-delta', 'cutover', 'announce', 'delete-snapshot']);
    expect(m.phase).toBe('done');
  });

  it('a snapshot not loadable yet is retried at a steady pace, not a growing backoff, and rolls back only after MAX_LOAD_WAITS', () => {
    const m = planSplit({ id: 'm5b', source: 's0', map, method: 'snapshot', now: 0n });
    const gaps: bigint[] = [];
    let now = 0n;
    for (let guard = 0; guard < 10 * MAX_LOAD_WAITS && m.phase !== 'rolled-back' && m.phase !== 'rolling-back'; guard++) {
      const e = nextEffect(m)!;
      const before = now;
      applyResult(m, e, e.kind === 'load-snapshot' ? { ok: false, kind: 'wait', error: 'not loadable yet' } : withAnswers(e.kind, { ok: true } as EffectResult), now);
      if (e.kind === 'load-snapshot') gaps.push(m.retryAt - before);
      now = m.retryAt > now ? m.retryAt : now;
    }
    expect(new Set(gaps)).toEqual(new Set([LOAD_WAIT_NS]));
    expect(gaps).toHaveLength(MAX_LOAD_WAITS + 1);
    expect(m.rollback!.reason).toMatch(new RegExp(`gave up after ${MAX_LOAD_WAITS} waits`));
  });

  it('a step that keeps failing before the cutover rolls back; cleanup restarts the source and deletes the target', () => {
    const m = planSplit({ id: 'm6', source: 's0', map, method: 'snapshot', now: 0n });
    const kinds = runToEnd(m, (kind) => (kind === 'load-snapshot' ? { ok: false, kind: 'failed', error: 'boom' } : { ok: true }));
    expect(kinds.filter((k) => k === 'load-snapshot')).toHaveLength(MAX_STEP_ATTEMPTS);
    expect(m.phase).toBe('rolled-back');
    expect(m.rollback!.reason).toMatch(/failed 8 times: boom/);
    expect(kinds.slice(-3)).toEqual(['abort', 'delete-canister', 'delete-snapshot']);
    expect(m.retryAt).toBeGreaterThan(0n);
  });

  it('after the cutover nothing rolls back: failures only retry', () => {
    const m = planSplit({ id: 'm7', source: 's0', map, method: 'snapshot', now: 0n });
    let announces = 0;
    runToEnd(m, (kind) => (kind === 'announce' && ++announces <= MAX_STEP_ATTEMPTS + 2 ? { ok: false, kind: 'failed', error: 'shard down' } : { ok: true }));
    expect(announces).toBe(MAX_STEP_ATTEMPTS + 3);
    expect(m.phase).toBe('done');
    const cut = planSplit({ id: 'm8', source: 's0', map, method: 'snapshot', now: 0n });
    cut.phase = 'cut-over';
    expect(canRollBack(cut)).toBe(false);
    expect(() => beginRollback(cut, 'no')).toThrow(/rollback of m8 in phase cut-over/);
  });

  it('one hot shard key cannot be split: the migration ends rolled back without touching anything', () => {
    const m = planSplit({ id: 'm9', source: 's0', map, method: 'snapshot', now: 0n });
    applyResult(m, nextEffect(m)!, { ok: true, at: undefined }, 0n);
    expect(m.phase).toBe('rolled-back');
    expect(m.rollback!.steps).toEqual([]);
  });
});
