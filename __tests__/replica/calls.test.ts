import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { noArgs, replicaWithProbes, type ProbeActor } from './helpers.js';
import type { LocalReplica } from '../../lib/replica/index.js';

describe('inter-canister calls between Azle canisters', () => {
  let replica: LocalReplica;
  let ids: Principal[];
  let a: ProbeActor;
  let b: ProbeActor;
  beforeAll(async () => {
    ({ replica, ids, actors: [a, b] } = await replicaWithProbes(2));
  });

  test('a reply comes back to the caller', async () => {
    const before = await b.getCounter();
    const result: string = await a.callOther(ids[1], 'increment');
    if (!result.startsWith('reply:')) throw new Error(result);
    expect(result.startsWith('reply:')).toBe(true);
    expect(IDL.decode([IDL.Nat], Uint8Array.from(Buffer.from(result.slice(6), 'hex')))[0]).toBe(before + 1n);
  });

  test('rejections carry the spec reject codes', async () => {
    expect(await a.callOther(ids[1], 'nope')).toMatch(/^reject:5:.*has no update method 'nope'/);
    expect(await a.callOther(ids[1], 'noReply')).toMatch(/^reject:5:.*did not reply/);
    expect(await a.callOther(ids[1], 'replyTwice')).toMatch(/^reject:5:.*already replied/);
  });

  test("rejects a canister sees carry the IC's error-code prefix and wording", async () => {
    // Outside every subnet range: message routing answers, code 3, no error code in the text.
    expect(await a.callOther(Principal.fromText('2vxsx-fae'), 'x')).toBe('reject:3:No route to canister 2vxsx-fae');
    // In the range but not there: the subnet answers with IC0301.
    const absent = Principal.fromUint8Array(Uint8Array.from([0, 0, 0, 0, 0, 0, 0x7f, 0, 1, 1]));
    expect(await a.callOther(absent, 'x')).toBe(`reject:3:IC0301: Canister ${absent.toText()} not found`);
    expect(await a.callOther(ids[1], 'nope')).toBe(`reject:5:IC0536: Error from Canister ${ids[1].toText()}: Canister has no update method 'nope'.`);
    expect(await a.callOther(Principal.managementCanister(), 'nope')).toBe("reject:5:IC0536: Management canister has no method 'nope'");
    const trapped: string = await a.callOther(ids[1], 'trapAfterChanges'); // no argument: Azle traps decoding it
    expect(trapped.startsWith(`reject:5:IC0503: Error from Canister ${ids[1].toText()}: Canister called \`ic0.trap\` with message: '`)).toBe(true);
    expect(trapped).toMatch(/'\.\nConsider gracefully handling failures from this canister .*#trapped-explicitly$/);
    // Over ingress the error code travels beside the text, not in it.
    await expect(replica.updateCall({ canisterId: ids[1], method: 'trapAfterChanges', arg: noArgs() })).rejects.toMatchObject({ errorCode: 'IC0503', rejectMessage: expect.stringMatching(/^Error from Canister /) });
    await expect(replica.updateCall({ canisterId: Principal.managementCanister(), method: 'nope', arg: noArgs() })).rejects.toMatchObject({ rejectCode: 5, errorCode: 'IC0536', rejectMessage: "Management canister has no method 'nope'" });
  });

  test('a trapping callback runs the cleanup callback (Azle frees its promise bookkeeping)', async () => {
    await expect(a.incrementThenCallThenTrap(ids[1])).rejects.toMatchObject({ errorCode: 'IC0503' });
    const len = IDL.decode([IDL.Nat32], await replica.queryCall({ canisterId: ids[0], method: '_azle_resolve_callbacks_len', arg: noArgs() }))[0];
    expect(len).toBe(0);
    const aborted = replica.engine.traceLength;
    expect(aborted).toBeGreaterThan(0);
  });

  test('cycles attached are accepted in part and the rest refunded', async () => {
    const balanceB = (await replica.getCyclesBalance(ids[1]));
    const [accepted, refunded] = await a.sendCycles(ids[1], 1_000_000_000n);
    expect(accepted).toBe(500_000_000n);
    expect(refunded).toBe(500_000_000n);
    // B keeps what it accepted minus its execution fee (5 M base + instructions).
    const delta = (await replica.getCyclesBalance(ids[1])) - balanceB;
    expect(delta).toBeLessThan(500_000_000n);
    expect(delta).toBeGreaterThan(400_000_000n);
  });

  test('same-subnet requests up to 10 MiB pass, larger ones trap in call_data_append', async () => {
    expect(await a.sendBig(ids[1], 3 * 1024 * 1024)).toBe(`reply:${3 * 1024 * 1024}`);
    await expect(a.sendBig(ids[1], 10 * 1024 * 1024 + 1)).rejects.toMatchObject({ rejectCode: 5, errorCode: 'IC0504' });
    // The trap grew the heap; the canister was re-instantiated from its committed state and works.
    expect(await a.increment()).toBeGreaterThan(0n);
  });

  test('ingress larger than 2 MiB is refused with a typed error', async () => {
    const big = new Uint8Array(IDL.encode([IDL.Vec(IDL.Nat8)], [new Uint8Array(2 * 1024 * 1024)]));
    await expect(replica.updateCall({ canisterId: ids[1], method: 'echoLength', arg: big })).rejects.toMatchObject({ rejectCode: 5, errorCode: 'IC0504' });
  });

  test('the 501st queued call to one callee fails at call_perform', async () => {
    const result: string[] = await a.fanOut(ids[1], 505);
    expect(result[0]).toBe('ok:500');
    expect(result.slice(1)).toEqual([expect.stringMatching(/CallPerformFailed/)]);
  });

  test('a composite query may call the same canister again in sequence, each call on a fresh copy', async () => {
    const theirs: bigint = await b.getCounter();
    expect(await a.compositeTwice(ids[1])).toEqual([theirs + 1000n, theirs + 1000n]);
    expect(await b.getCounter()).toBe(theirs);
  });

  test('messages sent during a round run in it before the ingress reply: calls and one-way notifications', async () => {
    const before: bigint = await b.getCounter();
    const round = replica.engine.round;
    expect(await a.notifyIncrement(ids[1])).toBe('sent');
    expect(replica.engine.round).toBe(round + 1);
    expect(await b.getCounter()).toBe(before + 1n); // no tick in between: it ran in that round
    expect(await a.callOther(ids[1], 'increment')).toMatch(/^reply:/);
    expect(replica.engine.round).toBe(round + 2); // request, execution and response: one round
  });

  test('composite queries call queries of other canisters and change nothing', async () => {
    await a.increment();
    const mine: bigint = await a.getCounter();
    const theirs: bigint = await b.getCounter();
    expect(await a.compositeSum(ids[1], 'getCounter')).toBe(`sum:${theirs + mine + 1000n}`);
    expect(await a.getCounter()).toBe(mine);
    expect(await a.compositeSum(ids[1], 'increment')).toMatch(/^reject:5:.*has no query method 'increment'/);
    // Re-entering a canister on the call stack fails the whole query, as on the IC.
    await expect(a.compositeSum(ids[0], 'compositeSum')).rejects.toMatchObject({ rejectCode: 5, errorCode: 'IC0517' });
    const args = new Uint8Array(IDL.encode([IDL.Principal, IDL.Text], [ids[1], 'getCounter']));
    await expect(replica.updateCall({ canisterId: ids[0], method: 'compositeSum', arg: args })).rejects.toMatchObject({ rejectCode: 5, errorCode: 'IC0527' });
  });
});
