// simulate()'s end-of-run checks on their own: a key with acknowledged writes and no delete must
// be present with a high enough @Version, and a full scan and count must agree with the per-key
// reads — each failure named.
import { verifyFinalState } from '../../lib/testing/final-state.js';
import { SimRecord } from '../../lib/testing/sim-workload.js';
import { HistoryRecorder, type SimulatedRepository } from 'shardorm/testing';

function repository(rows: SimRecord[], counted = rows.length): SimulatedRepository<SimRecord> {
  const find = (k: { group: number; n: number }) => rows.find((r) => r.group === k.group && r.n === k.n);
  return {
    get: async (k) => find(k as { group: number; n: number }),
    getMany: async (ks) => ks.map((k) => find(k as { group: number; n: number })),
    insert: async (e) => e,
    upsert: async (e) => e,
    update: async () => undefined,
    delete: async () => false,
    scan: async () => ({ items: rows }),
    count: async () => counted,
  };
}
const rec = (group: number, n: number, version: bigint): SimRecord => Object.assign(new SimRecord(), { group, n, payload: 'p', writer: 'w', version });

async function run(writes: SimRecord[], finalRows: SimRecord[], scanned = finalRows, counted = finalRows.length): Promise<string[]> {
  const r = new HistoryRecorder();
  const client = r.wrap(repository(writes), 'client-0', { entity: SimRecord });
  for (const w of writes) await client.upsert(w);
  const final = r.wrap(repository(finalRows), 'final', { entity: SimRecord });
  await final.get({ group: 0, n: 0 });
  await final.get({ group: 0, n: 1 });
  return verifyFinalState({ history: r.history(), repository: repository(scanned, counted), keys: 2 });
}

test('a consistent end state passes', async () => {
  expect(await run([rec(0, 0, 1n), rec(0, 0, 2n)], [rec(0, 0, 2n)])).toEqual([]);
});

test('an acknowledged write that is gone, or whose version fell back, is reported', async () => {
  expect(await run([rec(0, 0, 1n)], [])).toEqual([expect.stringContaining('acknowledged write lost: key {"group":0,"n":0} had 1 acknowledged writes and no delete, but is absent')]);
  expect((await run([rec(0, 0, 1n), rec(0, 0, 2n)], [rec(0, 0, 1n)]))[0]).toContain('but ends at');
});

test('a scan or count that disagrees with the per-key reads is reported', async () => {
  const failures = await run([rec(0, 0, 1n)], [rec(0, 0, 1n)], [rec(0, 1, 1n), rec(0, 1, 1n)], 3);
  expect(failures.join('\n')).toMatch(/returned a key twice/);
  expect(failures.join('\n')).toMatch(/missing \{"group":0,"n":0\}, extra \{"group":0,"n":1\}/);
  expect(failures.join('\n')).toMatch(/count\(\) is 3, per-key reads found 1/);
});
