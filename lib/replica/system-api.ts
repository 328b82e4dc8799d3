// The `ic0` System API as Wasm imports. Every function checks that it may be called from the
// current execution kind (the spec's availability table) and records effects on the Execution;
// nothing reaches replica state until the execution finishes without trapping.
import { CanisterTrap, ErrorCode, RejectCode } from './errors.js';
import { concatChunks, type Execution, type ExecutionKind, type OutgoingCall } from './execution.js';
import { COPIED_BYTE_COST, STABLE_DIRTY_PAGE_COST, TRANSMITTED_BYTE_COST, newlyDirtiedPages, systemApiOverhead } from './instruction-costs.js';
import { WASM_PAGE, type StableMemory } from './stable-memory.js';
import { unsupportedMessage } from './system-api-support.js';
import { canisterVisibleMessage } from './rejections.js';

export const MAX_REPLY_BYTES = 2 * 1024 * 1024;
/** Same-subnet inter-canister request limit (every local canister lives on one subnet). */
export const MAX_INTER_CANISTER_PAYLOAD = 10 * 1024 * 1024;
export const MAX_METHOD_NAME_BYTES = 20_000;
export const MAX_CERTIFIED_DATA = 32;
const WASM32_STABLE_LIMIT_PAGES = 65536;
/** debug_print and trap messages are cut to this many bytes (bounds canister log growth). */
const MAX_LOG_MESSAGE_BYTES = 16 * 1024;
/** call_with_best_effort_response clamps its timeout to [1, this] seconds. */
const MAX_BEST_EFFORT_TIMEOUT_SECONDS = 300;

export interface SystemApiHost {
  exec(): Execution;
  memory(): Uint8Array;
  /** Tells the write barrier the System API wrote [ptr, ptr + length) of the heap. */
  written(ptr: number, length: number): void;
  selfId: Uint8Array;
  balance(): bigint;
  status(): number;
  version(): bigint;
  stable(): StableMemory;
  /** The committed global timer (0 when inactive). */
  timer(): bigint;
  isController(principal: Uint8Array): boolean;
  /** Instructions executed so far by the current execution (metering + system API). */
  instructionsUsed(): bigint;
  /** Counts System API instructions against the execution's budget; traps with IC0522 past it. */
  charge(instructions: bigint): void;
  /** Cycles a call with these sizes costs (also charged on call_perform). */
  costCall(methodNameSize: bigint, payloadSize: bigint): bigint;
  /** False when the queue towards `callee` is full (500 messages, counting `pending` of this execution). */
  canEnqueue(callee: Uint8Array, pending: number): boolean;
}

const COMPOSITE: ExecutionKind[] = ['composite_query', 'composite_reply', 'composite_reject'];
const ALL: ExecutionKind[] = ['init', 'pre_upgrade', 'post_upgrade', 'update', 'query', 'replicated_query', 'reply', 'reject', 'cleanup', 'timer', 'heartbeat', 'inspect', ...COMPOSITE];
const RESPONDING: ExecutionKind[] = ['update', 'query', 'replicated_query', 'reply', 'reject', ...COMPOSITE];
const CALLING: ExecutionKind[] = ['update', 'reply', 'reject', 'timer', 'heartbeat', ...COMPOSITE];
const WITH_ARG: ExecutionKind[] = ['init', 'post_upgrade', 'update', 'query', 'replicated_query', 'reply', 'inspect', 'composite_query', 'composite_reply'];
const MUTATING: ExecutionKind[] = ['init', 'pre_upgrade', 'post_upgrade', 'update', 'reply', 'reject', 'timer', 'heartbeat'];
const CYCLES: ExecutionKind[] = ['update', 'reply', 'reject'];

