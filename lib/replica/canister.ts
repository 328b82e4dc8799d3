// One canister: its committed state and the atomic execution of one entry point. The live Wasm
// instance is a cache of the committed state (heap pages, mutable globals): after every
// execution the two are equal again (commit copies live -> committed, a trap or a query copies
// committed -> live), so an idle canister can drop its instance (hibernate) at no cost and be
// re-instantiated from the committed copy on demand.
import { Principal } from '@dfinity/principal';
import { CanisterTrap, ErrorCode, invariant } from './errors.js';
import type { Execution } from './execution.js';
import { CanisterHistory } from './canister-history.js';
import { HeapStore } from './heap.js';
import { BUDGET_EXPORT } from './instrument.js';
import type { LoadedModule } from './module-cache.js';
import { StableMemory } from './stable-memory.js';
import { createSystemApi, ic0Imports } from './system-api.js';

export type CanisterStatus = 'running' | 'stopping' | 'stopped';

export interface CanisterSettings {
  controllers: Principal[];
  computeAllocation: bigint;
  memoryAllocation: bigint;
  freezingThreshold: bigint;
  reservedCyclesLimit: bigint;
  logVisibility: 'controllers' | 'public';
  wasmMemoryLimit: bigint;
  wasmMemoryThreshold: bigint;
}

export const MAX_CONTROLLERS = 10;
/** Canister log records kept per canister (oldest dropped first), served by fetch_canister_logs. */
export const MAX_LOG_RECORDS = 1000;

export interface LogRecord {
  idx: bigint;
  timestamp_nanos: bigint;
  content: Uint8Array;
}
/** Cycles: base fee of a call and per payload byte (13-node subnet prices). */
export const CALL_BASE_FEE = 260_000n;
export const CALL_BYTE_FEE = 1_000n;
/** Fees on a 13-node subnet: base fee per update execution, and cycles per 10 instructions. */
export const UPDATE_BASE_FEE = 5_000_000n;
export const FEE_PER_10_INSTRUCTIONS = 4n;

/** Cycles a replicated execution costs: its base fee plus its metered instructions. */
export function executionFee(instructions: bigint, baseFee = UPDATE_BASE_FEE): bigint {
  return baseFee + (instructions * FEE_PER_10_INSTRUCTIONS) / 10n;
}

/** Wasm-visible state; cloned (O(pages)) by snapshots and to make install/upgrade atomic. */
export interface ExecutionState {
  module?: LoadedModule;
  heap: HeapStore;
  globals: (number | bigint)[];
  stable: StableMemory;
  certifiedData: Uint8Array;
  globalTimer: bigint;
}

/** O(pages) copy of a state: heap and stable pages are shared copy-on-write. */
export function cloneExecutionState(s: ExecutionState): ExecutionState {
  return { ...s, heap: s.heap.clone(), globals: [...s.globals], stable: s.stable.clone(), certifiedData: s.certifiedData.slice() };
}

export interface ExecutionOutcome {
  trap?: CanisterTrap;
  instructions: bigint;
}

interface LiveInstance {
  module: LoadedModule;
  instance: WebAssembly.Instance;
  memory: WebAssembly.Memory;
  globals: WebAssembly.Global[];
  budget: WebAssembly.Global;
  table?: WebAssembly.Table;
}

export interface CanisterEnvironment {
  canEnqueue(from: Principal, to: Uint8Array, pending: number): boolean;
  /** Called when the canister instantiates, so the replica can hibernate others. */
  touched(canister: Canister): void;
  /** Sees every debug_print and trap message (e.g. to print them like dfx/PocketIC do). */
  log?(canister: Canister, line: string): void;
}

export class Canister {
  readonly idText: string;
  #status: CanisterStatus = 'running';
  #version = 0n;
  state: ExecutionState;
  readonly chunkStore = new Map<string, Uint8Array>();
  /** Changes for canister_info (creation, deployments, controllers, snapshot loads). */
  readonly history = new CanisterHistory();
  /** Bumped by install/reinstall/uninstall/snapshot load: callbacks made before are dropped. */
  generation = 0;
  deleted = false;
  /** Instructions of every execution so far, queries and traps included (benchmarks read it). */
  instructionsExecuted = 0n;
  readonly logs: LogRecord[] = [];
  private nextLogIndex = 0n;
  /** Whether committed state changed since the last checkpoint (the IC's unflushed page deltas). */
  private changedSinceCheckpoint = false;
  private live?: LiveInstance;
  private current?: Execution;

  constructor(
    readonly id: Principal,
    public settings: CanisterSettings,
    public cycles: bigint,
    private readonly env: CanisterEnvironment
  ) {
    this.idText = id.toText();
    this.state = Canister.emptyState();
  }

  static emptyState(): ExecutionState {
    return { heap: new HeapStore(), globals: [], stable: new StableMemory(), certifiedData: new Uint8Array(0), globalTimer: 0n };
  }

