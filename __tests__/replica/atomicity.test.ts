import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { CallRejectedError } from '../../lib/replica/index.js';
import { FEE_PER_10_INSTRUCTIONS, UPDATE_BASE_FEE } from '../../lib/replica/fees.js';
import { noArgs, replicaWithProbes } from './helpers.js';

describe('message atomicity on Azle canisters', () => {
  test('a trap after heap, stable, certified data and timer changes reverts all of them', async () => {
    const { replica, ids, actors } = await replicaWithProbes(1);
    const [probe] = actors;
    await probe.increment();
    await probe.setCertified(new Uint8Array([1, 2, 3]));
    const err = await probe.trapAfterChanges('boom').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CallRejectedError);
    expect(err).toMatchObject({ rejectCode: 5, errorCode: 'IC0503' });
    expect((err as CallRejectedError).rejectMessage).toContain("Canister called `ic0.trap` with message: 'boom'");
    expect(await probe.getCounter()).toBe(1n);
    expect(await probe.getStable('trap')).toEqual([]);
    expect(replica.canisterInfo(ids[0])!.certifiedData).toEqual(new Uint8Array([1, 2, 3]));
    expect(replica.canister(ids[0])!.state.globalTimer).toBe(0n);
    await replica.advanceTime(5_000);
    await replica.runUntilIdle();
    expect(await probe.timerCount()).toBe(0);
  });

  test('state committed before an await survives a trap in the callback', async () => {
    const { actors, ids } = await replicaWithProbes(2);
    const err = await actors[0].incrementThenCallThenTrap(ids[1]).catch((e: unknown) => e);
    expect(err).toMatchObject({ rejectCode: 5, errorCode: 'IC0503' });
    expect(await actors[0].getCounter()).toBe(1n); // +1 before the await kept, +10 after it reverted
    expect(await actors[1].getCounter()).toBe(1n);
  });

  test('cycles accepted before a trap revert: the caller gets every attached cycle back', async () => {
    const { replica, ids, actors } = await replicaWithProbes(2);
    const attached = 100_000_000_000n;
    const [callerBefore, calleeBefore] = await Promise.all(ids.map((id) => replica.getCyclesBalance(id)));
    const calleeInstructions = replica.canister(ids[1])!.instructionsExecuted;
    const { outcome, refunded } = await actors[0].sendCyclesTo(ids[1], 'acceptAllThenTrap', attached);
    expect(outcome).toMatch(/^reject:5:.*trap after accepting cycles/);
    expect(refunded).toBe(attached);
    // The callee paid only for its (trapped) execution: base fee + 0.4 cycles per instruction.
    const instructions = replica.canister(ids[1])!.instructionsExecuted - calleeInstructions;
    expect(calleeBefore - (await replica.getCyclesBalance(ids[1]))).toBe(UPDATE_BASE_FEE + (instructions * FEE_PER_10_INSTRUCTIONS) / 10n);
    // The caller lost only its own fees (two executions and one call), a tiny fraction of `attached`.
    const callerCost = callerBefore - (await replica.getCyclesBalance(ids[0]));
    expect(callerCost).toBeGreaterThan(2n * UPDATE_BASE_FEE);
    expect(callerCost).toBeLessThan(attached / 100n);
    expect(await actors[1].getCounter()).toBe(0n); // the heap change before the trap reverted too
  });

  test('queries never change state', async () => {
    const { replica, ids, actors } = await replicaWithProbes(1);
    await actors[0].increment();
    const before = await replica.canisterStatus({ canisterId: ids[0] });
    // A query method called as a query: changes are discarded even though the method could write.
    for (let i = 0; i < 3; i++) await actors[0].getCounter();
    expect(await actors[0].getCounter()).toBe(1n);
    expect((await replica.canisterStatus({ canisterId: ids[0] })).memoryMetrics).toEqual(before.memoryMetrics);
  });

  test('the write barrier misses no page Azle writes: every execution checked against a whole-heap compare', async () => {
    // 'verified' compares the whole heap after each execution and fails the call on a missed page.
    const { replica, ids, actors } = await replicaWithProbes(2, { writeBarrier: 'verified' });
    await actors[0].increment();
    await expect(actors[0].trapAfterChanges('boom')).rejects.toMatchObject({ errorCode: 'IC0503' });
    await expect(actors[0].incrementThenCallThenTrap(ids[1])).rejects.toMatchObject({ errorCode: 'IC0503' });
    for (let i = 0; i < 3; i++) expect(await actors[0].getCounter()).toBe(2n); // each query allocates, then rolls back
    expect(await actors[0].compositeTwice(ids[1])).toHaveLength(2);
    expect(await actors[1].compositeBump()).toBe((await actors[1].getCounter()) + 1000n); // a query that writes, then returns
    expect(await actors[1].getCounter()).toBe(1n); // ... and keeps nothing
    await replica.advanceTime(5_000);
    await replica.runUntilIdle();
  });

  test('replying twice traps; returning without a reply is IC0506', async () => {
    const { replica, ids, actors } = await replicaWithProbes(1);
    await expect(replica.updateCall({ canisterId: ids[0], method: 'replyTwice', arg: noArgs() })).rejects.toMatchObject({ rejectCode: 5, errorCode: 'IC0504' });
    const err = (await replica.updateCall({ canisterId: ids[0], method: 'noReply', arg: noArgs() }).catch((e) => e)) as CallRejectedError;
    expect(err).toMatchObject({ rejectCode: 5, errorCode: 'IC0506' });
    // The no-reply execution itself did not trap: its heap change is committed.
    expect(await actors[0].getCounter()).toBe(1n);
  });

  test('reply size is limited to 2 MiB', async () => {
    const { actors } = await replicaWithProbes(1);
    expect((await actors[0].bigReply(1000)).length).toBe(1000);
    await expect(actors[0].bigReply(2 * 1024 * 1024 + 10)).rejects.toMatchObject({ rejectCode: 5, errorCode: 'IC0504' });
    void IDL;
  });

  test('canister logs keep debug prints and trap messages, readable by controllers', async () => {
    const seen: string[] = [];
    const { replica, ids, actors } = await replicaWithProbes(1, { onCanisterLog: (_id, line) => seen.push(line) });
    await actors[0].logLine('hello from azle');
    await actors[0].trapAfterChanges('logged trap').catch(() => undefined);
    expect(seen).toEqual(expect.arrayContaining(['"hello from azle"', expect.stringContaining("[TRAP]: Canister called `ic0.trap` with message: 'logged trap'")]));
    const arg = new Uint8Array(IDL.encode([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: ids[0] }]));
    const reply = await replica.queryCall({ canisterId: Principal.managementCanister(), method: 'fetch_canister_logs', arg: arg });
    const [{ canister_log_records }] = IDL.decode([IDL.Record({ canister_log_records: IDL.Vec(IDL.Record({ idx: IDL.Nat64, timestamp_nanos: IDL.Nat64, content: IDL.Vec(IDL.Nat8) })) })], reply) as any;
    expect(canister_log_records.map((r: { content: Uint8Array }) => Buffer.from(r.content).toString())).toContain('"hello from azle"');
    await expect(replica.queryCall({ canisterId: Principal.managementCanister(), method: 'fetch_canister_logs', arg: arg, sender: Principal.selfAuthenticating(new Uint8Array(32)) })).rejects.toMatchObject({ rejectCode: 4 });
  });
});
