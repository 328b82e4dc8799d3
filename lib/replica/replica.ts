// LocalReplica: the public face of the in-process IC replica (API modelled on PocketIC's JS
// client) and the IngressBackend the HTTP interface serves. Every management operation of the
// API goes through the management canister as an ingress message, exactly like the HTTP path.
import { readFileSync } from 'node:fs';
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { Canister } from './canister.js';
import { CallRejectedError, canisterNotFound, ErrorCode, ReplicaError, type Rejection } from './errors.js';
import { INSTRUCTION_LIMITS, type ExecutionKind } from './execution.js';
import type { FaultRule } from './faults.js';
import { MAX_INGRESS_BYTES, oversizedIngress, type CallOutcome, type CanisterCertifiedInfo, type IngressBackend, type IngressMessage } from './ingress.js';
import { Management } from './management.js';
import { MANAGEMENT_METHODS, settingsRecord, type ManagementMethod } from './management-idl.js';
import { createReplicaActor, type Actor } from './actor.js';
import { installModule, type InstallClient } from './chunked-install.js';
import { toCandidInstallMode } from './install-mode.js';
import {
  camelCased,
  statusResult,
  type CanisterFixture,
  type CanisterOptions,
  type CanisterSnapshot,
  type CanisterSnapshotOptions,
  type CanisterStatusResult,
  type CreateCanisterOptions,
  type InstallCodeOptions,
  type ManagementCallOptions,
  type QueryCallOptions,
  type ReinstallCodeOptions,
  type SetupCanisterOptions,
  type TakeCanisterSnapshotOptions,
  type UpdateCallOptions,
  type UpdateCanisterSettingsOptions,
  type UpgradeCanisterOptions
} from './replica-api.js';
import { Xoshiro128, type Random } from '../random/prng.js';
import { DEFAULT_CHECKPOINT_INTERVAL, Engine, MANAGEMENT_ID } from './engine.js';

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

  // ---- canister lifecycle (through the management canister, as ingress) ----

  async createCanister(options: CreateCanisterOptions = {}): Promise<Principal> {
    const settings = options.controllers ? [settingsRecord({ controllers: [options.controllers] })] : [];
    const [result] = await this.callManagement({ method: 'provisional_create_canister_with_cycles', arg: { amount: options.cycles === undefined ? [] : [options.cycles], settings, specified_id: [], sender_canister_version: [] }, sender: options.sender, effectiveCanisterId: MANAGEMENT_ID });
    return (result as { canister_id: Principal }).canister_id;
  }

  /** install_code, or upload_chunk + install_chunked_code for a module too large for one message. */
  async installCode(options: InstallCodeOptions): Promise<void> {
    const client = managementClient((method, arg) => this.callManagement({ method, arg, sender: options.sender, effectiveCanisterId: options.canisterId }));
    const wasm = typeof options.wasm === 'string' ? new Uint8Array(readFileSync(options.wasm)) : options.wasm;
    await installModule(client, { canisterId: options.canisterId, wasm, arg: options.arg ?? emptyArgs(), mode: toCandidInstallMode(options.mode ?? 'install', options.upgrade) });
  }

  async reinstallCode(options: ReinstallCodeOptions): Promise<void> {
    await this.installCode({ ...options, mode: 'reinstall' });
  }

  async upgradeCanister(options: UpgradeCanisterOptions): Promise<void> {
    const u = options.upgradeModeOptions;
    const persistence = u?.wasm_memory_persistence[0];
    await this.installCode({ ...options, mode: 'upgrade', upgrade: { skipPreUpgrade: u?.skip_pre_upgrade[0], keepHeap: persistence !== undefined && 'keep' in persistence } });
  }

  /** createCanister + installCode + createActor, like PocketIC's setupCanister. */
  async setupCanister<T = Record<string, (...args: any[]) => Promise<any>>>(options: SetupCanisterOptions): Promise<CanisterFixture<T>> {
    const canisterId = await this.createCanister(options);
    await this.installCode({ canisterId, wasm: options.wasm, arg: options.arg, sender: options.sender });
    return { actor: this.createActor<T>(options.idlFactory, canisterId), canisterId };
  }

  async updateCanisterSettings(options: UpdateCanisterSettingsOptions): Promise<void> {
    const { canisterId, sender, controllers, logVisibility, ...rest } = options;
    const fields: Record<string, unknown[]> = { controllers: controllers ? [controllers] : [], log_visibility: logVisibility ? [logVisibility] : [] };
    for (const [key, value] of Object.entries(rest)) if (value !== undefined) fields[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = [value];
    await this.callManagement({ method: 'update_settings', arg: { canister_id: canisterId, settings: settingsRecord(fields), sender_canister_version: [] }, sender });
  }

  async getControllers(canisterId: Principal): Promise<Principal[]> {
    return [...this.canisterOrThrow(canisterId).settings.controllers];
  }

  async canisterStatus(options: CanisterOptions): Promise<CanisterStatusResult> {
    const [status] = await this.callManagement({ method: 'canister_status', arg: { canister_id: options.canisterId }, sender: options.sender });
    return statusResult(status as Record<string, any>);
  }

  async stopCanister(options: CanisterOptions): Promise<void> {
    await this.callManagement({ method: 'stop_canister', arg: { canister_id: options.canisterId }, sender: options.sender });
  }

  async startCanister(options: CanisterOptions): Promise<void> {
    await this.callManagement({ method: 'start_canister', arg: { canister_id: options.canisterId }, sender: options.sender });
  }

  async deleteCanister(options: CanisterOptions): Promise<void> {
    await this.callManagement({ method: 'delete_canister', arg: { canister_id: options.canisterId }, sender: options.sender });
  }

  async takeCanisterSnapshot(options: TakeCanisterSnapshotOptions): Promise<CanisterSnapshot> {
    const arg = { canister_id: options.canisterId, replace_snapshot: options.replaceSnapshot ? [options.replaceSnapshot] : [], uninstall_code: options.uninstallCode === undefined ? [] : [options.uninstallCode] };
    const [snapshot] = await this.callManagement({ method: 'take_canister_snapshot', arg, sender: options.sender });
    return camelCased<CanisterSnapshot>(snapshot);
  }

  /** Loads a snapshot onto `canisterId` (its own canister's, or another's the sender also controls). */
  async loadCanisterSnapshot(options: CanisterSnapshotOptions): Promise<void> {
    await this.callManagement({ method: 'load_canister_snapshot', arg: { canister_id: options.canisterId, snapshot_id: options.snapshotId, sender_canister_version: [] }, sender: options.sender });
  }

  async listCanisterSnapshots(options: CanisterOptions): Promise<CanisterSnapshot[]> {
    const [list] = await this.callManagement({ method: 'list_canister_snapshots', arg: { canister_id: options.canisterId }, sender: options.sender });
    return (list as unknown[]).map((s) => camelCased<CanisterSnapshot>(s));
  }

  async deleteCanisterSnapshot(options: CanisterSnapshotOptions): Promise<void> {
    await this.callManagement({ method: 'delete_canister_snapshot', arg: { canister_id: options.canisterId, snapshot_id: options.snapshotId }, sender: options.sender });
  }

  /** Calls any management method with its Candid record; returns the decoded results. */
  async callManagement(options: ManagementCallOptions): Promise<unknown[]> {
    const [argTypes, resultTypes] = MANAGEMENT_METHODS[options.method];
    const arg = options.arg;
    const bytes = new Uint8Array(IDL.encode(argTypes, arg === undefined ? [] : [arg]));
    const target = (arg?.canister_id ?? arg?.target_canister) as Principal | undefined;
    const effectiveCanisterId = options.effectiveCanisterId ?? target ?? MANAGEMENT_ID;
    const reply = await this.updateCall({ canisterId: MANAGEMENT_ID, method: options.method, arg: bytes, sender: options.sender, effectiveCanisterId });
    return IDL.decode(resultTypes, reply);
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

function ingress(options: UpdateCallOptions): IngressMessage {
  return { sender: options.sender ?? Principal.anonymous(), canisterId: options.canisterId, methodName: options.method, arg: options.arg ?? new Uint8Array(0), effectiveCanisterId: options.effectiveCanisterId ?? options.canisterId };
}

function emptyArgs(): Uint8Array {
  return new Uint8Array(IDL.encode([], []));
}

/** The install calls of chunked-install.ts, made through `call`. */
function managementClient(call: (method: ManagementMethod, arg: Record<string, unknown>) => Promise<unknown[]>): InstallClient {
  const first = async (method: ManagementMethod, arg: Record<string, unknown>): Promise<any> => (await call(method, arg))[0];
  return {
    install_code: (arg) => first('install_code', arg),
    clear_chunk_store: (arg) => first('clear_chunk_store', arg),
    upload_chunk: (arg) => first('upload_chunk', arg),
    install_chunked_code: (arg) => first('install_chunked_code', arg)
  };
}

function unwrap(outcome: CallOutcome): Uint8Array {
  if (outcome.status === 'replied') return outcome.reply;
  throw rejectedError(outcome);
}

function rejectedError(r: Rejection): CallRejectedError {
  return new CallRejectedError(r.rejectCode, r.rejectMessage, r.errorCode);
}
