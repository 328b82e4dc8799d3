// LocalReplica: the public face of the in-process IC replica (API modelled on PocketIC's JS
// client) and the IngressBackend the HTTP interface serves. Every management operation of the
// API goes through the management canister as an ingress message, exactly like the HTTP path.
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { Canister } from './canister.js';
import { CallRejectedError, canisterNotFound, ErrorCode, ReplicaError, type Rejection } from './errors.js';
import { INSTRUCTION_LIMITS, type ExecutionKind } from './execution.js';
import type { FaultRule } from './faults.js';
import { MAX_INGRESS_BYTES, oversizedIngress, type CallOutcome, type CanisterCertifiedInfo, type IngressBackend, type IngressMessage } from './ingress.js';
import { Management, MAX_CHUNK_BYTES } from './management.js';
import { sha256 } from './module-cache.js';
import { MANAGEMENT_METHODS, settingsRecord, type ManagementMethod } from './management-idl.js';
import { Xoshiro128, type Random } from '../random/prng.js';
import { DEFAULT_CHECKPOINT_INTERVAL, Engine, MANAGEMENT_ID } from './scheduler.js';

/** installCode switches to upload_chunk + install_chunked_code above this size (room for Candid). */
const INSTALL_CHUNK_THRESHOLD = MAX_INGRESS_BYTES - 64 * 1024;
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
}

export interface CallOptions {
  sender?: Principal;
}

export type InstallMode = 'install' | 'reinstall' | 'upgrade';

export class LocalReplica implements IngressBackend {
  readonly engine: Engine;
  readonly management: Management;
  /** Seed of the PRNG and of the replica's keys (root key of certificates, node key). */
  readonly seed: number;
  private live: Canister[] = [];
  private closed = false;
  private certificateProvider?: (canisterId: Principal) => Uint8Array | undefined;

  private constructor(options: LocalReplicaOptions) {
    this.seed = options.seed ?? 0;
    const random = options.random ?? new Xoshiro128(this.seed);
    const checkpointInterval = {
      rounds: options.checkpointIntervalRounds ?? DEFAULT_CHECKPOINT_INTERVAL.rounds,
      ns: options.checkpointIntervalMs === undefined ? DEFAULT_CHECKPOINT_INTERVAL.ns : BigInt(Math.round(options.checkpointIntervalMs * 1_000_000))
    };
    if (!(checkpointInterval.rounds >= 1) || checkpointInterval.ns <= 0n) throw new ReplicaError('checkpointIntervalRounds must be at least 1 and checkpointIntervalMs positive');
    this.engine = new Engine(random, BigInt(options.startTime ?? DEFAULT_START_TIME_MS) * 1_000_000n, { ...INSTRUCTION_LIMITS, ...options.instructionLimits }, checkpointInterval);
    this.management = new Management(this.engine);
    this.engine.management = this.management;
    const maxLive = options.maxLiveInstances ?? DEFAULT_MAX_LIVE_INSTANCES;
    this.management.onTouched = (c) => this.touch(c, maxLive);
    const onLog = options.onCanisterLog;
    if (onLog) this.management.onLog = (c, line) => onLog(c.id, line);
  }

  static async create(options: LocalReplicaOptions = {}): Promise<LocalReplica> {
    return new LocalReplica(options);
  }

  // ---- canister lifecycle (through the management canister) ----

  async createCanister(options: { controllers?: Principal[]; cycles?: bigint; sender?: Principal } = {}): Promise<Principal> {
    const [result] = await this.callManagement(
      'provisional_create_canister_with_cycles',
      { amount: options.cycles === undefined ? [] : [options.cycles], settings: options.controllers ? [settingsRecord({ controllers: [options.controllers] })] : [], specified_id: [], sender_canister_version: [] },
      options.sender
    );
    return (result as { canister_id: Principal }).canister_id;
  }

