// LocalReplica: the public face of the in-process IC replica (API modelled on PocketIC's JS
// client) and the IngressBackend the HTTP interface serves. Every management operation of the
// API goes through the management canister as an ingress message, exactly like the HTTP path.
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { Canister } from './canister.js';
import { idText } from './canister-ids.js';
import { StableMemory, WASM_PAGE } from './stable-memory.js';
import { CallRejectedError, canisterNotFound, ErrorCode, ReplicaError, type Rejection } from './errors.js';
import { INSTRUCTION_LIMITS, type ExecutionKind } from './execution.js';
import type { FaultRule } from './faults.js';
import { oversizedIngress, type CallOutcome, type CanisterCertifiedInfo, type IngressBackend, type IngressMessage } from './ingress.js';
import { Management } from './management.js';
import { createReplicaActor, type Actor } from './actor.js';
import type { QueryCallOptions, UpdateCallOptions } from './replica-api.js';
import { ReplicaLifecycle } from './replica-lifecycle.js';
import { executeQuery, inspectMessage } from './queries.js';
import { Xoshiro128, type Random } from '../random/prng.js';
import { DEFAULT_CHECKPOINT_INTERVAL, Engine } from './engine.js';

/** Rounds `runUntilIdle` / a call may take before giving up (a canister looping on timers). */
export const MAX_ROUNDS_PER_RUN = 10_000;
/** Live Wasm instances kept; colder canisters hibernate to their committed heap copy. */
export const DEFAULT_MAX_LIVE_INSTANCES = 8;
/** 2026-01-01T00:00:00Z: the default start time, so runs are reproducible. */
export const DEFAULT_START_TIME_MS = 1_767_225_600_000;

export interface LocalReplicaOptions {
  seed?: number;
  /** Start time, ms since the epoch (default DEFAULT_START_TIME_MS). */
  startTime?: number;
  /** Replaces the seeded PRNG (tests scripting scheduling choices). */
  random?: Random;
  maxLiveInstances?: number;
  /** Receives every canister log line (debug_print, traps); e.g. `(id, line) => console.log(...)`. */
  onCanisterLog?: (canisterId: Principal, line: string) => void;
  /** Lower instruction limits per execution kind (tests of IC0522 that should not run 40 B instructions). */
  instructionLimits?: Partial<Record<ExecutionKind, bigint>>;
  /** A checkpoint is written every this many rounds (default 500, as on the IC's app subnets). */
  checkpointIntervalRounds?: number;
  /** ...or at the first round after this much replica time passed (default 10 minutes). */
  checkpointIntervalMs?: number;
  /**
   * Stores mark the heap pages they write, so a commit or rollback visits only those (default
   * true). false compares the whole heap after every execution instead (as before the barrier);
   * 'verified' marks and checks after every execution that no changed page went unmarked (tests).
   */
  writeBarrier?: boolean | 'verified';
}

export class LocalReplica extends ReplicaLifecycle implements IngressBackend {
  readonly engine: Engine;
  readonly management: Management;
  /** Seed of the PRNG and of the replica's keys (root key of certificates, node key). */
  readonly seed: number;
  private live: Canister[] = [];
  private closed = false;
  private certificateProvider?: (canisterId: Principal) => Uint8Array | undefined;

  private constructor(options: LocalReplicaOptions) {
    super();
    this.seed = options.seed ?? 0;
    const random = options.random ?? new Xoshiro128(this.seed);
    const checkpointInterval = {
      rounds: options.checkpointIntervalRounds ?? DEFAULT_CHECKPOINT_INTERVAL.rounds,
      ns: options.checkpointIntervalMs === undefined ? DEFAULT_CHECKPOINT_INTERVAL.ns : BigInt(Math.round(options.checkpointIntervalMs * 1_000_000))
    };
    if (!(checkpointInterval.rounds >= 1) || checkpointInterval.ns <= 0n) throw new ReplicaError('checkpointIntervalRounds must be at least 1 and checkpointIntervalMs positive');
    this.engine = new Engine(random, BigInt(options.startTime ?? DEFAULT_START_TIME_MS) * 1_000_000n, { ...INSTRUCTION_LIMITS, ...options.instructionLimits }, checkpointInterval);
    this.management = new Management(this.engine, { writeBarrier: options.writeBarrier });
    this.engine.management = this.management;
    const maxLive = options.maxLiveInstances ?? DEFAULT_MAX_LIVE_INSTANCES;
    this.management.onTouched = (c) => this.touch(c, maxLive);
    const onLog = options.onCanisterLog;
    if (onLog) this.management.onLog = (c, line) => onLog(c.id, line);
  }

