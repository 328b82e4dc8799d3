import { replicaWithProbes } from './helpers.js';

describe('instruction counting', () => {
  test('performance_counter grows with the work done and is charged as cycles', async () => {
    const { replica, ids, actors } = await replicaWithProbes(1);
    const [probe] = actors;
    const [before, small]: bigint[] = await probe.work(10);
    const [, large]: bigint[] = await probe.work(100_000);
    expect(before).toBeGreaterThan(0n);
    expect(small).toBeGreaterThan(before);
    expect(large - before).toBeGreaterThan(10n * (small - before));
    expect(await probe.queryCounter()).toBeGreaterThan(0n);

    const b0 = replica.getCyclesBalance(ids[0]);
    await probe.work(10);
    const cheap = b0 - replica.getCyclesBalance(ids[0]);
    const b1 = replica.getCyclesBalance(ids[0]);
    await probe.work(100_000);
    const costly = b1 - replica.getCyclesBalance(ids[0]);
    expect(cheap).toBeGreaterThanOrEqual(5_000_000n); // base fee
    expect(costly - 5_000_000n).toBeGreaterThan(10n * (cheap - 5_000_000n));
  });

  test('exceeding the instruction limit traps with IC0522 and reverts', async () => {
    const { actors } = await replicaWithProbes(1, { instructionLimits: { update: 200_000_000n, query: 50_000_000n } });
    const [probe] = actors;
    await probe.increment();
    await expect(probe.work(2_000_000)).rejects.toMatchObject({ rejectCode: 5, errorCode: 'IC0522', rejectMessage: expect.stringContaining('200000000 instructions') });
    expect(await probe.getCounter()).toBe(1n);
    await expect(probe.work(10)).resolves.toHaveLength(2);
  });
});
