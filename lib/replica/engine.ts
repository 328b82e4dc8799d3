// The deterministic execution engine: rounds, call contexts and callbacks, checkpoints and the
// trace. A round fires due global timers and heartbeats, then executes the messages queued when
// it began (message-queues.ts), canister by canister in an order drawn from the seeded PRNG, then
// what those executions sent. Time never moves by itself. Queries and inspect_message, which keep
// nothing, are in queries.ts.
import { createHash, type Hash } from 'node:crypto';
import { Principal } from '@dfinity/principal';
import type { Canister } from './canister.js';
import { executionFee, UPDATE_BASE_FEE } from './fees.js';
import { CanisterTrap, canisterNotFound, ErrorCode, RejectCode, invariant, reject, type Rejection } from './errors.js';
import { concatChunks, Execution, type ExecutionInput, type ExecutionKind, type OutgoingCall } from './execution.js';
import type { QueryHost } from './queries.js';
import { idText, inSubnetRange } from './canister-ids.js';
import { compositeQueryInReplicatedMode, methodNotFound, noReply, noRoute, trapRejection } from './rejections.js';
import { Faults } from './faults.js';
import { MessageQueues } from './message-queues.js';
export { MAX_QUEUE_MESSAGES } from './message-queues.js';
import { outcomeOf, type CallContext, type CallResult, type Callback, type Message, type Origin, type Request } from './messages.js';
import { shuffle, type Random } from '../random/prng.js';

/**
 * Passes a round makes over the messages its own executions sent (the IC bounds a round by
 * instructions); what is left runs in the next round.
 */
export const MAX_INNER_PASSES_PER_ROUND = 100;
export const MANAGEMENT_ID = Principal.managementCanister();
const MANAGEMENT_TEXT = MANAGEMENT_ID.toText();

export interface ManagementHandler {
  /** Handles a request to aaaaa-aa; calls `engine.settle` now or later (stop_canister waits). */
  handle(request: Request): void;
  /** Called when a canister may have finished stopping. */
  onContextsClosed(canister: Canister): void;
  /** Non-replicated query to aaaaa-aa (fetch_canister_logs). */
  query(sender: Principal, method: string, arg: Uint8Array): CallResult;
  /** A checkpoint was written: snapshots taken before it are on disk now. */
  onCheckpoint(): void;
}

/** How often the state is checkpointed: every N rounds, or once this much replica time passed. */
export interface CheckpointInterval {
  rounds: number;
  ns: bigint;
}

/** The IC's app subnets checkpoint every 500 rounds ("usually ten minutes", says its error text). */
export const DEFAULT_CHECKPOINT_INTERVAL: CheckpointInterval = { rounds: 500, ns: 10n * 60n * 1_000_000_000n };

export class Engine implements QueryHost {
  readonly canisters = new Map<string, Canister>();
  readonly contexts = new Map<number, CallContext>();
  readonly callbacks = new Map<number, Callback>();
  readonly faults = new Faults();
  management!: ManagementHandler;
  round = 0;
  /** Checkpoints written so far, and the round and time of the last one. */
  checkpoints = 0;
  private lastCheckpoint = { round: 0, time: 0n };
  private readonly queues = new MessageQueues();
  private nextId = 1;
  /** Ingress answers of the round in progress, handed out when it ends (undefined between rounds). */
  private roundIngress?: Array<() => void>;
  private traceHash: Hash = createHash('sha256');
  traceLength = 0;
  /** Inter-canister requests made so far, by method: how many and their argument bytes (benchmarks read it). */
  readonly sentRequests = new Map<string, { calls: number; bytes: number }>();

  constructor(
    readonly random: Random,
    public time: bigint,
    /** Per-kind instruction limits (INSTRUCTION_LIMITS unless a test lowers them). */
    readonly limits: Record<ExecutionKind, bigint>,
    readonly checkpointInterval: CheckpointInterval = DEFAULT_CHECKPOINT_INTERVAL
  ) {
    invariant(checkpointInterval.rounds >= 1 && checkpointInterval.ns > 0n, 'checkpoint interval must be at least one round and positive time');
    this.lastCheckpoint.time = time;
  }