  static async create(options: LocalReplicaOptions = {}): Promise<LocalReplica> {
    return new LocalReplica(options);
  }

  async getControllers(canisterId: Principal): Promise<Principal[]> {
    return [...this.canisterOrThrow(canisterId).settings.controllers];
  }

  /** The canister's whole stable memory (as PocketIC's getStableMemory). */
  async getStableMemory(canisterId: Principal): Promise<Uint8Array> {
    const stable = this.canisterOrThrow(canisterId).state.stable;
    const out = new Uint8Array(stable.byteLength);
    stable.read(0, out.length, out, 0);
    return out;
  }

  /** Replaces the canister's stable memory by `stableMemory`, padded to whole 64 KiB pages (PocketIC's setStableMemory). */
  async setStableMemory(canisterId: Principal, stableMemory: Uint8Array): Promise<void> {
    const c = this.canisterOrThrow(canisterId);
    const stable = new StableMemory();
    stable.grow(Math.ceil(stableMemory.length / WASM_PAGE));
    stable.write(0, stableMemory);
    stable.commit();
    c.setState({ ...c.state, stable });
  }

  // ---- calls ----

  /** An update call: runs rounds until it completes (inspect_message first, as for ingress). */
  async updateCall(options: UpdateCallOptions): Promise<Uint8Array> {
    const message = ingress(options);
    const rejection = await this.inspectIngress(message);
    if (rejection) return unwrap(rejection);
    let outcome: CallOutcome | undefined;
    this.runIngress(message, (o) => (outcome = o));
    if (!outcome) throw new ReplicaError(`call to ${options.canisterId.toText()}.${options.method} did not complete: it waits on a delayed message or on time; use submitCall() and advanceTime()/tick()`);
    return unwrap(outcome);
  }

  async queryCall(options: QueryCallOptions): Promise<Uint8Array> {
    return unwrap(await this.query(ingress(options)));
  }

