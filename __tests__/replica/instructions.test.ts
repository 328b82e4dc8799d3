import { FEE_PER_10_INSTRUCTIONS } from '../../lib/replica/fees.js';
import { LocalReplica } from '../../lib/replica/index.js';
import { replicaWithProbes } from './helpers.js';
import { ModuleBuilder, op } from './wasm-builder.js';

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

    const b0 = (await replica.getCyclesBalance(ids[0]));
    await probe.work(10);
    const cheap = b0 - (await replica.getCyclesBalance(ids[0]));
    const b1 = (await replica.getCyclesBalance(ids[0]));
    await probe.work(100_000);
    const costly = b1 - (await replica.getCyclesBalance(ids[0]));
    expect(cheap).toBeGreaterThanOrEqual(5_000_000n); // base fee
    expect(costly - 5_000_000n).toBeGreaterThan(10n * (cheap - 5_000_000n));
  });

  test('install and upgrade hooks are paid for in cycles by their metered instructions', async () => {
    const replica = await LocalReplica.create({ seed: 3 });
    const id = await replica.createCanister({ cycles: 10n ** 13n });
    const canister = () => replica.canister(id)!;
    // Hooks that spin 100,000 times and do nothing else (Azle's init would also arm timers).
    const m = new ModuleBuilder();
    const spin = [...op.i32(100_000), 0x21, 0, 0x03, 0x40, ...op.localGet(0), ...op.i32(1), 0x6b, 0x22, 0, 0x0d, 0, 0x0b];
    for (const hook of ['canister_init', 'canister_pre_upgrade', 'canister_post_upgrade']) m.func(spin, { export: hook, locals: 1 });
    const wasm = m.build();
    for (const mode of ['install', 'upgrade'] as const) {
      const [cycles, executed] = [(await replica.getCyclesBalance(id)), canister().instructionsExecuted];
      await replica.installCode({ canisterId: id, wasm, mode });
      const hooks = canister().instructionsExecuted - executed; // canister_init, or pre_ + post_upgrade
      expect(hooks).toBeGreaterThan(mode === 'install' ? 400_000n : 800_000n); // ≥ 4 instructions per iteration
      expect(cycles - (await replica.getCyclesBalance(id))).toBe((hooks * FEE_PER_10_INSTRUCTIONS) / 10n);
    }
    await replica.tearDown();
  });

  test('performance_counter(1) counts the whole call context, across an await', async () => {
    const { replica, ids, actors } = await replicaWithProbes(2);
    const executed = replica.canister(ids[0])!.instructionsExecuted;
    const [before0, before1, after0, after1]: bigint[] = await actors[0].countersAcrossAwait(ids[1]);
    const contextTotal = replica.canister(ids[0])!.instructionsExecuted - executed; // the update + its callback
    // In the first execution of a context both counters count the same instructions.
    expect(before1).toBeGreaterThanOrEqual(before0);
    expect(before1 - before0).toBeLessThan(100_000n);
    // After the await, type 0 restarts with the callback; type 1 adds everything before the await.
    expect(after1).toBeGreaterThanOrEqual(before1 + after0);
    expect(after1).toBeLessThanOrEqual(contextTotal);
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
