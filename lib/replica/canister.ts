// One canister: its committed state and the atomic execution of one entry point. The live Wasm
// instance is a cache of the committed state (heap pages, mutable globals): after every
// execution the two are equal again (commit copies live -> committed, a trap or a query copies
// committed -> live), so an idle canister can drop its instance (hibernate) at no cost and be
// re-instantiated from the committed copy on demand.
import { Principal } from '@dfinity/principal';
import { CanisterTrap, ErrorCode, invariant } from './errors.js';
import type { Execution } from './execution.js';
import { CanisterHistory } from './canister-history.js';
import { CanisterLog } from './canister-logs.js';
import { DirtyPages } from './dirty-pages.js';
import { CALL_BASE_FEE, CALL_BYTE_FEE } from './fees.js';
import { HeapStore } from './heap.js';
import { BUDGET_EXPORT } from './instrument.js';
import { STRADDLE_BYTES } from './write-barrier.js';
import type { LoadedModule } from './module-cache.js';
import { StableMemory, WASM_PAGE } from './stable-memory.js';
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
  /** The write barrier's marks (absent for memory64 modules: every page is compared). */
  dirty?: DirtyPages;
}

export interface CanisterEnvironment {
  canEnqueue(from: Principal, to: Uint8Array, pending: number): boolean;
  /** Called when the canister instantiates, so the replica can hibernate others. */
  touched(canister: Canister): void;
  /** Sees every debug_print and trap message (e.g. to print them like dfx/PocketIC do). */
  log?(canister: Canister, line: string): void;
  /** After every execution, compare the whole heap with the committed state (tests of the write barrier). */
  verifyWriteBarrier?: boolean;
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
  readonly log = new CanisterLog();
  /** Whether committed state changed since the last checkpoint (the IC's unflushed page deltas). */
  private changedSinceCheckpoint = false;
  private live?: LiveInstance;
  private current?: Execution;
  /** Heap pages written since beginTentative (incomplete: some execution had no marks). */
  private tentative?: { pages: Set<number>; complete: boolean };

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
    const bytes = principal instanceof Principal ? principal.toUint8Array() : principal;
    return this.settings.controllers.some((c) => Buffer.compare(c.toUint8Array(), bytes) === 0);
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
   * Starts executions whose commits are undone at the end (a composite query's node on this
   * canister): returns the state restoreTo goes back to, and collects the pages they write.
   */
  beginTentative(): ExecutionState {
    invariant(!this.tentative, `canister ${this.idText} is already running tentatively`);
    this.tentative = { pages: new Set(), complete: true };
    return this.cloneState();
  }

  /**
   * Goes back to the state beginTentative returned (end of a composite query node): the live
   * instance is rolled back in place, over the pages written since, instead of re-instantiated.
   */
  restoreTo(saved: ExecutionState): void {
    const live = this.live;
    const tentative = this.tentative;
    this.tentative = undefined;
    this.state = saved;
    if (live && saved.module === live.module) this.rollback(live, tentative?.complete ? [...tentative.pages] : undefined);
    else this.live = undefined;
    this.verifyHeap('end of a composite query');
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
    live.dirty?.take(live.memory.buffer.byteLength / WASM_PAGE); // committed as a whole
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
    const written = this.writtenPages(live);
    if (this.tentative) {
      if (written) for (const p of written) this.tentative.pages.add(p);
      else this.tentative.complete = false;
    }
    if (trap || !exec.commits) this.rollback(live, written);
    else this.commit(exec, live, written);
    this.verifyHeap(`${exec.kind} ${exec.input.methodName}`);
    return { trap, instructions };
  }

  /** The heap pages the execution may have changed (undefined without a write barrier); clears the marks. */
  private writtenPages(live: LiveInstance): number[] | undefined {
    const taken = live.dirty?.take(live.memory.buffer.byteLength / WASM_PAGE);
    return taken && this.state.heap.withChangedHeads(live.memory, taken.marked, taken.heads, STRADDLE_BYTES);
  }

  /** With verifyWriteBarrier: the live heap must equal the committed one after every commit or rollback. */
  private verifyHeap(after: string): void {
    if (!this.env.verifyWriteBarrier || !this.live) return;
    const page = this.state.heap.firstDifference(this.live.memory);
    invariant(page < 0, `write barrier missed heap page ${page} of canister ${this.idText} (${after})`);
  }

  /** Canister logs survive traps, as on the IC (they are how a developer learns why). */
  private appendLogs(exec: Execution, trap: CanisterTrap | undefined): void {
    const lines = trap ? [...exec.logs, `[TRAP]: ${trap.message}`] : exec.logs;
    this.log.append(lines, exec.input.time);
    for (const line of lines) this.env.log?.(this, line);
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

  private commit(exec: Execution, live: LiveInstance, written: readonly number[] | undefined): void {
    this.changedSinceCheckpoint = true;
    this.state.heap.commit(live.memory, written);
    invariant(this.state.heap.byteLength === live.memory.buffer.byteLength, 'committed heap size differs from the live memory');
    invariant(exec.cyclesAccepted >= 0n && exec.cyclesBurned >= 0n && exec.cyclesSent >= 0n, 'negative cycles movement');
    this.state.globals = live.globals.map((g) => g.value);
    this.state.stable.commit();
    if (exec.certifiedData) this.state.certifiedData = exec.certifiedData;
    if (exec.timer !== undefined) this.state.globalTimer = exec.timer;
    this.cycles += exec.cyclesAccepted - exec.cyclesBurned - exec.cyclesSent;
  }

  /** `written`: the pages the execution may have changed (undefined: compare every page). */
  private rollback(live: LiveInstance, written: readonly number[] | undefined): void {
    this.state.stable.rollback();
    if (!this.state.heap.restore(live.memory, written)) {
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
    let heapView: Uint8Array | undefined; // one view per buffer: memory.grow detaches the old one
    const api = createSystemApi({
      exec: () => {
        if (!this.current) throw new CanisterTrap('System API called outside of an execution (start function?)', ErrorCode.CanisterContractViolation);
        return this.current;
      },
      memory: () => {
        const buffer = this.live!.memory.buffer;
        if (heapView?.buffer !== buffer) heapView = new Uint8Array(buffer);
        return heapView;
      },
      written: (ptr, length) => this.live!.dirty?.mark(ptr, length),
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
      table: module.tableExport ? (exports[module.tableExport] as WebAssembly.Table) : undefined,
      dirty: module.barrier ? DirtyPages.of(exports) : undefined
    };
    this.env.touched(this);
    return this.live;
  }
}

function limitTrap(exec: Execution): CanisterTrap {
  return new CanisterTrap(`Canister exceeded the limit of ${exec.limit} instructions for single message execution.`, ErrorCode.CanisterInstructionLimitExceeded);
}
