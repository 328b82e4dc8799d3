// A test file written for PocketIC (@dfinity/pic), as a user has it, run on the local replica.
// Only the import and the `create` line differ from its PocketIC form (kept in comments); every
// other line is PocketIC's call shapes. docs/replica.md lists what still differs.
// import { PocketIc, type Actor } from '@dfinity/pic';
import { LocalReplica as PocketIc, type Actor } from '../../lib/replica/index.js';
import { IDL } from '@dfinity/candid';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import { Principal } from '@dfinity/principal';
import { join } from 'node:path';
import { buildAzleCanister } from '../../lib/build/azle.js';
import { probeIdl as idlFactory } from './helpers.js';

interface _SERVICE {
  getCounter(): Promise<bigint>;
  increment(): Promise<bigint>;
  whoami(): Promise<Principal>;
  scheduleTimer(seconds: number): Promise<void>;
  timerCount(): Promise<number>;
}

let WASM_PATH: string;
let pic: PocketIc;
let actor: Actor<_SERVICE>;
let canisterId: Principal;
const alice = Ed25519KeyIdentity.generate(new Uint8Array(32).fill(11));
const controller = Principal.selfAuthenticating(new Uint8Array(32).fill(12));
const initArg = new Uint8Array(IDL.encode([IDL.Opt(IDL.Text)], [[]]));

beforeAll(async () => {
  WASM_PATH = (await buildAzleCanister({ root: join(process.cwd(), '__tests__/fixtures/probe'), name: 'probe' })).wasmPath;
});

beforeEach(async () => {
  // pic = await PocketIc.create(process.env.PIC_URL);
  pic = await PocketIc.create();
  const fixture = await pic.setupCanister<_SERVICE>({ idlFactory, wasm: WASM_PATH, arg: initArg, sender: controller, controllers: [controller] });
  actor = fixture.actor;
  canisterId = fixture.canisterId;
});

afterEach(async () => {
  await pic.tearDown();
});

describe('a PocketIC test, unchanged but for its setup', () => {
  it('calls as the anonymous principal, then as the identity set on the actor', async () => {
    expect((await actor.whoami()).toText()).toBe(Principal.anonymous().toText());
    actor.setIdentity(alice);
    expect((await actor.whoami()).toText()).toBe(alice.getPrincipal().toText());
    actor.setPrincipal(Principal.anonymous());
    expect((await actor.whoami()).isAnonymous()).toBe(true);
  });

  it('updates and queries', async () => {
    const before = await actor.getCounter();
    expect(await actor.increment()).toBe(before + 1n);
    const raw = await pic.queryCall({ canisterId, method: 'getCounter', arg: new Uint8Array(IDL.encode([], [])) });
    expect(IDL.decode([IDL.Nat], raw)[0]).toBe(before + 1n);
    const reply = await pic.updateCall({ canisterId, method: 'increment', arg: new Uint8Array(IDL.encode([], [])), sender: alice.getPrincipal() });
    expect(IDL.decode([IDL.Nat], reply)[0]).toBe(before + 2n);
  });

  it('timers fire after advanceTime and tick', async () => {
    await actor.scheduleTimer(60);
    await pic.tick(2);
    expect(await actor.timerCount()).toBe(0);
    const t0 = await pic.getTime();
    await pic.advanceTime(61_000);
    await pic.tick(2);
    expect(await pic.getTime()).toBeGreaterThanOrEqual(t0 + 61_000);
    expect(await actor.timerCount()).toBe(1);
  });

  it('lifecycle: stop/start with a sender, typed status, cycles, controllers, upgrade', async () => {
    await pic.stopCanister({ canisterId, sender: controller });
    expect((await pic.canisterStatus({ canisterId, sender: controller })).status).toEqual({ stopped: null });
    await expect(actor.getCounter()).rejects.toThrow(/is stopped/);
    await pic.startCanister({ canisterId, sender: controller });
    const status = await pic.canisterStatus({ canisterId, sender: controller });
    expect(status.status).toEqual({ running: null });
    expect(status.settings.controllers.map((p) => p.toText())).toEqual([controller.toText()]);
    expect(status.moduleHash).toBeInstanceOf(Uint8Array);
    expect(status.memorySize).toBeGreaterThan(0n);
    const balance = await pic.getCyclesBalance(canisterId);
    expect(await pic.addCycles(canisterId, 1_000n)).toBe(balance + 1_000n);
    expect((await pic.getControllers(canisterId)).map((p) => p.toText())).toEqual([controller.toText()]);
    await actor.increment();
    await pic.upgradeCanister({ canisterId, wasm: WASM_PATH, arg: initArg, sender: controller });
    expect(await actor.getCounter()).toBe(0n); // the probe keeps its counter on the heap
    await expect(pic.stopCanister({ canisterId })).rejects.toThrow(/controllers/); // the anonymous sender is not one
  });

  it('stable memory can be read and replaced', async () => {
    const stable = await pic.getStableMemory(canisterId);
    expect(stable.length % 65536).toBe(0);
    const copy = Uint8Array.from(stable);
    copy[copy.length - 1] ^= 1; // a different stable memory (its unused last byte), so the replacement is visible
    await actor.increment(); // the counter lives on the heap; stable memory holds Azle's map
    await pic.setStableMemory(canisterId, copy);
    expect(Buffer.compare(await pic.getStableMemory(canisterId), copy)).toBe(0); // (a byte-wise toEqual over 64 MiB would exhaust Jest)
    expect(await actor.getCounter()).toBeGreaterThanOrEqual(0n); // the canister still runs
  });
});