  /**
   * Enqueues an update call without running rounds (nor canister_inspect_message); the promise
   * settles when it completes (after tick() / runUntilIdle()).
   */
  submitCall(options: UpdateCallOptions): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      this.submit(ingress(options), (o) => (o.status === 'replied' ? resolve(o.reply) : reject(rejectedError(o))));
    });
  }

  /**
   * A PocketIC-style actor: methods encode/decode Candid and call through this replica, as the
   * anonymous principal (or `options.sender`) until `setPrincipal` / `setIdentity`.
   */
  createActor<T = Record<string, (...args: any[]) => Promise<any>>>(idlFactory: IDL.InterfaceFactory, canisterId: Principal, options: { sender?: Principal } = {}): Actor<T> {
    return createReplicaActor<T>(this, idlFactory, canisterId, options.sender);
  }

  // ---- time and rounds ----

  /** Runs `times` rounds (default 1), as PocketIC's tick. */
  async tick(times = 1): Promise<void> {
    this.assertOpen();
    if (!(Number.isInteger(times) && times >= 0 && times <= MAX_ROUNDS_PER_RUN)) throw new ReplicaError(`tick(times) needs an integer in 0..${MAX_ROUNDS_PER_RUN}, got ${times}`);
    for (let i = 0; i < times; i++) this.engine.tick();
  }

  async advanceTime(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new ReplicaError(`advanceTime needs a non-negative number of milliseconds, got ${ms}`);
    this.engine.time += BigInt(Math.round(ms * 1_000_000));
  }

  /** Sets replica time (ms since the epoch, or a Date); it cannot go backwards. */
  async setTime(time: number | Date): Promise<void> {
    const ms = time instanceof Date ? time.getTime() : time;
    const t = BigInt(Math.round(ms * 1_000_000));
    if (t < this.engine.time) throw new ReplicaError('time cannot go backwards');
    this.engine.time = t;
  }

  /**
   * Writes a checkpoint now (one is written every `checkpointIntervalRounds` rounds anyway): a
   * snapshot taken of a canister that changed since the last one becomes loadable elsewhere.
   */
  async checkpoint(): Promise<void> {
    this.assertOpen();
    this.engine.checkpoint();
  }

  /** Replica time in ms since the epoch. */
  async getTime(): Promise<number> {
    return Number(this.engine.time / 1_000_000n);
  }

  /** Moves replica time to the wall clock (as PocketIC's resetTime; it cannot go backwards). */
  async resetTime(): Promise<void> {
    await this.setTime(Date.now());
  }

  /** Runs rounds until no message or due timer is left (heartbeats alone do not keep it busy). */
  async runUntilIdle(): Promise<number> {
    return this.runWhile(() => true);
  }

  // ---- fault injection and inspection ----

  injectFault(rule: FaultRule): void {
    this.engine.faults.add(rule);
  }

  /** Removes every armed fault rule (rules match in the order they were added; tests re-arm in a new order). */
  clearFaults(): void {
    this.engine.faults.clear();
  }

  get faultsFired(): Readonly<{ reject: number; delay: number; trap: number }> {
    return this.engine.faults.fired;
  }

  /** Sets a canister's cycles balance to zero (fault injection: out of cycles). */
  drainCycles(canisterId: Principal): void {
    this.canisterOrThrow(canisterId).cycles = 0n;
  }

  /** Adds cycles to a canister's balance; returns the new balance. */
  async addCycles(canisterId: Principal, amount: bigint): Promise<bigint> {
    if (amount < 0n) throw new ReplicaError(`addCycles needs a non-negative amount, got ${amount}; use drainCycles to empty a canister`);
    const c = this.canisterOrThrow(canisterId);
    c.cycles += amount;
    return c.cycles;
  }

  async getCyclesBalance(canisterId: Principal): Promise<bigint> {
    return this.canisterOrThrow(canisterId).cycles;
  }

  /** The canister's recent log records (what fetch_canister_logs returns), as text. */
  canisterLogs(canisterId: Principal): string[] {
    return this.canisterOrThrow(canisterId).log.records.map((r) => new TextDecoder().decode(r.content));
  }

  /** Hash of every execution so far: equal seeds and inputs must give equal digests. */
  traceDigest(): string {
    return this.engine.traceDigest();
  }

  /** Number of canisters holding a live Wasm instance (others are hibernated). */
  liveInstances(): number {
    return this.live.length;
  }

  canister(canisterId: Principal): Canister | undefined {
    return this.engine.canisters.get(idText(canisterId));
  }

  /** Ends this replica: every instance is dropped and later calls are refused. */
  async tearDown(): Promise<void> {
    this.closed = true;
    for (const c of this.engine.canisters.values()) c.hibernate();
    this.live = [];
  }

  // ---- IngressBackend ----

  timeNs(): bigint {
    return this.engine.time;
  }

  async inspectIngress(message: IngressMessage): Promise<CallOutcome | undefined> {
    this.assertOpen();
    const oversized = oversizedIngress(message);
    if (oversized) return oversized;
    if (this.engine.isManagement(message.canisterId)) return undefined;
    const c = this.engine.canisters.get(idText(message.canisterId));
    const refusal = this.engine.refuse(c, message.canisterId);
    // Ingress to a stopped/stopping canister is still inducted; its execution rejects it, so the
    // rejection is a certified request status rather than an HTTP-level refusal.
    if (refusal && refusal.errorCode !== ErrorCode.CanisterStopped && refusal.errorCode !== ErrorCode.CanisterStopping) {
      return { status: 'rejected', ...refusal };
    }
    if (!c || !c.module) return undefined;
    const rejection = inspectMessage(this.engine, c, message.methodName, message.arg, message.sender);
    return rejection ? { status: 'rejected', ...rejection } : undefined;
  }

  async submitIngress(message: IngressMessage): Promise<CallOutcome> {
    const rejection = await this.inspectIngress(message);
    if (rejection) return rejection;
    return new Promise((resolve) => this.runIngress(message, resolve));
  }

  /**
   * Enqueues an ingress message (inspect_message already passed) and runs rounds until it
   * completes or nothing else can run now; `settle` fires when it completes, possibly later
   * (a call waiting on replica time settles during a later tick or advanceTime + tick).
   */
  runIngress(message: IngressMessage, settle: (outcome: CallOutcome) => void): void {
    this.executeIngress([message], (_, outcome) => settle(outcome));
  }

  executeIngress(messages: readonly IngressMessage[], settle: (index: number, outcome: CallOutcome) => void): void {
    let pending = messages.length;
    messages.forEach((message, index) => this.submit(message, (outcome) => {
      pending--;
      settle(index, outcome);
    }));
    this.runWhile(() => pending > 0);
  }

  async query(message: IngressMessage): Promise<CallOutcome> {
    this.assertOpen();
    return oversizedIngress(message) ?? executeQuery(this.engine, { canisterId: message.canisterId, method: message.methodName, arg: message.arg, sender: message.sender, dataCertificate: this.certificateProvider?.(message.canisterId) });
  }

  canisterInfo(canisterId: Principal): CanisterCertifiedInfo | undefined {
    const c = this.engine.canisters.get(idText(canisterId));
    if (!c) return undefined;
    return { certifiedData: c.state.certifiedData, moduleHash: c.module?.hash, controllers: c.settings.controllers };
  }

  canisterIds(): Principal[] {
    return [...this.engine.canisters.values()].map((c) => c.id);
  }

  setDataCertificateProvider(provide: (canisterId: Principal) => Uint8Array | undefined): void {
    this.certificateProvider = provide;
  }

  // ---- internals ----

  private submit(message: IngressMessage, settle: (o: CallOutcome) => void): void {
    this.assertOpen();
    this.engine.enqueue({
      kind: 'request',
      sender: message.sender,
      receiver: message.canisterId,
      method: message.methodName,
      arg: message.arg,
      cycles: 0n,
      origin: { kind: 'ingress', settle },
      effectiveCanisterId: message.effectiveCanisterId,
      deadline: 0n
    });
  }

  private runWhile(condition: () => boolean): number {
    let rounds = 0;
    while (condition() && this.engine.hasWork()) {
      if (++rounds > MAX_ROUNDS_PER_RUN) throw new ReplicaError(`still busy after ${MAX_ROUNDS_PER_RUN} rounds: a canister keeps sending messages or re-arming a due timer`);
      this.engine.tick();
    }
    return rounds;
  }

  private touch(c: Canister, maxLive: number): void {
    this.live = this.live.filter((x) => x !== c);
    this.live.push(c);
    while (this.live.length > maxLive) this.live.shift()!.hibernate();
  }

  private canisterOrThrow(id: Principal): Canister {
    const c = this.engine.canisters.get(id.toText());
    if (!c) throw rejectedError(canisterNotFound(id.toText()));
    return c;
  }

  private assertOpen(): void {
    if (this.closed) throw new ReplicaError('the replica is closed; create a new one with LocalReplica.create()');
  }
}

function ingress(options: UpdateCallOptions): IngressMessage {
  return { sender: options.sender ?? Principal.anonymous(), canisterId: options.canisterId, methodName: options.method, arg: options.arg ?? new Uint8Array(0), effectiveCanisterId: options.effectiveCanisterId ?? options.canisterId };
}

function unwrap(outcome: CallOutcome): Uint8Array {
  if (outcome.status === 'replied') return outcome.reply;
  throw rejectedError(outcome);
}

function rejectedError(r: Rejection): CallRejectedError {
  return new CallRejectedError(r.rejectCode, r.rejectMessage, r.errorCode);
}