  /**
   * Writes a checkpoint: every canister's state and every snapshot is "on disk" from now on (a
   * snapshot of a canister with unflushed changes loads onto another canister only after one).
   */
  checkpoint(): void {
    this.checkpoints++;
    this.lastCheckpoint = { round: this.round, time: this.time };
    for (const c of this.canisters.values()) c.markCheckpointed();
    this.management.onCheckpoint();
    this.record(`checkpoint ${this.checkpoints}`);
  }

  private newId(): number {
    return this.nextId++;
  }

  /** SHA-256 over every execution so far (canister, kind, method, result, instructions). */
  traceDigest(): string {
    return this.traceHash.copy().digest('hex');
  }

  record(line: string): void {
    this.traceHash.update(`${this.round}|${line}\n`);
    this.traceLength++;
  }

  openContexts(canister: Canister): number {
    let n = 0;
    for (const ctx of this.contexts.values()) if (ctx.canister === canister) n++;
    return n;
  }

  /** Whether `from` may queue one more request to `to`, with `pending` more already made in this execution. */
  canEnqueue(from: Principal, to: Uint8Array, pending: number): boolean {
    return this.queues.canEnqueue(from, to, pending);
  }

  enqueue(message: Message): void {
    this.queues.enqueue(message, this.round);
  }

  /** True when some message or due timer is waiting (heartbeats alone do not count). */
  hasWork(): boolean {
    if (this.queues.hasWork(this.time)) return true;
    for (const c of this.canisters.values()) if (this.timerDue(c)) return true;
    for (const cb of this.callbacks.values()) if (cb.deadline !== 0n && cb.deadline <= this.time) return true;
    return false;
  }

  /**
   * One round: due timers and heartbeats, the messages queued when it began, then the messages
   * those executions sent (one-way notifications included), pass after pass, until none is left
   * or MAX_INNER_PASSES_PER_ROUND is reached. Ingress replies are handed out when the round ends,
   * as the IC certifies them with the round's state.
   */
  tick(): void {
    this.round++;
    invariant(this.roundIngress === undefined, 'tick() re-entered');
    const finished: Array<() => void> = [];
    this.roundIngress = finished;
    try {
      this.expireBestEffort();
      const keys = new Set(this.queues.receivers());
      for (const c of this.canisters.values()) if (this.timerDue(c) || c.hasExport('canister_heartbeat')) keys.add(c.idText);
      for (const key of shuffle(this.random, [...keys].sort())) {
        const canister = this.canisters.get(key);
        if (canister && this.timerDue(canister)) this.runSystemTask(canister, 'timer', 'canister_global_timer');
        if (canister?.status === 'running' && canister.hasExport('canister_heartbeat')) this.runSystemTask(canister, 'heartbeat', 'canister_heartbeat');
        for (const message of this.queues.takeForRound(key, this.time)) this.deliver(message);
      }
      for (let pass = 0; pass < MAX_INNER_PASSES_PER_ROUND && this.deliverSentThisRound(); pass++);
    } finally {
      this.roundIngress = undefined;
    }
    for (const answer of finished) answer();
    const since = this.lastCheckpoint;
    if (this.round - since.round >= this.checkpointInterval.rounds || this.time - since.time >= this.checkpointInterval.ns) this.checkpoint();
  }

  /** Delivers the undelayed messages sent during this round; false when there were none. */
  private deliverSentThisRound(): boolean {
    const taken = this.queues.takeSentIn(this.round, this.time);
    for (const key of shuffle(this.random, [...taken.keys()].sort())) for (const message of taken.get(key)!) this.deliver(message);
    return taken.size > 0;
  }

  private deliver(message: Message): void {
    if (message.kind === 'request') this.deliverRequest(message);
    else this.deliverResponse(message.callbackId, message.result, message.refund);
  }

