// replica.createAgent(): stock @dfinity/agent actors over the engine directly (no HTTP), on real
// Azle Wasm — queries, updates (certified replies, direct and polled), rejects, the management
// canister, and the sender taken from the agent's identity.
import { Actor, type ActorMethod, type ActorSubclass } from '@dfinity/agent';
import { IDL } from '@dfinity/candid';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import { Principal } from '@dfinity/principal';
import { managementIdlFactory, type LocalReplica } from '../../lib/replica/index.js';
import { probeIdl, replicaWithProbes } from './helpers.js';

type Probe = ActorSubclass<Record<string, ActorMethod<any[], any>>>;

describe('replica.createAgent with Actor.createActor', () => {
  let replica: LocalReplica;
  let ids: Principal[];
  beforeAll(async () => {
    ({ replica, ids } = await replicaWithProbes(2));
  });

  test('queries and updates of a stock actor run in-process, updates verified with the BLS root key', async () => {
    const agent = replica.createAgent();
    const actor: Probe = Actor.createActor(probeIdl, { agent, canisterId: ids[0] });
    const before: bigint = await actor.getCounter();
    expect(await actor.increment()).toBe(before + 1n);
    expect(await actor.getCounter()).toBe(before + 1n);
    expect((await agent.fetchRootKey()).length).toBeGreaterThan(96); // DER-wrapped G2 key
    // A call that completes in its rounds is answered directly with a certificate (v3 style).
    const direct = await agent.call(ids[0], { methodName: 'increment', arg: new Uint8Array(IDL.encode([], [])), effectiveCanisterId: ids[0] });
    expect(direct.response.status).toBe(200);
    expect(direct.response.body).toHaveProperty('certificate');
  });

  test("the sender is the identity's principal (anonymous by default), replaceable", async () => {
    const anonymous = Actor.createActor(probeIdl, { agent: replica.createAgent(), canisterId: ids[0] }) as Probe;
    expect((await anonymous.whoami()).toText()).toBe(Principal.anonymous().toText());
    const identity = Ed25519KeyIdentity.generate(new Uint8Array(32).fill(5));
    const agent = replica.createAgent({ identity });
    expect((await agent.getPrincipal()).toText()).toBe(identity.getPrincipal().toText());
    const actor = Actor.createActor(probeIdl, { agent, canisterId: ids[0] }) as Probe;
    expect((await actor.whoami()).toText()).toBe(identity.getPrincipal().toText());
    agent.replaceIdentity(Ed25519KeyIdentity.generate(new Uint8Array(32).fill(6)));
    expect((await actor.whoami()).toText()).not.toBe(identity.getPrincipal().toText());
  });

  test('rejects reach the actor with reject and error codes (certified for executed calls)', async () => {
    const actor = Actor.createActor(probeIdl, { agent: replica.createAgent(), canisterId: ids[0] }) as Probe;
    await expect(actor.trapAfterChanges('boom')).rejects.toMatchObject({ cause: { code: { rejectCode: 5, rejectErrorCode: 'IC0503' } } });
    const missing = Actor.createActor(({ IDL: I }) => I.Service({ nope: I.Func([], [], []) }), { agent: replica.createAgent(), canisterId: ids[0] }) as Probe;
    await expect(missing.nope()).rejects.toMatchObject({ cause: { code: { rejectCode: 5, rejectErrorCode: 'IC0536' } } });
  });

  test('the management canister answers through the effective canister id', async () => {
    const agent = replica.createAgent();
    const ic = Actor.createActor(managementIdlFactory, { agent, canisterId: Principal.managementCanister() }) as Probe;
    const [created] = [await ic.provisional_create_canister_with_cycles({ amount: [10n ** 12n], settings: [], specified_id: [], sender_canister_version: [] })];
    const canisterId: Principal = created.canister_id;
    const status = await ic.canister_status.withOptions({ effectiveCanisterId: canisterId })({ canister_id: canisterId });
    expect(status.status).toEqual({ running: null });
    expect(status.settings.controllers.map((p: Principal) => p.toText())).toEqual([Principal.anonymous().toText()]);
    await expect(ic.canister_status.withOptions({ effectiveCanisterId: canisterId })({ canister_id: ids[0] })).rejects.toThrow(/effective canister id/);
  });

  test('a call that waits on replica time answers 202 and the actor polls it to the reply', async () => {
    const agent = replica.createAgent();
    const actor = Actor.createActor(probeIdl, { agent, canisterId: ids[0] }) as Probe;
    replica.injectFault({ kind: 'delay', to: ids[1].toText(), ms: 5_000 });
    const submitted = await agent.call(ids[0], { methodName: 'callOther', arg: new Uint8Array(IDL.encode([IDL.Principal, IDL.Text], [ids[1], 'getCounter'])), effectiveCanisterId: ids[0] });
    expect(submitted.response.status).toBe(202);
    replica.injectFault({ kind: 'delay', to: ids[1].toText(), ms: 5_000 });
    const polled = actor.callOther(ids[1], 'getCounter');
    await new Promise((r) => setTimeout(r, 10));
    await replica.advanceTime(6_000);
    await replica.runUntilIdle();
    expect(await polled).toMatch(/^reply:/);
  });

  test("'in-process' certificates skip BLS and verify only with agent.blsVerify", async () => {
    const agent = replica.createAgent({ certificates: 'in-process' });
    const fast = Actor.createActor(probeIdl, { agent, canisterId: ids[0], blsVerify: agent.blsVerify }) as Probe;
    const before: bigint = await fast.getCounter();
    expect(await fast.increment()).toBe(before + 1n);
    const stock = Actor.createActor(probeIdl, { agent, canisterId: ids[0] }) as Probe;
    await expect(stock.increment()).rejects.toThrow(/[Ss]ignature/);
  });
});
