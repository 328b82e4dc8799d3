// The management canister (aaaaa-aa): canister lifecycle, code installation, cycles, randomness.
// Snapshots live in snapshots.ts. Every method decodes its Candid argument with the spec's types,
// checks controller and status rules with the spec's reject codes, and answers through
// `engine.settle` (stop_canister answers later, once the canister's call contexts are closed).
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { Canister, MAX_CONTROLLERS, type CanisterSettings } from './canister.js';
import { canisterNotFound, ErrorCode, InvalidWasmError, RejectCode, reject } from './errors.js';
import { MANAGEMENT_METHODS, type ManagementMethod } from './management-idl.js';
import type { CallResult, Request } from './messages.js';
import { loadModule, sha256, type LoadedModule, type ModuleOptions } from './module-cache.js';
import { randomBytes } from '../random/prng.js';
import { Engine, MANAGEMENT_ID, type ManagementHandler } from './engine.js';
import { SnapshotManager } from './snapshots.js';
import { CHUNK_BYTES } from './chunked-install.js';
import { installCode } from './install.js';
import { Refusal, refuse, refuseWith, type CanisterGate, type ManagementCall } from './management-call.js';
import { fromCandidInstallMode } from './install-mode.js';
import { canisterIdAt } from './canister-ids.js';
import { changeRecord, type ChangeDetails, type ChangeOrigin } from './canister-history.js';
import { managementMethodNotFound } from './rejections.js';

export const DEFAULT_PROVISIONAL_CYCLES = 100_000_000_000_000n;
export const CANISTER_CREATION_FEE = 500_000_000_000n;
/** Chunk store capacity: the IC's 100 MiB Wasm limit in 1 MiB chunk slots. */
export const MAX_CHUNKS_PER_STORE = 100;
/** Settings of a new canister besides its controllers (the IC's defaults). */
const DEFAULT_SETTINGS: Omit<CanisterSettings, 'controllers'> = {
  computeAllocation: 0n,
  memoryAllocation: 0n,
  freezingThreshold: 2_592_000n, // 30 days
  reservedCyclesLimit: 5_000_000_000_000n,
  logVisibility: 'controllers',
  wasmMemoryLimit: 3n * 1024n ** 3n,
  wasmMemoryThreshold: 0n
};
/** Methods only canisters may call (ingress is refused, as on mainnet). */
const CANISTER_ONLY = new Set(['create_canister', 'raw_rand', 'deposit_cycles', 'canister_info']);

export class Management implements ManagementHandler, CanisterGate {
  private nextCanisterIndex = 0n;
  private stopWaiters = new Map<string, Request[]>();
  readonly snapshots: SnapshotManager;

  constructor(
    private readonly engine: Engine,
    private readonly modules: ModuleOptions = {}
  ) {
    this.snapshots = new SnapshotManager(engine, this);
  }

  /** Instruments and compiles a module as this replica was configured to (module-cache.ts). */
  loadModule(wasm: Uint8Array): LoadedModule {
    return loadModule(wasm, this.modules);
  }

  handle(request: Request): void {
    const method = request.method as ManagementMethod;
    let accepted = 0n;
    const answer = (result: CallResult): void => this.engine.settle(request.origin, result, request.cycles - accepted);
    try {
      const types = MANAGEMENT_METHODS[method];
      if (!types) refuseWith(managementMethodNotFound(request.method));
      if (request.origin.kind === 'ingress' && CANISTER_ONLY.has(method)) {
        refuse(RejectCode.CanisterReject, ErrorCode.CanisterRejectedMessage, `Only canisters can call ic00 method ${method}`);
      }
      const args = decodeArg(method, types[0], request.arg);
      const ecid = request.effectiveCanisterId;
      const target = args.canister_id ?? args.target_canister;
      if (request.origin.kind === 'ingress' && ecid && ecid.toText() !== MANAGEMENT_ID.toText() && target instanceof Principal && target.toText() !== ecid.toText()) {
        refuse(RejectCode.CanisterReject, ErrorCode.CanisterRejectedMessage, `effective canister id ${ecid.toText()} does not match the canister_id ${target.toText()} of the ${method} argument`);
      }
      const fromCanister = this.engine.canisters.has(request.sender.toText());
      const origin: ChangeOrigin = fromCanister ? { kind: 'canister', id: request.sender, version: args.sender_canister_version?.[0] } : { kind: 'user', id: request.sender };
      const call: ManagementCall = { request, caller: request.sender, args, origin, accept: (n) => (accepted = n) };
      const result = this.dispatch(method, call);
      if (result === 'pending') return;
      answer({ reply: new Uint8Array(IDL.encode(types[1], result)) });
    } catch (error) {
      if (error instanceof Refusal) return answer({ reject: error.rejection });
      if (error instanceof InvalidWasmError) {
        return answer({ reject: reject(RejectCode.CanisterError, ErrorCode.CanisterInvalidWasm, `Wasm module of canister is not valid: ${error.message}`) });
      }
      // A bug here must not take the replica down: the caller gets a rejection naming it.
      answer({ reject: reject(RejectCode.SysFatal, ErrorCode.CanisterContractViolation, `local replica internal error in ic00 method ${method}: ${(error as Error)?.stack ?? String(error)}`) });
    }
  }