  get status(): CanisterStatus {
    return this.#status;
  }

  /** canister_version: bumped by every successful replicated execution and every management change. */
  get version(): bigint {
    return this.#version;
  }

  bumpVersion(): void {
    this.#version++;
  }

  /** stop_canister: a running canister starts stopping (a stopping one stays so). */
  beginStopping(): void {
    invariant(this.#status !== 'stopped', `canister ${this.idText} is already stopped`);
    this.#status = 'stopping';
  }

  /** The last call context of a stopping canister closed. */
  finishStopping(): void {
    invariant(this.#status === 'stopping', `canister ${this.idText} finished stopping while ${this.#status}`);
    this.#status = 'stopped';
  }

  /** start_canister: from any status (a stopping canister's stop is cancelled by the caller). */
  start(): void {
    this.#status = 'running';
  }

  get module(): LoadedModule | undefined {
    return this.state.module;
  }

  isController(principal: Principal | Uint8Array): boolean {
    const text = principal instanceof Principal ? principal.toText() : Principal.fromUint8Array(principal).toText();
    return this.settings.controllers.some((c) => c.toText() === text);
  }

  hasExport(name: string): boolean {
    return this.state.module?.exports.has(name) ?? false;
  }

  /** Drops the live instance; the committed state stays. */
  hibernate(): void {
    invariant(!this.current, `canister ${this.idText} hibernated during an execution`);
    this.live = undefined;
  }

  /** O(pages) copy of the Wasm-visible state. */
  cloneState(): ExecutionState {
    return cloneExecutionState(this.state);
  }

  /** Replaces the whole Wasm-visible state (install, snapshot load, rollback of an upgrade). */
  setState(state: ExecutionState): void {
    this.live = undefined;
    this.state = state;
    this.changedSinceCheckpoint = true;
  }

  /** True when the state changed after the last checkpoint: a snapshot of it is not yet on disk. */
  get unflushed(): boolean {
    return this.changedSinceCheckpoint;
  }

  /** A checkpoint wrote the committed state out (Engine.checkpoint is the only caller). */
  markCheckpointed(): void {
    this.changedSinceCheckpoint = false;
  }

  /**
   * Goes back to a state cloned earlier from this canister with the same module (end of a
   * composite query): the live instance is rolled back in place instead of re-instantiated.
   */
  restoreTo(saved: ExecutionState): void {
    const live = this.live;
    this.state = saved;
    if (live && saved.module === live.module) this.rollback(live);
    else this.live = undefined;
  }

  /** Installs a module with a fresh heap (or the old one, for `keep`); stable memory untouched. */
  installModule(module: LoadedModule, keepHeap: boolean): void {
    const old = this.state;
    this.live = undefined;
    this.changedSinceCheckpoint = true;
    this.state = { ...old, module, heap: new HeapStore(), globals: [], certifiedData: old.certifiedData, globalTimer: 0n };
    const live = this.instantiate(module);
    if (keepHeap) {
      old.heap.load(live.memory);
      this.state.heap = old.heap.clone();
    } else this.state.heap = HeapStore.capture(live.memory);
    this.state.globals = live.globals.map((g) => g.value);
  }

  /** Runs one entry point (an export name, or a table index + env for callbacks) atomically. */
  execute(exec: Execution, entry: string | { fun: number; env: number }): ExecutionOutcome {
    invariant(this.state.module, `execution on canister ${this.idText}, which has no module`);
    invariant(!this.current, `re-entrant execution on ${this.idText}`);
    const live = this.ensureLive();
    this.current = exec;
    live.budget.value = exec.limit;
    let trap: CanisterTrap | undefined;
    try {
      if (typeof entry === 'string') (live.instance.exports[entry] as () => void)();
      else {
        const fn = live.table?.get(entry.fun >>> 0) as ((env: number) => void) | null | undefined;
        if (typeof fn !== 'function') throw new CanisterTrap(`callback function index ${entry.fun} is not in the table`, ErrorCode.CanisterTrapped);
        fn(entry.env);
      }
    } catch (error) {
      trap = this.toTrap(error, exec, live);
    }
    const instructions = this.instructionsUsed(exec, live);
    if (!trap && instructions > exec.limit) trap = limitTrap(exec);
    this.current = undefined;
    this.instructionsExecuted += instructions;
    this.appendLogs(exec, trap);
    if (trap || !exec.commits) this.rollback(live);
    else this.commit(exec, live);
    return { trap, instructions };
  }

  /** Canister logs survive traps, as on the IC (they are how a developer learns why). */
  private appendLogs(exec: Execution, trap: CanisterTrap | undefined): void {
    const lines = trap ? [...exec.logs, `[TRAP]: ${trap.message}`] : exec.logs;
    for (const line of lines) {
      this.logs.push({ idx: this.nextLogIndex++, timestamp_nanos: exec.input.time, content: new TextEncoder().encode(line) });
      this.env.log?.(this, line);
    }
    if (this.logs.length > MAX_LOG_RECORDS) this.logs.splice(0, this.logs.length - MAX_LOG_RECORDS);
  }

  /** Metered Wasm and System API charges alike come out of the budget global, as on the IC. */
  private instructionsUsed(exec: Execution, live: LiveInstance): bigint {
    return exec.limit - (live.budget.value as bigint);
  }

  private charge(instructions: bigint): void {
    const live = this.live!;
    live.budget.value = (live.budget.value as bigint) - instructions;
    if ((live.budget.value as bigint) < 0n) throw limitTrap(this.current!);
  }

  private toTrap(error: unknown, exec: Execution, live: LiveInstance): CanisterTrap {
    if (error instanceof CanisterTrap) return error;
    if ((live.budget.value as bigint) < 0n) return limitTrap(exec);
    if (error instanceof WebAssembly.RuntimeError) return new CanisterTrap(`Canister trapped: ${error.message}`, ErrorCode.CanisterTrapped);
    if (error instanceof RangeError && /call stack/i.test(error.message)) return new CanisterTrap('Canister trapped: stack overflow', ErrorCode.CanisterTrapped);
    // A bug in the replica surfaces as a trap of this message rather than crashing the replica.
    return new CanisterTrap(`Canister trapped: local replica internal error: ${(error as Error)?.stack ?? String(error)}`, ErrorCode.CanisterTrapped);
  }

  private commit(exec: Execution, live: LiveInstance): void {
    this.changedSinceCheckpoint = true;
    this.state.heap.commit(live.memory);
    invariant(this.state.heap.byteLength === live.memory.buffer.byteLength, 'committed heap size differs from the live memory');
    invariant(exec.cyclesAccepted >= 0n && exec.cyclesBurned >= 0n && exec.cyclesSent >= 0n, 'negative cycles movement');
    this.state.globals = live.globals.map((g) => g.value);
    this.state.stable.commit();
    if (exec.certifiedData) this.state.certifiedData = exec.certifiedData;
    if (exec.timer !== undefined) this.state.globalTimer = exec.timer;
    this.cycles += exec.cyclesAccepted - exec.cyclesBurned - exec.cyclesSent;
  }

  private rollback(live: LiveInstance): void {
    this.state.stable.rollback();
    if (!this.state.heap.restore(live.memory)) {
      this.live = undefined;
      return;
    }
    live.globals.forEach((g, i) => (g.value = this.state.globals[i]));
  }

  private ensureLive(): LiveInstance {
    if (this.live) return this.live;
    const live = this.instantiate(this.state.module!);
    this.state.heap.load(live.memory);
    live.globals.forEach((g, i) => (g.value = this.state.globals[i]));
    return live;
  }

  private instantiate(module: LoadedModule): LiveInstance {
    const api = createSystemApi({
      exec: () => {
        if (!this.current) throw new CanisterTrap('System API called outside of an execution (start function?)', ErrorCode.CanisterContractViolation);
        return this.current;
      },
      memory: () => new Uint8Array(this.live!.memory.buffer),
      selfId: this.id.toUint8Array(),
      balance: () => this.cycles,
      status: () => (this.status === 'running' ? 1 : this.status === 'stopping' ? 2 : 3),
      version: () => this.version,
      stable: () => this.state.stable,
      timer: () => this.state.globalTimer,
      isController: (p) => this.isController(p),
      instructionsUsed: () => this.instructionsUsed(this.current!, this.live!),
      charge: (instructions) => this.charge(instructions),
      costCall: (name, payload) => CALL_BASE_FEE + CALL_BYTE_FEE * (name + payload),
      canEnqueue: (to, pending) => this.env.canEnqueue(this.id, to, pending)
    });
    const instance = new WebAssembly.Instance(module.module, ic0Imports(module.module, api));
    const exports = instance.exports;
    const memory = exports[module.memoryExport] as WebAssembly.Memory;
    invariant(memory instanceof WebAssembly.Memory, `export ${module.memoryExport} of a loaded module is not its memory`);
    this.live = {
      module,
      instance,
      memory,
      globals: module.globalExports.map((n) => exports[n] as WebAssembly.Global),
      budget: exports[BUDGET_EXPORT] as WebAssembly.Global,
      table: module.tableExport ? (exports[module.tableExport] as WebAssembly.Table) : undefined
    };
    this.env.touched(this);
    return this.live;
  }
}

function limitTrap(exec: Execution): CanisterTrap {
  return new CanisterTrap(`Canister exceeded the limit of ${exec.limit} instructions for single message execution.`, ErrorCode.CanisterInstructionLimitExceeded);
}