  /** Answers the origin of a request (ingress waiter, calling canister, or nobody). */
  settle(origin: Origin, result: CallResult, refund: bigint): void {
    if (origin.kind === 'ingress') {
      const answer = (): void => origin.settle(outcomeOf(result));
      if (this.roundIngress) this.roundIngress.push(answer);
      else answer();
    }
    else if (origin.kind === 'canister') {
      this.enqueue({ kind: 'response', receiver: origin.caller, callbackId: origin.callbackId, result, refund });
    }
  }

  /** Queries to aaaaa-aa (QueryHost). */
  managementQuery(sender: Principal, method: string, arg: Uint8Array): CallResult {
    return this.management.query(sender, method, arg);
  }

  isManagement(id: Principal): boolean {
    return idText(id) === MANAGEMENT_TEXT;
  }

  /** A new execution of `kind` at the current time, with this replica's instruction limit. */
  execution(kind: ExecutionKind, input: Partial<ExecutionInput>): Execution {
    const defaults = { arg: new Uint8Array(0), caller: MANAGEMENT_ID.toUint8Array(), methodName: '', time: this.time, cyclesAvailable: 0n, cyclesRefunded: 0n, alreadyResponded: false, deadline: 0n, contextInstructions: 0n };
    return new Execution({ kind, ...defaults, ...input }, this.limits[kind]);
  }

  /** Rejects every open call context of a canister (uninstall/reinstall), as the IC does. */
  rejectOpenContexts(canister: Canister, message: string): void {
    for (const ctx of [...this.contexts.values()]) {
      if (ctx.canister !== canister) continue;
      if (!ctx.responded) this.respond(ctx, { reject: reject(RejectCode.CanisterReject, ErrorCode.CanisterWasmModuleNotFound, message) });
      this.contexts.delete(ctx.id);
    }
    for (const [id, cb] of this.callbacks) if (cb.canister === canister) this.callbacks.delete(id);
    this.management.onContextsClosed(canister);
  }

  /** Why a message to this canister cannot run, or undefined. */
  refuse(canister: Canister | undefined, id: Principal, isQuery = false): Rejection | undefined {
    if (!canister || canister.deleted) return canisterNotFound(id.toText());
    if (canister.status === 'stopped') return reject(RejectCode.CanisterError, ErrorCode.CanisterStopped, `Canister ${id.toText()} is stopped`);
    if (canister.status === 'stopping' && !isQuery) return reject(RejectCode.CanisterError, ErrorCode.CanisterStopping, `Canister ${id.toText()} is stopping`);
    if (!canister.module) return reject(RejectCode.CanisterError, ErrorCode.CanisterWasmModuleNotFound, `Canister ${id.toText()} has no Wasm module installed; install code first`);
    return undefined;
  }

  private deliverRequest(request: Request): void {
    if (this.isManagement(request.receiver)) return this.management.handle(request);
    const canister = this.canisters.get(idText(request.receiver));
    const fail = (r: Rejection): void => this.settle(request.origin, { reject: r }, request.cycles);
    const refusal = this.refuse(canister, request.receiver);
    if (refusal) return fail(refusal);
    const c = canister!;
    let entry = `canister_update ${request.method}`;
    let kind: ExecutionKind = 'update';
    if (!c.hasExport(entry)) {
      entry = `canister_query ${request.method}`;
      kind = 'replicated_query';
      if (c.hasExport(`canister_composite_query ${request.method}`)) {
        return fail(compositeQueryInReplicatedMode(c.idText, request.method));
      }
      if (!c.hasExport(entry)) return fail(methodNotFound(c.idText, 'update', request.method));
    }
    if (c.cycles < UPDATE_BASE_FEE) {
      return fail(reject(RejectCode.SysTransient, ErrorCode.CanisterOutOfCycles, `Canister ${c.idText} is out of cycles: it has ${c.cycles} and needs at least ${UPDATE_BASE_FEE}; top it up with deposit_cycles`));
    }
    const ctx = this.newContext(c, request.origin, request.sender.toUint8Array(), request.method, request.cycles, request.deadline);
    const exec = this.execution(kind, { arg: request.arg, caller: request.sender.toUint8Array(), methodName: request.method, cyclesAvailable: request.cycles, deadline: request.deadline });
    const injected = this.faults.onExecute(c.idText, request.method);
    this.finish(ctx, exec, injected ? { trap: injected, instructions: 0n } : c.execute(exec, entry), undefined, request.method);
  }