  async installCode(options: { canisterId: Principal; wasm: Uint8Array; arg?: Uint8Array; mode?: InstallMode; sender?: Principal; keepHeap?: boolean; skipPreUpgrade?: boolean }): Promise<void> {
    const mode = options.mode ?? 'install';
    const modeValue = mode === 'upgrade' ? { upgrade: [{ skip_pre_upgrade: [options.skipPreUpgrade ?? false], wasm_memory_persistence: options.keepHeap ? [{ keep: null }] : [] }] } : { [mode]: null };
    const arg = options.arg ?? new Uint8Array(IDL.encode([], []));
    const id = options.canisterId;
    if (options.wasm.length + arg.length <= INSTALL_CHUNK_THRESHOLD) {
      await this.callManagement('install_code', { mode: modeValue, canister_id: id, wasm_module: options.wasm, arg, sender_canister_version: [] }, options.sender, id);
      return;
    }
    // Like dfx: a module too large for one ingress message goes through the chunk store.
    const hashes: { hash: Uint8Array }[] = [];
    for (let at = 0; at < options.wasm.length; at += MAX_CHUNK_BYTES) {
      const [hash] = await this.callManagement('upload_chunk', { canister_id: id, chunk: options.wasm.subarray(at, at + MAX_CHUNK_BYTES) }, options.sender, id);
      hashes.push(hash as { hash: Uint8Array });
    }
    await this.callManagement(
      'install_chunked_code',
      { mode: modeValue, target_canister: id, store_canister: [], chunk_hashes_list: hashes, wasm_module_hash: sha256(options.wasm), arg, sender_canister_version: [] },
      options.sender,
      id
    );
    await this.callManagement('clear_chunk_store', { canister_id: id }, options.sender, id);
  }

  /** createCanister + installCode, like PocketIC's setupCanister. */
  async setupCanister(options: { wasm: Uint8Array; arg?: Uint8Array; controllers?: Principal[]; cycles?: bigint; sender?: Principal }): Promise<Principal> {
    const canisterId = await this.createCanister(options);
    await this.installCode({ canisterId, wasm: options.wasm, arg: options.arg, sender: options.sender });
    return canisterId;
  }

  async upgradeCanister(options: { canisterId: Principal; wasm: Uint8Array; arg?: Uint8Array; sender?: Principal }): Promise<void> {
    await this.installCode({ ...options, mode: 'upgrade' });
  }

  async reinstallCode(options: { canisterId: Principal; wasm: Uint8Array; arg?: Uint8Array; sender?: Principal }): Promise<void> {
    await this.installCode({ ...options, mode: 'reinstall' });
  }

  getControllers(canisterId: Principal): Principal[] {
    return [...this.canisterOrThrow(canisterId).settings.controllers];
  }

  async canisterStatus(canisterId: Principal, options: CallOptions = {}): Promise<Record<string, any>> {
    const [status] = await this.callManagement('canister_status', { canister_id: canisterId }, options.sender, canisterId);
    return status as Record<string, any>;
  }

  async stopCanister(canisterId: Principal, options: CallOptions = {}): Promise<void> {
    await this.callManagement('stop_canister', { canister_id: canisterId }, options.sender, canisterId);
  }

  async startCanister(canisterId: Principal, options: CallOptions = {}): Promise<void> {
    await this.callManagement('start_canister', { canister_id: canisterId }, options.sender, canisterId);
  }

  /** Calls any management method with its Candid record; returns the decoded results. */
  async callManagement(method: ManagementMethod, arg: Record<string, unknown> | undefined, sender?: Principal, effectiveCanisterId?: Principal): Promise<unknown[]> {
    const [argTypes, resultTypes] = MANAGEMENT_METHODS[method];
    const bytes = new Uint8Array(IDL.encode(argTypes, arg === undefined ? [] : [arg]));
    const reply = await this.updateCall(MANAGEMENT_ID, method, bytes, { sender, effectiveCanisterId });
    return IDL.decode(resultTypes, reply);
  }

  // ---- calls ----

  async updateCall(canisterId: Principal, method: string, arg: Uint8Array, options: CallOptions & { effectiveCanisterId?: Principal } = {}): Promise<Uint8Array> {
    const message = ingress(canisterId, method, arg, options);
    const rejection = await this.inspectIngress(message);
    if (rejection) return unwrap(rejection);
    let outcome: CallOutcome | undefined;
    this.submit(message, (o) => (outcome = o));
    this.runWhile(() => outcome === undefined);
    if (!outcome) throw new ReplicaError(`call to ${canisterId.toText()}.${method} did not complete: it waits on a delayed message or on time; use submitCall() and advanceTime()/tick()`);
    return unwrap(outcome);
  }

  async queryCall(canisterId: Principal, method: string, arg: Uint8Array, options: CallOptions = {}): Promise<Uint8Array> {
    return unwrap(await this.query(ingress(canisterId, method, arg, options)));
  }