  /** Queries to aaaaa-aa: only fetch_canister_logs exists (controllers, or anyone when public). */
  query(sender: Principal, method: string, arg: Uint8Array): CallResult {
    try {
      if (method !== 'fetch_canister_logs') refuseWith(managementMethodNotFound(method));
      const [types, results] = MANAGEMENT_METHODS.fetch_canister_logs;
      const c = this.canister(decodeArg(method, types, arg).canister_id);
      if (c.settings.logVisibility !== 'public' && !c.isController(sender)) {
        refuse(RejectCode.CanisterReject, ErrorCode.CanisterRejectedMessage, `Caller ${sender.toText()} is not allowed to read the logs of canister ${c.idText}`);
      }
      return { reply: new Uint8Array(IDL.encode(results, [{ canister_log_records: c.log.records }])) };
    } catch (error) {
      if (error instanceof Refusal) return { reject: error.rejection };
      throw error;
    }
  }

  onCheckpoint(): void {
    this.snapshots.onCheckpoint();
  }

  onContextsClosed(canister: Canister): void {
    if (canister.status !== 'stopping' || this.engine.openContexts(canister) > 0) return;
    canister.finishStopping();
    const waiters = this.stopWaiters.get(canister.idText) ?? [];
    this.stopWaiters.delete(canister.idText);
    for (const w of waiters) this.engine.settle(w.origin, { reply: new Uint8Array(IDL.encode([], [])) }, w.cycles);
  }

  /** The canister a call is about; rejects unknown ids. */
  canister(id: Principal): Canister {
    const c = this.engine.canisters.get(id.toText());
    if (!c || c.deleted) throw new Refusal(canisterNotFound(id.toText()));
    return c;
  }

  /** Caller must control the canister (`orSelf`: or be the canister itself). */
  controlled(call: ManagementCall, id: Principal, method: string, orSelf = false): Canister {
    const c = this.canister(id);
    if (!c.isController(call.caller) && !(orSelf && call.caller.toText() === c.idText)) {
      refuse(RejectCode.CanisterError, ErrorCode.CanisterInvalidController, `Only controllers of canister ${c.idText} can call ic00 method ${method}. ${call.caller.toText()} is not one of its controllers: ${c.settings.controllers.map((p) => p.toText()).join(', ')}`);
    }
    return c;
  }