  private deliverResponse(callbackId: number, result: CallResult, refund: bigint): void {
    const cb = this.callbacks.get(callbackId);
    if (!cb) return; // best-effort call already answered by its deadline
    this.callbacks.delete(callbackId);
    const c = cb.canister;
    c.cycles += refund;
    const ctx = this.contexts.get(cb.contextId);
    if (!ctx) return;
    invariant(ctx.outstanding > 0, `response for call context ${ctx.id} that has no outstanding call`);
    ctx.outstanding--;
    if (c.deleted || cb.moduleGeneration !== c.generation || !c.module) {
      // The code that made the call is gone: the context can only be closed.
      if (!ctx.responded && ctx.outstanding === 0) this.respond(ctx, { reject: reject(RejectCode.CanisterError, ErrorCode.CanisterWasmModuleNotFound, `Canister ${c.idText} no longer has the code that made this call`) });
      return this.closeIfDone(ctx);
    }
    const kind = 'reply' in result ? 'reply' : 'reject';
    const exec = this.execution(kind, {
      arg: 'reply' in result ? result.reply : new Uint8Array(0),
      rejection: 'reject' in result ? result.reject : undefined,
      caller: ctx.caller,
      methodName: ctx.methodName,
      cyclesAvailable: ctx.cyclesAvailable - ctx.cyclesAccepted,
      cyclesRefunded: refund,
      alreadyResponded: ctx.responded,
      deadline: ctx.deadline,
      contextInstructions: ctx.instructions
    });
    const entry = kind === 'reply' ? { fun: cb.call.replyFun, env: cb.call.replyEnv } : { fun: cb.call.rejectFun, env: cb.call.rejectEnv };
    this.finish(ctx, exec, c.execute(exec, entry), cb, `${kind}<${cb.call.method}`);
  }

  private finish(ctx: CallContext, exec: Execution, outcome: { trap?: CanisterTrap; instructions: bigint }, cb: Callback | undefined, label: string): void {
    const c = ctx.canister;
    ctx.instructions += outcome.instructions;
    const fee = exec.replicated ? executionFee(outcome.instructions) : 0n;
    c.cycles = c.cycles > fee ? c.cycles - fee : 0n;
    this.record(`${c.idText} ${exec.kind} ${label} ${outcome.trap ? outcome.trap.errorCode : 'ok'} ${outcome.instructions} ${responseDigest(exec)}`);
    if (outcome.trap) {
      if (cb?.call.cleanup) {
        const cleanup = this.execution('cleanup', { rejection: exec.input.rejection, caller: ctx.caller, methodName: ctx.methodName, contextInstructions: ctx.instructions });
        const r = c.execute(cleanup, cb.call.cleanup);
        ctx.instructions += r.instructions;
        this.record(`${c.idText} cleanup ${label} ${r.trap ? r.trap.errorCode : 'ok'}`);
      }
      if (!ctx.responded && ctx.outstanding === 0) this.respond(ctx, { reject: trapRejection(c.idText, outcome.trap) });
    } else {
      if (exec.commits) c.bumpVersion(); // every successful replicated execution bumps canister_version
      ctx.cyclesAccepted += exec.cyclesAccepted;
      for (const call of exec.calls) this.makeCall(ctx, call);
      if (exec.response) this.respond(ctx, exec.response);
      if (!ctx.responded && ctx.outstanding === 0) this.respond(ctx, { reject: noReply(c.idText) });
    }
    this.closeIfDone(ctx);
  }