export function createSystemApi(host: SystemApiHost): Record<string, Function> {
  // Charging follows the IC (instruction-costs.ts): every call pays its fixed overhead, and the
  // bytes it names (its size argument, before any check) 1 or 50 instructions each.
  const charge = (instructions: bigint): void => {
    host.exec(); // outside an execution (a start function) this traps with the reason, before charging
    host.charge(instructions);
  };
  /** A size argument as the IC reads it: i32 and i64 are unsigned there. */
  const unsigned = (size: number | bigint): bigint => (typeof size === 'number' ? BigInt(size >>> 0) : BigInt.asUintN(64, size));
  const bytes = (size: number | bigint, perByte = COPIED_BYTE_COST): void => charge(unsigned(size) * perByte);
  const dirtyStablePages = new WeakMap<Execution, Set<number>>();
  /**
   * The whole charge of a stable write in one step (overhead, bytes, newly dirtied pages): stable
   * reads and writes are the hottest System API calls, and each charge reads and writes the
   * budget global as a BigInt. The sum is what the IC charges; out of bounds, the write itself
   * traps next (the IC checks bounds before the page charge too).
   */
  const stableWrite = (name: string, offset: number, size: number | bigint): void => {
    const exec = host.exec();
    let dirty = dirtyStablePages.get(exec);
    if (dirty === undefined) dirtyStablePages.set(exec, (dirty = new Set<number>()));
    const bytes = unsigned(size);
    let total = systemApiOverhead(name) + bytes * COPIED_BYTE_COST;
    const n = Number(bytes);
    if (offset + n <= host.stable().size * WASM_PAGE) total += BigInt(newlyDirtiedPages(dirty, offset, n)) * STABLE_DIRTY_PAGE_COST;
    host.charge(total);
  };
  /** A stable read's overhead and bytes in one charge (see stableWrite). */
  const stableRead = (name: string, size: number | bigint): void => {
    host.exec();
    host.charge(systemApiOverhead(name) + unsigned(size) * COPIED_BYTE_COST);
  };
  const allow = (name: string, kinds: ExecutionKind[]): Execution => {
    const exec = host.exec();
    host.charge(systemApiOverhead(name));
    if (!kinds.includes(exec.kind)) {
      throw new CanisterTrap(`"ic0.${name}" cannot be executed in ${exec.kind} mode`, ErrorCode.CanisterContractViolation);
    }
    return exec;
  };
  /** Heap bytes [ptr, ptr + len) without a copy: for callees that copy them themselves (stable writes). */
  const view = (ptr: number, len: number): Uint8Array => {
    const mem = host.memory();
    ptr >>>= 0;
    len >>>= 0;
    if (ptr + len > mem.length) throw new CanisterTrap(`heap out of bounds: ${ptr}+${len} > ${mem.length}`, ErrorCode.CanisterContractViolation);
    return mem.subarray(ptr, ptr + len);
  };
  /** A copy of heap bytes: what the System API keeps (arguments of calls, certified data, …). */
  const read = (ptr: number, len: number): Uint8Array => view(ptr, len).slice();
  const write = (ptr: number, data: Uint8Array): void => {
    const mem = host.memory();
    ptr >>>= 0;
    if (ptr + data.length > mem.length) throw new CanisterTrap(`heap out of bounds: ${ptr}+${data.length} > ${mem.length}`, ErrorCode.CanisterContractViolation);
    host.written(ptr, data.length);
    mem.set(data, ptr);
  };
  const copy = (name: string, data: Uint8Array, dst: number, offset: number, size: number): void => {
    offset >>>= 0;
    size >>>= 0;
    bytes(size);
    if (offset + size > data.length) throw new CanisterTrap(`ic0.${name}: src=${offset} + length=${size} exceeds the slice size=${data.length}`, ErrorCode.CanisterContractViolation);
    write(dst, data.subarray(offset, offset + size));
  };
  const u128 = (dst: number, value: bigint): void => {
    const out = new Uint8Array(16);
    new DataView(out.buffer).setBigUint64(0, value & 0xffff_ffff_ffff_ffffn, true);
    new DataView(out.buffer).setBigUint64(8, value >> 64n, true);
    write(dst, out);
  };
  const join = (high: bigint, low: bigint): bigint => (BigInt.asUintN(64, high) << 64n) | BigInt.asUintN(64, low);
  const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
  const liquid = (exec: Execution): bigint => host.balance() + exec.cyclesAccepted - exec.cyclesBurned - exec.cyclesSent;
  const rejectMessage = (exec: Execution): Uint8Array => new TextEncoder().encode(exec.input.rejection ? canisterVisibleMessage(exec.input.rejection) : '');
  const methodName = (exec: Execution): Uint8Array => new TextEncoder().encode(exec.input.methodName);
  const respond = (name: string): Execution => {
    const exec = allow(name, RESPONDING);
    if (exec.responded) throw new CanisterTrap(`ic0.${name}: the call is already replied`, ErrorCode.CanisterContractViolation);
    return exec;
  };
  const stable32 = (): StableMemory => {
    const s = host.stable();
    if (s.size > WASM32_STABLE_LIMIT_PAGES) throw new CanisterTrap('32-bit stable memory API used with more than 4 GiB of stable memory', ErrorCode.CanisterContractViolation);
    return s;
  };

  const api: Record<string, Function> = {
    msg_arg_data_size: () => allow('msg_arg_data_size', WITH_ARG).input.arg.length,
    msg_arg_data_copy: (dst: number, off: number, size: number) => copy('msg_arg_data_copy', allow('msg_arg_data_copy', WITH_ARG).input.arg, dst, off, size),
    msg_caller_size: () => allow('msg_caller_size', ALL).input.caller.length,
    msg_caller_copy: (dst: number, off: number, size: number) => copy('msg_caller_copy', allow('msg_caller_copy', ALL).input.caller, dst, off, size),
    msg_reject_code: () => allow('msg_reject_code', ['reply', 'reject', 'cleanup', 'composite_reply', 'composite_reject']).input.rejection?.rejectCode ?? 0,
    msg_reject_msg_size: () => rejectMessage(allow('msg_reject_msg_size', ['reject', 'composite_reject'])).length,
    msg_reject_msg_copy: (dst: number, off: number, size: number) => copy('msg_reject_msg_copy', rejectMessage(allow('msg_reject_msg_copy', ['reject', 'composite_reject'])), dst, off, size),
    msg_method_name_size: () => methodName(allow('msg_method_name_size', ['update', 'query', 'replicated_query', 'inspect', 'composite_query'])).length,
    msg_method_name_copy: (dst: number, off: number, size: number) =>
      copy('msg_method_name_copy', methodName(allow('msg_method_name_copy', ['update', 'query', 'replicated_query', 'inspect', 'composite_query'])), dst, off, size),
    msg_deadline: () => allow('msg_deadline', RESPONDING).input.deadline,
    accept_message: () => {
      const exec = allow('accept_message', ['inspect']);
      if (exec.messageAccepted) throw new CanisterTrap('ic0.accept_message: the message was already accepted', ErrorCode.CanisterContractViolation);
      exec.messageAccepted = true;
    },
    msg_reply_data_append: (src: number, size: number) => {
      bytes(size, TRANSMITTED_BYTE_COST);
      const exec = respond('msg_reply_data_append');
      if (exec.replySize + (size >>> 0) > MAX_REPLY_BYTES) {
        throw new CanisterTrap(`ic0.msg_reply_data_append: application payload size (${exec.replySize + (size >>> 0)}) cannot be larger than ${MAX_REPLY_BYTES}`, ErrorCode.CanisterContractViolation);
      }
      const data = read(src, size);
      exec.replyChunks.push(data);
      exec.replySize += data.length;
    },
    msg_reply: () => {
      const exec = respond('msg_reply');
      exec.response = { reply: concatChunks(exec.replyChunks) };
    },
    msg_reject: (src: number, size: number) => {
      bytes(size, TRANSMITTED_BYTE_COST);
      const exec = respond('msg_reject');
      exec.response = { reject: { rejectCode: RejectCode.CanisterReject, rejectMessage: text(read(src, size)), errorCode: ErrorCode.CanisterRejectedMessage, verbatim: true } };
    },
    msg_cycles_available128: (dst: number) => {
      const exec = allow('msg_cycles_available128', CYCLES);
      u128(dst, exec.input.cyclesAvailable - exec.cyclesAccepted);
    },
    msg_cycles_refunded128: (dst: number) => u128(dst, allow('msg_cycles_refunded128', ['reply', 'reject']).input.cyclesRefunded),
    msg_cycles_accept128: (high: bigint, low: bigint, dst: number) => {
      const exec = allow('msg_cycles_accept128', CYCLES);
      const available = exec.input.cyclesAvailable - exec.cyclesAccepted;
      const take = join(high, low) < available ? join(high, low) : available;
      exec.cyclesAccepted += take;
      u128(dst, take);
    },
    canister_self_size: () => (allow('canister_self_size', ALL), host.selfId.length),
    canister_self_copy: (dst: number, off: number, size: number) => (allow('canister_self_copy', ALL), copy('canister_self_copy', host.selfId, dst, off, size)),
    canister_cycle_balance128: (dst: number) => u128(dst, liquid(allow('canister_cycle_balance128', ALL))),
    canister_liquid_cycle_balance128: (dst: number) => u128(dst, liquid(allow('canister_liquid_cycle_balance128', ALL))),
    canister_status: () => (allow('canister_status', ALL), host.status()),
    canister_version: () => (allow('canister_version', ALL), host.version()),
    call_new: (calleeSrc: number, calleeSize: number, nameSrc: number, nameSize: number, replyFun: number, replyEnv: number, rejectFun: number, rejectEnv: number) => {
      bytes((calleeSize >>> 0) + (nameSize >>> 0));
      const exec = allow('call_new', CALLING);
      if ((nameSize >>> 0) > MAX_METHOD_NAME_BYTES) throw new CanisterTrap('ic0.call_new: method name too long', ErrorCode.CanisterContractViolation);
      exec.pending = { callee: read(calleeSrc, calleeSize), method: text(read(nameSrc, nameSize)), arg: [], argSize: 0, cycles: 0n, replyFun, replyEnv, rejectFun, rejectEnv };
    },
    call_on_cleanup: (fun: number, env: number) => {
      const call = pendingCall(allow('call_on_cleanup', CALLING), 'call_on_cleanup');
      if (call.cleanup) throw new CanisterTrap('ic0.call_on_cleanup: cleanup already set', ErrorCode.CanisterContractViolation);
      call.cleanup = { fun, env };
    },
    call_data_append: (src: number, size: number) => {
      bytes(size, TRANSMITTED_BYTE_COST);
      const call = pendingCall(allow('call_data_append', CALLING), 'call_data_append');
      if (call.argSize + (size >>> 0) > MAX_INTER_CANISTER_PAYLOAD) {
        throw new CanisterTrap(`ic0.call_data_append: payload size (${call.argSize + (size >>> 0)}) exceeds the ${MAX_INTER_CANISTER_PAYLOAD}-byte same-subnet request limit`, ErrorCode.CanisterContractViolation);
      }
      const data = read(src, size);
      call.arg.push(data);
      call.argSize += data.length;
    },
    call_with_best_effort_response: (timeout: number) => {
      const call = pendingCall(allow('call_with_best_effort_response', CALLING), 'call_with_best_effort_response');
      if (call.timeoutSeconds !== undefined) throw new CanisterTrap('ic0.call_with_best_effort_response called twice', ErrorCode.CanisterContractViolation);
      call.timeoutSeconds = Math.min(Math.max(timeout >>> 0, 1), MAX_BEST_EFFORT_TIMEOUT_SECONDS);
    },
    call_cycles_add128: (high: bigint, low: bigint) => {
      const exec = allow('call_cycles_add128', ['update', 'reply', 'reject', 'timer', 'heartbeat']);
      const call = pendingCall(exec, 'call_cycles_add128');
      const amount = join(high, low);
      if (amount > liquid(exec)) throw new CanisterTrap(`ic0.call_cycles_add128: cannot add ${amount} cycles, the balance is ${liquid(exec)}`, ErrorCode.InsufficientCyclesInCall);
      call.cycles += amount;
      exec.cyclesSent += amount;
    },
    call_perform: () => {
      const exec = allow('call_perform', CALLING);
      const call = pendingCall(exec, 'call_perform');
      exec.pending = undefined;
      const fee = exec.replicated ? host.costCall(BigInt(call.method.length), BigInt(call.argSize)) : 0n;
      const pending = exec.calls.filter((c) => Buffer.compare(c.callee, call.callee) === 0).length;
      if (!host.canEnqueue(call.callee, pending) || liquid(exec) < fee) {
        exec.cyclesSent -= call.cycles;
        return 2;
      }
      exec.cyclesBurned += fee;
      exec.calls.push(call);
      return 0;
    },
    stable_size: () => (allow('stable_size', ALL), stable32().size),
    stable_grow: (pages: number) => (allow('stable_grow', ALL), stable32().grow(pages >>> 0, WASM32_STABLE_LIMIT_PAGES)),
    stable_write: (offset: number, src: number, size: number) => (stableWrite('stable_write', offset >>> 0, size), stable32().write(offset >>> 0, view(src, size))),
    stable_read: (dst: number, offset: number, size: number) => {
      stableRead('stable_read', size);
      const buf = new Uint8Array(size >>> 0);
      stable32().read(offset >>> 0, buf.length, buf, 0);
      write(dst, buf);
    },
    stable64_size: () => (allow('stable64_size', ALL), BigInt(host.stable().size)),
    stable64_grow: (pages: bigint) => (allow('stable64_grow', ALL), BigInt(host.stable().grow(Number(BigInt.asUintN(64, pages))))),
    stable64_write: (offset: bigint, src: bigint, size: bigint) => (stableWrite('stable64_write', Number(offset), size), host.stable().write(Number(offset), view(Number(src), Number(size)))),
    stable64_read: (dst: bigint, offset: bigint, size: bigint) => {
      stableRead('stable64_read', size);
      const n = Number(size);
      const mem = host.memory();
      if (Number(dst) + n > mem.length) throw new CanisterTrap('ic0.stable64_read: heap out of bounds', ErrorCode.CanisterContractViolation);
      host.written(Number(dst), n);
      host.stable().read(Number(offset), n, mem, Number(dst));
    },
    certified_data_set: (src: number, size: number) => {
      bytes(size);
      const exec = allow('certified_data_set', MUTATING);
      if ((size >>> 0) > MAX_CERTIFIED_DATA) throw new CanisterTrap(`ic0.certified_data_set: certified data must be at most ${MAX_CERTIFIED_DATA} bytes`, ErrorCode.CanisterContractViolation);
      exec.certifiedData = read(src, size);
    },
    data_certificate_present: () => (allow('data_certificate_present', ALL).input.dataCertificate ? 1 : 0),
    data_certificate_size: () => certificate(allow('data_certificate_size', ['query', 'composite_query'])).length,
    data_certificate_copy: (dst: number, off: number, size: number) => copy('data_certificate_copy', certificate(allow('data_certificate_copy', ['query', 'composite_query'])), dst, off, size),
    time: () => allow('time', ALL).input.time,
    global_timer_set: (timestamp: bigint) => {
      const exec = allow('global_timer_set', [...MUTATING, 'cleanup']);
      const previous = exec.timer ?? host.timer();
      exec.timer = BigInt.asUintN(64, timestamp);
      return previous;
    },
    performance_counter: (type: number) => {
      const exec = allow('performance_counter', ALL);
      if (type === 0) return host.instructionsUsed();
      // Type 1: the call context's counter, which keeps counting across awaits (callbacks).
      if (type === 1) return exec.input.contextInstructions + host.instructionsUsed();
      throw new CanisterTrap(`ic0.performance_counter: unknown counter type ${type}`, ErrorCode.CanisterContractViolation);
    },
    is_controller: (src: number, size: number) => (bytes(size), allow('is_controller', ALL), host.isController(read(src, size)) ? 1 : 0),
    in_replicated_execution: () => (allow('in_replicated_execution', ALL).replicated ? 1 : 0),
    debug_print: (src: number, size: number) => {
      bytes(size);
      allow('debug_print', ALL).logs.push(text(read(src, Math.min(size >>> 0, MAX_LOG_MESSAGE_BYTES))));
    },
    trap: (src: number, size: number) => {
      bytes(size);
      allow('trap', ALL);
      throw new CanisterTrap(`Canister called \`ic0.trap\` with message: '${text(read(src, Math.min(size >>> 0, MAX_LOG_MESSAGE_BYTES)))}'`, ErrorCode.CanisterCalledTrap);
    },
    cycles_burn128: (high: bigint, low: bigint, dst: number) => {
      const exec = allow('cycles_burn128', MUTATING);
      const wanted = join(high, low);
      const burned = wanted < liquid(exec) ? wanted : liquid(exec);
      exec.cyclesBurned += burned;
      u128(dst, burned);
    },
    cost_call: (nameSize: bigint, payloadSize: bigint, dst: number) => (allow('cost_call', ALL), u128(dst, host.costCall(nameSize, payloadSize)))
  };
  const certificate = (exec: Execution): Uint8Array => {
    if (!exec.input.dataCertificate) throw new CanisterTrap('ic0.data_certificate_*: no certificate in this execution', ErrorCode.CanisterContractViolation);
    return exec.input.dataCertificate;
  };
  const pendingCall = (exec: Execution, name: string): OutgoingCall => {
    if (!exec.pending) throw new CanisterTrap(`ic0.${name} called without a call under construction (call_new first)`, ErrorCode.CanisterContractViolation);
    return exec.pending;
  };
  return api; // __tests__/replica/units.test.ts checks that its names are exactly SUPPORTED_SYSTEM_API
}

/** Import object for a module: supported functions, and trapping stubs for the rest it imports. */
export function ic0Imports(module: WebAssembly.Module, api: Record<string, Function>): WebAssembly.Imports {
  const ic0: Record<string, Function> = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.module !== 'ic0' || imp.kind !== 'function') continue;
    ic0[imp.name] = api[imp.name] ?? (() => {
      throw new CanisterTrap(unsupportedMessage(imp.name), ErrorCode.CanisterContractViolation);
    });
  }
  return { ic0 };
}