  private dispatch(method: ManagementMethod, call: ManagementCall): unknown[] | 'pending' {
    const a = call.args;
    switch (method) {
      case 'create_canister': {
        if (call.request.cycles < CANISTER_CREATION_FEE) {
          refuse(RejectCode.CanisterReject, ErrorCode.InsufficientCyclesForCreateCanister, `create_canister needs at least ${CANISTER_CREATION_FEE} cycles attached, got ${call.request.cycles}`);
        }
        call.accept(call.request.cycles);
        return [{ canister_id: this.createCanister(call, a.settings[0], call.request.cycles - CANISTER_CREATION_FEE).id }];
      }
      case 'provisional_create_canister_with_cycles':
        return [{ canister_id: this.createCanister(call, a.settings[0], a.amount[0] ?? DEFAULT_PROVISIONAL_CYCLES, a.specified_id[0]).id }];
      case 'provisional_top_up_canister':
        this.canister(a.canister_id).cycles += a.amount;
        return [];
      case 'deposit_cycles':
        this.canister(a.canister_id).cycles += call.request.cycles;
        call.accept(call.request.cycles);
        return [];
      case 'update_settings': {
        const c = this.controlled(call, a.canister_id, method);
        c.settings = applySettings(c.settings, a.settings);
        c.bumpVersion();
        if (a.settings.controllers?.[0]) this.recordChange(c, call, { kind: 'controllers_change', controllers: c.settings.controllers });
        return [];
      }
      case 'install_code': {
        const c = this.controlled(call, a.canister_id, method);
        installCode(this.engine, c, call, fromCandidInstallMode(a.mode), this.loadModule(a.wasm_module), a.arg);
        return [];
      }
      case 'install_chunked_code': {
        const c = this.controlled(call, a.target_canister, method);
        const store = a.store_canister[0] ? this.controlled(call, a.store_canister[0], method, true) : c;
        const chunks = (a.chunk_hashes_list as { hash: Uint8Array }[]).map(({ hash }) => {
          const chunk = store.chunkStore.get(Buffer.from(hash).toString('hex'));
          if (!chunk) refuse(RejectCode.CanisterReject, ErrorCode.InvalidManagementPayload, `chunk ${Buffer.from(hash).toString('hex')} is not in the chunk store of ${store.idText}; upload it with upload_chunk`);
          return chunk!;
        });
        const wasm = Buffer.concat(chunks);
        if (Buffer.compare(sha256(wasm), Buffer.from(a.wasm_module_hash)) !== 0) {
          refuse(RejectCode.CanisterReject, ErrorCode.InvalidManagementPayload, `the chunks' SHA-256 ${Buffer.from(sha256(wasm)).toString('hex')} does not match wasm_module_hash ${Buffer.from(a.wasm_module_hash).toString('hex')}`);
        }
        installCode(this.engine, c, call, fromCandidInstallMode(a.mode), this.loadModule(wasm), a.arg);
        return [];
      }
      case 'upload_chunk': {
        const c = this.controlled(call, a.canister_id, method, true);
        if (a.chunk.length > CHUNK_BYTES) refuse(RejectCode.CanisterReject, ErrorCode.InvalidManagementPayload, `chunk of ${a.chunk.length} bytes exceeds the ${CHUNK_BYTES}-byte limit`);
        const hash = sha256(a.chunk);
        if (!c.chunkStore.has(Buffer.from(hash).toString('hex')) && c.chunkStore.size >= MAX_CHUNKS_PER_STORE) {
          refuse(RejectCode.CanisterError, ErrorCode.CanisterContractViolation, `Error from Wasm chunk store: Wasm chunk store has already reached maximum capacity of ${MAX_CHUNKS_PER_STORE * CHUNK_BYTES} bytes; clear_chunk_store first.`);
        }
        c.chunkStore.set(Buffer.from(hash).toString('hex'), Uint8Array.from(a.chunk));
        return [{ hash }];
      }
      case 'stored_chunks':
        return [[...this.controlled(call, a.canister_id, method, true).chunkStore.keys()].map((h) => ({ hash: Buffer.from(h, 'hex') }))];
      case 'clear_chunk_store':
        this.controlled(call, a.canister_id, method, true).chunkStore.clear();
        return [];
      case 'uninstall_code': {
        const c = this.controlled(call, a.canister_id, method);
        this.engine.rejectOpenContexts(c, `Canister ${c.idText} has been uninstalled.`);
        c.setState(Canister.emptyState());
        c.bumpVersion();
        c.generation++;
        this.recordChange(c, call, { kind: 'code_uninstall' });
        return [];
      }
      case 'canister_info': {
        const c = this.canister(a.canister_id);
        const wanted = Number(a.num_requested_changes[0] ?? 0n);
        return [{ total_num_changes: c.history.totalChanges, recent_changes: c.history.recent(wanted).map(changeRecord), module_hash: c.module ? [c.module.hash] : [], controllers: c.settings.controllers }];
      }
      case 'canister_status':
        return [this.snapshots.status(this.controlled(call, a.canister_id, method, true))];
      case 'start_canister': {
        const c = this.controlled(call, a.canister_id, method);
        for (const w of this.stopWaiters.get(c.idText) ?? []) {
          this.engine.settle(w.origin, { reject: reject(RejectCode.CanisterError, ErrorCode.CanisterStoppingCancelled, `Canister ${c.idText}'s stop request was cancelled by start_canister`) }, w.cycles);
        }
        this.stopWaiters.delete(c.idText);
        c.start();
        return [];
      }
      case 'stop_canister': {
        const c = this.controlled(call, a.canister_id, method);
        if (c.status === 'stopped') return [];
        c.beginStopping();
        this.stopWaiters.set(c.idText, [...(this.stopWaiters.get(c.idText) ?? []), call.request]);
        this.onContextsClosed(c);
        return 'pending';
      }
      case 'delete_canister': {
        const c = this.controlled(call, a.canister_id, method);
        if (c.status !== 'stopped') refuse(RejectCode.CanisterError, ErrorCode.CanisterNotStopped, `Canister ${c.idText} must be stopped before it is deleted; call stop_canister first`);
        const caller = this.engine.canisters.get(call.caller.toText());
        if (caller && caller !== c) caller.cycles += c.cycles;
        c.deleted = true;
        this.snapshots.deleteAllOf(c);
        c.setState(Canister.emptyState());
        this.engine.canisters.delete(c.idText);
        return [];
      }
      case 'raw_rand':
        return [randomBytes(this.engine.random, 32)];
      case 'fetch_canister_logs':
        return refuse(RejectCode.CanisterReject, ErrorCode.CanisterRejectedMessage, 'fetch_canister_logs can only be called as a query');
      default:
        return this.snapshots.dispatch(method, call);
    }
  }