  /**
   * Enqueues an update call without running rounds (nor canister_inspect_message); the promise
   * settles when it completes.
   */
  submitCall(canisterId: Principal, method: string, arg: Uint8Array, options: CallOptions = {}): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      this.submit(ingress(canisterId, method, arg, options), (o) => (o.status === 'replied' ? resolve(o.reply) : reject(rejectedError(o))));
    });
  }

  /** An actor whose methods encode/decode Candid and call the canister through this replica. */
  createActor<T = Record<string, (...args: any[]) => Promise<any>>>(idlFactory: IDL.InterfaceFactory, canisterId: Principal, options: CallOptions = {}): T {
    const service = idlFactory({ IDL });
    const actor: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const [name, func] of service._fields) {
      actor[name] = async (...args: unknown[]) => {
        const bytes = new Uint8Array(IDL.encode(func.argTypes, args));
        const isQuery = func.annotations.includes('query') || func.annotations.includes('composite_query');
        const reply = isQuery ? await this.queryCall(canisterId, name, bytes, options) : await this.updateCall(canisterId, name, bytes, options);
        const results = IDL.decode(func.retTypes, reply);
        return results.length === 0 ? undefined : results.length === 1 ? results[0] : results;
      };
    }
    return actor as T;
  }

  // ---- time and rounds ----

  async tick(): Promise<void> {
    this.assertOpen();
    this.engine.tick();
  }

  async advanceTime(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new ReplicaError(`advanceTime needs a non-negative number of milliseconds, got ${ms}`);
    this.engine.time += BigInt(Math.round(ms * 1_000_000));
  }

  async setTime(ms: number): Promise<void> {
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

  getTime(): number {
    return Number(this.engine.time / 1_000_000n);
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

  addCycles(canisterId: Principal, amount: bigint): void {
    this.canisterOrThrow(canisterId).cycles += amount;
  }

  getCyclesBalance(canisterId: Principal): bigint {
    return this.canisterOrThrow(canisterId).cycles;
  }

  /** The canister's recent log records (what fetch_canister_logs returns), as text. */
  canisterLogs(canisterId: Principal): string[] {
    return this.canisterOrThrow(canisterId).logs.map((r) => new TextDecoder().decode(r.content));
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
    return this.engine.canisters.get(canisterId.toText());
  }

  async close(): Promise<void> {
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
    if (message.canisterId.toText() === MANAGEMENT_ID.toText()) return undefined;
    const c = this.engine.canisters.get(message.canisterId.toText());
    const refusal = this.engine.refuse(c, message.canisterId);
    // Ingress to a stopped/stopping canister is still inducted; its execution rejects it, so the
    // rejection is a certified request status rather than an HTTP-level refusal.
    if (refusal && refusal.errorCode !== ErrorCode.CanisterStopped && refusal.errorCode !== ErrorCode.CanisterStopping) {
      return { status: 'rejected', ...refusal };
    }
    if (!c || !c.module) return undefined;
    const rejection = this.engine.inspect(c, message.methodName, message.arg, message.sender);
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
    let done = false;
    this.submit(message, (o) => {
      done = true;
      settle(o);
    });
    this.runWhile(() => !done);
  }

  async query(message: IngressMessage): Promise<CallOutcome> {
    this.assertOpen();
    return oversizedIngress(message) ?? this.engine.query(message.canisterId, message.methodName, message.arg, message.sender, this.certificateProvider?.(message.canisterId));
  }

  canisterInfo(canisterId: Principal): CanisterCertifiedInfo | undefined {
    const c = this.engine.canisters.get(canisterId.toText());
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

function ingress(canisterId: Principal, method: string, arg: Uint8Array, options: CallOptions & { effectiveCanisterId?: Principal }): IngressMessage {
  return { sender: options.sender ?? Principal.anonymous(), canisterId, methodName: method, arg, effectiveCanisterId: options.effectiveCanisterId ?? canisterId };
}

function unwrap(outcome: CallOutcome): Uint8Array {
  if (outcome.status === 'replied') return outcome.reply;
  throw rejectedError(outcome);
}

function rejectedError(r: Rejection): CallRejectedError {
  return new CallRejectedError(r.rejectCode, r.rejectMessage, r.errorCode);
}
