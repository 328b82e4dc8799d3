// Composite queries: a query call graph run depth-first at one replica. A composite query may call
// query and composite query methods of other canisters; its callbacks see the state its earlier
// executions left (changes persist within the graph), and every change of every canister in the
// graph is discarded at the end. Loops and graphs deeper than the IC allows are rejected.
import { Principal } from '@dfinity/principal';
import type { Canister, ExecutionState } from './canister.js';
import { CanisterTrap, ErrorCode, RejectCode, reject } from './errors.js';
import { concatChunks, type ExecutionInput, type OutgoingCall } from './execution.js';
import type { CallResult } from './messages.js';
import { inSubnetRange } from './canister-ids.js';
import { methodNotFound, noReply, noRoute, trapRejection } from './rejections.js';
import type { Engine } from './scheduler.js';

/** Maximum depth of a query call graph (the IC's limit). */
export const MAX_QUERY_CALL_DEPTH = 6;

interface Graph {
  engine: Engine;
  saved: Map<Canister, { state: ExecutionState; cycles: bigint }>;
  /** Canisters with a composite execution in progress (a call back into one is a loop). */
  active: Set<Canister>;
}

export function runCompositeQuery(engine: Engine, canister: Canister, method: string, arg: Uint8Array, sender: Principal, dataCertificate?: Uint8Array): CallResult {
  const graph: Graph = { engine, saved: new Map(), active: new Set() };
  try {
    return node(graph, canister, method, arg, sender.toUint8Array(), 0, dataCertificate);
  } finally {
    for (const [c, { state, cycles }] of graph.saved) {
      c.restoreTo(state);
      c.cycles = cycles;
    }
  }
}

function node(graph: Graph, c: Canister, method: string, arg: Uint8Array, caller: Uint8Array, depth: number, dataCertificate?: Uint8Array): CallResult {
  const { engine } = graph;
  if (!graph.saved.has(c)) graph.saved.set(c, { state: c.cloneState(), cycles: c.cycles });
  graph.active.add(c);
  let response: CallResult | undefined;
  const pending: OutgoingCall[] = [];
  let contextInstructions = 0n; // this node is one call context: performance_counter(1) spans it
  const run = (kind: 'composite_query' | 'composite_reply' | 'composite_reject', entry: string | { fun: number; env: number }, input: Partial<ExecutionInput>): CanisterTrap | undefined => {
    const exec = engine.execution(kind, { caller, methodName: method, alreadyResponded: response !== undefined, contextInstructions, ...input });
    const { trap, instructions } = c.execute(exec, entry);
    contextInstructions += instructions;
    engine.record(`${c.idText} ${kind} ${method} ${trap ? trap.errorCode : 'ok'} ${instructions}`);
    if (!trap) {
      pending.push(...exec.calls);
      response ??= exec.response;
    }
    return trap;
  };
  try {
    const trap = run('composite_query', `canister_composite_query ${method}`, { arg, dataCertificate });
    if (trap) return { reject: trapRejection(c.idText, trap) };
    while (pending.length > 0) {
      const call = pending.shift()!;
      const result = callee(graph, c, call, depth + 1);
      const trapped =
        'reply' in result
          ? run('composite_reply', { fun: call.replyFun, env: call.replyEnv }, { arg: result.reply })
          : run('composite_reject', { fun: call.rejectFun, env: call.rejectEnv }, { rejection: result.reject });
      if (!trapped) continue;
      if (call.cleanup) contextInstructions += c.execute(engine.execution('cleanup', { caller, methodName: method, contextInstructions }), call.cleanup).instructions;
      if (!response && pending.length === 0) response = { reject: trapRejection(c.idText, trapped) };
    }
    return response ?? { reject: noReply(c.idText) };
  } finally {
    graph.active.delete(c);
  }
}

function callee(graph: Graph, caller: Canister, call: OutgoingCall, depth: number): CallResult {
  const { engine } = graph;
  const id = Principal.fromUint8Array(call.callee);
  if (!inSubnetRange(id)) return { reject: noRoute(id.toText()) };
  const target = engine.canisters.get(id.toText());
  const refusal = engine.refuse(target, id, true);
  if (refusal) return { reject: refusal };
  const t = target!;
  if (depth > MAX_QUERY_CALL_DEPTH) {
    return { reject: reject(RejectCode.CanisterError, ErrorCode.QueryCallGraphTooDeep, `Composite query call graph deeper than ${MAX_QUERY_CALL_DEPTH} calls`) };
  }
  const arg = concatChunks(call.arg);
  if (t.hasExport(`canister_composite_query ${call.method}`)) {
    if (graph.active.has(t)) return { reject: reject(RejectCode.CanisterError, ErrorCode.QueryCallGraphLoopDetected, `Loop detected in the query call graph: ${t.idText} is already executing`) };
    return node(graph, t, call.method, arg, caller.id.toUint8Array(), depth);
  }
  if (!t.hasExport(`canister_query ${call.method}`)) {
    return { reject: methodNotFound(t.idText, 'query', call.method) };
  }
  const exec = engine.execution('query', { arg, caller: caller.id.toUint8Array(), methodName: call.method });
  const { trap } = t.execute(exec, `canister_query ${call.method}`);
  if (trap) return { reject: trapRejection(t.idText, trap) };
  return exec.response ?? { reject: noReply(t.idText) };
}