  private createCanister(call: ManagementCall, settings: Record<string, any> | undefined, cycles: bigint, specified?: Principal): Canister {
    const id = specified ?? this.nextCanisterId();
    if (this.engine.canisters.has(id.toText())) refuse(RejectCode.CanisterReject, ErrorCode.CanisterIdAlreadyExists, `canister id ${id.toText()} already exists`);
    const base: CanisterSettings = { controllers: [call.caller], ...DEFAULT_SETTINGS };
    const c = new Canister(id, settings ? applySettings(base, settings) : base, cycles, {
      canEnqueue: (from, to, pending) => this.engine.canEnqueue(from, to, pending),
      touched: (canister) => this.onTouched?.(canister),
      log: (canister, line) => this.onLog?.(canister, line),
      verifyWriteBarrier: this.modules.writeBarrier === 'verified'
    });
    this.engine.canisters.set(id.toText(), c);
    this.recordChange(c, call, { kind: 'creation', controllers: c.settings.controllers });
    return c;
  }

  /** Adds a change to the canister's history (canister_info), at its version after the change. */
  recordChange(c: Canister, call: ManagementCall, details: ChangeDetails): void {
    c.history.add({ timestampNanos: this.engine.time, canisterVersion: c.version, origin: call.origin, details });
  }

  /** Set by the replica: keeps the number of live Wasm instances bounded. */
  onTouched?: (canister: Canister) => void;
  /** Set by the replica: receives canister log lines. */
  onLog?: (canister: Canister, line: string) => void;

  private nextCanisterId(): Principal {
    for (;;) {
      const id = canisterIdAt(this.nextCanisterIndex++);
      if (!this.engine.canisters.has(id.toText())) return id;
    }
  }
}

/** The method's Candid argument record; a payload that does not decode is refused with IC0408. */
function decodeArg(method: string, types: IDL.Type[], arg: Uint8Array): Record<string, any> {
  try {
    return (IDL.decode(types, arg)[0] ?? {}) as Record<string, any>;
  } catch (error) {
    return refuse(RejectCode.CanisterReject, ErrorCode.InvalidManagementPayload, `Error decoding candid for ic00 method ${method}: ${(error as Error).message}`);
  }
}

function applySettings(current: CanisterSettings, s: Record<string, any>): CanisterSettings {
  const next = { ...current };
  if (s.controllers?.[0]) {
    if (s.controllers[0].length > MAX_CONTROLLERS) refuse(RejectCode.CanisterReject, ErrorCode.InvalidManagementPayload, `at most ${MAX_CONTROLLERS} controllers are allowed, got ${s.controllers[0].length}`);
    next.controllers = s.controllers[0];
  }
  if (s.compute_allocation?.[0] !== undefined) next.computeAllocation = s.compute_allocation[0];
  if (s.memory_allocation?.[0] !== undefined) next.memoryAllocation = s.memory_allocation[0];
  if (s.freezing_threshold?.[0] !== undefined) next.freezingThreshold = s.freezing_threshold[0];
  if (s.reserved_cycles_limit?.[0] !== undefined) next.reservedCyclesLimit = s.reserved_cycles_limit[0];
  if (s.log_visibility?.[0] !== undefined) next.logVisibility = 'public' in s.log_visibility[0] ? 'public' : 'controllers';
  if (s.wasm_memory_limit?.[0] !== undefined) next.wasmMemoryLimit = s.wasm_memory_limit[0];
  if (s.wasm_memory_threshold?.[0] !== undefined) next.wasmMemoryThreshold = s.wasm_memory_threshold[0];
  return next;
}