  private closeIfDone(ctx: CallContext): void {
    if (ctx.responded && ctx.outstanding === 0 && this.contexts.delete(ctx.id)) this.management.onContextsClosed(ctx.canister);
  }

  private respond(ctx: CallContext, result: CallResult): void {
    invariant(!ctx.responded, `call context ${ctx.id} answered twice`);
    invariant(ctx.cyclesAccepted <= ctx.cyclesAvailable, `call context ${ctx.id} accepted more cycles than it was given`);
    ctx.responded = true;
    this.settle(ctx.origin, result, ctx.cyclesAvailable - ctx.cyclesAccepted);
  }

  private makeCall(ctx: CallContext, call: OutgoingCall): void {
    const c = ctx.canister;
    const deadline = call.timeoutSeconds ? this.time + BigInt(call.timeoutSeconds) * 1_000_000_000n : 0n;
    const cb: Callback = { id: this.newId(), canister: c, contextId: ctx.id, call, deadline, moduleGeneration: c.generation };
    this.callbacks.set(cb.id, cb);
    ctx.outstanding++;
    const request: Request = {
      kind: 'request',
      sender: c.id,
      receiver: Principal.fromUint8Array(call.callee),
      method: call.method,
      arg: concatChunks(call.arg),
      cycles: call.cycles,
      origin: { kind: 'canister', caller: c.id, callbackId: cb.id },
      deadline
    };
    const sent = this.sentRequests.get(call.method) ?? { calls: 0, bytes: 0 };
    this.sentRequests.set(call.method, { calls: sent.calls + 1, bytes: sent.bytes + request.arg.length });
    const injected = this.faults.onSend(request, this.time);
    if (injected) this.settle(request.origin, { reject: injected }, request.cycles);
    else if (!this.isManagement(request.receiver) && !inSubnetRange(request.receiver)) this.settle(request.origin, { reject: noRoute(request.receiver.toText()) }, request.cycles);
    else this.enqueue(request);
  }

  private newContext(c: Canister, origin: Origin, caller: Uint8Array, methodName: string, cycles: bigint, deadline: bigint): CallContext {
    const ctx: CallContext = { id: this.newId(), canister: c, origin, caller, methodName, cyclesAvailable: cycles, cyclesAccepted: 0n, responded: origin.kind === 'system', outstanding: 0, deadline, instructions: 0n };
    this.contexts.set(ctx.id, ctx);
    return ctx;
  }

  private runSystemTask(c: Canister, kind: 'timer' | 'heartbeat', entry: string): void {
    if (kind === 'timer') c.state.globalTimer = 0n; // fires once, stays cleared even if it traps
    if (!c.hasExport(entry) || c.cycles < UPDATE_BASE_FEE) return;
    const ctx = this.newContext(c, { kind: 'system' }, c.id.toUint8Array(), entry, 0n, 0n);
    const exec = this.execution(kind, { caller: MANAGEMENT_ID.toUint8Array(), methodName: entry });
    this.finish(ctx, exec, c.execute(exec, entry), undefined, entry);
  }

  private timerDue(c: Canister): boolean {
    return c.status === 'running' && !!c.module && c.state.globalTimer !== 0n && c.state.globalTimer <= this.time;
  }

  private expireBestEffort(): void {
    for (const cb of this.callbacks.values()) {
      if (cb.deadline === 0n || cb.deadline > this.time) continue;
      cb.deadline = 0n;
      this.enqueue({ kind: 'response', receiver: cb.canister.id, callbackId: cb.id, result: { reject: reject(RejectCode.SysUnknown, ErrorCode.DeadlineExpired, 'Call deadline has expired.') }, refund: 0n });
    }
  }
}

function responseDigest(exec: Execution): string {
  const r = exec.response;
  if (!r) return '-';
  if ('reject' in r) return `reject:${r.reject.rejectMessage}`;
  return createHash('sha256').update(r.reply).digest('hex').slice(0, 16);
}
