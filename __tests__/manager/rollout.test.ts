// The roll-out state machine (lib/manager/rollout.ts) without canisters: one shard at a time in
// map order, module check → stop → upgrade → start → schema rewrite (a shard on the module already
// skips stop and upgrade); a refused upgrade starts the shard again
// and stops the roll-out there; transient failures are retried with backoff, then give up.
import { applyRolloutResult, MAX_ROLLOUT_ATTEMPTS, nextRolloutEffect, planRollout, publicState, type Rollout, type RolloutResult } from '../../lib/manager/rollout.js';

const plan = () => planRollout({ id: 'u1', shards: ['a', 'b', 'c'], wasmHash: 'ff', chunks: ['01'], now: 0n });

/** Runs the roll-out with `answer` deciding each effect's result; returns the effects performed, as "kind shard". */
function run(r: Rollout, answer: (kind: string, shard: string) => RolloutResult): string[] {
  const log: string[] = [];
  let now = 0n;
  for (let i = 0; i < 200 && r.phase === 'running'; i++) {
    const e = nextRolloutEffect(r)!;
    log.push(`${e.kind} ${e.shard}`);
    now = r.retryAt > now ? r.retryAt : now;
    applyRolloutResult(r, e, answer(e.kind, e.shard), now);
    expect(r.shards.filter((s) => publicState(s) === 'upgrading').length).toBeLessThanOrEqual(1);
  }
  return log;
}

test('every shard in order: stop, upgrade, start, rewrite until done', () => {
  const r = plan();
  let pages = 0;
  const log = run(r, (kind) => (kind === 'rewrite-rows' ? (++pages % 2 === 1 ? { ok: true, rewritten: 5, next: { collection: 'x', after: Uint8Array.of(1) } } : { ok: true, rewritten: 2, done: true }) : { ok: true }));
  expect(log).toEqual(['a', 'b', 'c'].flatMap((s) => [`check-module ${s}`, `stop ${s}`, `upgrade ${s}`, `start ${s}`, `rewrite-rows ${s}`, `rewrite-rows ${s}`]));
  expect(r.phase).toBe('done');
  expect(r.shards.map((s) => [s.step, s.rewritten])).toEqual([['done', 7], ['done', 7], ['done', 7]]);
});

test('a shard that already runs the new module is not stopped or upgraded again: started (a no-op if running) and its rows rewritten', () => {
  const r = plan();
  const log = run(r, (kind, shard) => (kind === 'check-module' ? { ok: true, current: shard === 'b' } : { ok: true, done: true }));
  expect(log.filter((l) => l.endsWith(' b'))).toEqual(['check-module b', 'start b', 'rewrite-rows b']);
  expect(log.filter((l) => l.endsWith(' a'))).toEqual(['check-module a', 'stop a', 'upgrade a', 'start a', 'rewrite-rows a']);
  expect(r.phase).toBe('done');
});

test('an upgrade the shard refuses: it is started again, reported, and the shards after it stay pending', () => {
  const r = plan();
  const log = run(r, (kind, shard) => (kind === 'upgrade' && shard === 'b' ? { ok: false, error: 'post_upgrade trapped', permanent: true } : { ok: true, done: true }));
  expect(log.slice(-3)).toEqual(['stop b', 'upgrade b', 'start b']);
  expect(r.phase).toBe('failed');
  expect(r.shards.map((s) => publicState(s))).toEqual(['done', 'failed', 'pending']);
  expect(r.shards[1].error).toBe('upgrade failed: post_upgrade trapped');
});

test('a transient failure is retried with growing backoff, then the shard fails after MAX_ROLLOUT_ATTEMPTS', () => {
  const r = plan();
  const waits: bigint[] = [];
  const log = run(r, (kind) => {
    if (kind === 'stop') {
      waits.push(r.retryAt);
      return { ok: false, error: 'queue full' };
    }
    return { ok: true };
  });
  expect(log.filter((l) => l === 'stop a')).toHaveLength(MAX_ROLLOUT_ATTEMPTS);
  expect(waits.every((w, i) => i === 0 || w > waits[i - 1])).toBe(true);
  expect(log[log.length - 1]).toBe('start a'); // a stop that timed out leaves it running; start is a no-op then
  expect(r.shards[0].error).toBe(`stop failed ${MAX_ROLLOUT_ATTEMPTS} times: queue full`);
  expect(r.shards.map((s) => s.step)).toEqual(['failed', 'pending', 'pending']);
});

test('a result for another effect than the due one is our bug (asserted)', () => {
  const r = plan();
  expect(() => applyRolloutResult(r, { kind: 'start', shard: 'a' }, { ok: true }, 0n)).toThrow(/two drivers at once/);
});
