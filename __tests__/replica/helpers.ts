// Shared setup for the replica tests: builds the Azle fixtures once (cached by content hash) and
// installs them on a fresh LocalReplica.
import { join } from 'node:path';
import { IDL } from '@dfinity/candid';
import type { Principal } from '@dfinity/principal';
import { buildAzleCanister } from '../../lib/build/azle.js';
import { LocalReplica, type LocalReplicaOptions } from '../../lib/replica/index.js';

const fixtures = join(process.cwd(), '__tests__/fixtures');
const built = new Map<string, Promise<Uint8Array>>();

export function fixtureWasm(name: 'probe' | 'hello'): Promise<Uint8Array> {
  if (!built.has(name)) built.set(name, buildAzleCanister({ root: join(fixtures, name), name }).then((b) => b.wasm));
  return built.get(name)!;
}

export const probeIdl: IDL.InterfaceFactory = ({ IDL: I }) =>
  I.Service({
    getCounter: I.Func([], [I.Nat], ['query']),
    increment: I.Func([], [I.Nat], []),
    getLog: I.Func([], [I.Vec(I.Text)], ['query']),
    getStable: I.Func([I.Text], [I.Opt(I.Text)], ['query']),
    putStable: I.Func([I.Text, I.Text], [], []),
    fillStable: I.Func([I.Nat32, I.Nat32], [I.Nat32], []),
    timerCount: I.Func([], [I.Nat32], ['query']),
    logLine: I.Func([I.Text], [], []),
    scheduleTimer: I.Func([I.Nat32], [], []),
    trapAfterChanges: I.Func([I.Text], [], []),
    setCertified: I.Func([I.Vec(I.Nat8)], [], []),
    hasCertificate: I.Func([], [I.Bool], ['query']),
    incrementThenCallThenTrap: I.Func([I.Principal], [I.Nat], []),
    callOther: I.Func([I.Principal, I.Text], [I.Text], []),
    sendCycles: I.Func([I.Principal, I.Nat], [I.Vec(I.Nat)], []),
    acceptHalf: I.Func([], [I.Nat], []),
    acceptAllThenTrap: I.Func([], [I.Nat], []),
    sendCyclesTo: I.Func([I.Principal, I.Text, I.Nat], [I.Record({ outcome: I.Text, refunded: I.Nat })], []),
    countersAcrossAwait: I.Func([I.Principal], [I.Vec(I.Nat64)], []),
    replyTwice: I.Func([], [I.Text], []),
    noReply: I.Func([], [I.Text], []),
    bigReply: I.Func([I.Nat32], [I.Vec(I.Nat8)], []),
    sendBig: I.Func([I.Principal, I.Nat32], [I.Text], []),
    echoLength: I.Func([I.Vec(I.Nat8)], [I.Nat32], []),
    queryCounter: I.Func([], [I.Nat64], ['query']),
    work: I.Func([I.Nat32], [I.Vec(I.Nat64)], []),
    whoami: I.Func([], [I.Principal], ['query']),
    rawRand: I.Func([], [I.Vec(I.Nat8)], []),
    createChild: I.Func([I.Nat], [I.Principal], []),
    depositTo: I.Func([I.Principal], [I.Text], []),
    fanOut: I.Func([I.Principal, I.Nat32], [I.Vec(I.Text)], []),
    compositeSum: I.Func([I.Principal, I.Text], [I.Text], ['composite_query']),
    notifyIncrement: I.Func([I.Principal], [I.Text], []),
    callRaw: I.Func([I.Principal, I.Text, I.Vec(I.Nat8)], [I.Text], []),
    compositeTwice: I.Func([I.Principal], [I.Vec(I.Nat)], ['composite_query']),
    compositeBump: I.Func([], [I.Nat], ['composite_query']),
    self: I.Func([], [I.Principal], ['query'])
  });

export type ProbeActor = Record<string, (...args: any[]) => Promise<any>>;

export const noArgs = (): Uint8Array => new Uint8Array(IDL.encode([], []));
export const probeInitArg = (tag?: string): Uint8Array => new Uint8Array(IDL.encode([IDL.Opt(IDL.Text)], [tag === undefined ? [] : [tag]]));

/** A replica with `count` probe canisters installed and idle (Azle's init timer has run). */
export async function replicaWithProbes(count: number, options: LocalReplicaOptions = {}): Promise<{ replica: LocalReplica; ids: Principal[]; actors: ProbeActor[] }> {
  const wasm = await fixtureWasm('probe');
  const replica = await LocalReplica.create({ seed: 7, ...options });
  const ids: Principal[] = [];
  for (let i = 0; i < count; i++) {
    const id = await replica.createCanister();
    await replica.installCode({ canisterId: id, wasm, arg: probeInitArg(`p${i}`) });
    ids.push(id);
  }
  await replica.runUntilIdle();
  return { replica, ids, actors: ids.map((id) => replica.createActor<ProbeActor>(probeIdl, id)) };
}
