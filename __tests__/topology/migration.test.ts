// The migration state machine on its own: each phase calls for exactly one effect, results move it
// on, failures back off and roll back only before the cutover, and every path ends terminal.
import { applyResult, beginRollback, canRollBack, CATCH_UP_ENTRIES, currentMap, isTerminal, MAX_STEP_ATTEMPTS, nextEffect, planMerge, planSplit, RangePartitioner, type EffectResult, type Migration } from 'shardorm';

const map = RangePartitioner.single('s0').split('s0', 1n << 63n, 's1');

/** Feeds every effect a success (with the answers each kind needs) until the migration ends. */
function runToEnd(m: Migration, answer: (kind: string) => EffectResult = () => ({ ok: true })): string[] {
  const kinds: string[] = [];
  for (let i = 0; i < 200 && !isTerminal(m); i++) {
    const e = nextEffect(m)!;
    kinds.push(e.kind);
    const base = answer(e.kind);
    const result: EffectResult = base.ok
      ? { ...(e.kind === 'split-point' ? { at: 1000n } : {}), ...(e.kind === 'create-canister' ? { canisterId: 't' } : {}), ...(e.kind === 'take-snapshot' ? { snapshotId: 'snap' } : {}), ...(e.kind === 'copy-batch' ? { done: true } : {}), ...(e.kind === 'push-delta' ? { remaining: 0 } : {}), ...base }
      : base;
    applyResult(m, e, result, BigInt(i) * 1_000_000_000_000n);
  }
  return kinds;
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
