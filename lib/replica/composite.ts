// Composite queries: a query call graph run depth-first at one replica, as the IC's
// evaluate_query_call_graph does. A composite query may call query and composite query methods;
// its own callbacks see the state its earlier executions left (one call context), while every call
// to a canister runs on a fresh copy of that canister's committed state — calling the same
// canister again in sequence is fine — and every change is discarded. Re-entering a canister that
// is on the call stack, or nesting deeper than the IC allows, fails the whole query.
import { Principal } from '@dfinity/principal';
import type { Canister } from './canister.js';
import { CanisterTrap, ErrorCode, RejectCode, reject, type Rejection } from './errors.js';
import { concatChunks, type Execution, type ExecutionInput, type ExecutionKind, type OutgoingCall } from './execution.js';
import type { CallResult } from './messages.js';
import { idText, inSubnetRange } from './canister-ids.js';
import { methodNotFound, noReply, noRoute, trapRejection } from './rejections.js';

/** Maximum depth of a query call graph (the IC's limit). */
export const MAX_QUERY_CALL_DEPTH = 6;

/** What a query call graph needs of the engine. */
export interface QueryGraphHost {
  readonly canisters: ReadonlyMap<string, Canister>;
  /** Why a (query) message to this canister cannot run, or undefined. */
  refuse(canister: Canister | undefined, id: Principal, isQuery?: boolean): Rejection | undefined;
  execution(kind: ExecutionKind, input: Partial<ExecutionInput>): Execution;
  record(line: string): void;
}

interface Graph {
  engine: QueryGraphHost;
  /** Canisters on the call stack (a call into one re-enters it). */
  active: Set<Canister>;
}

/** Ends the whole query call graph with a rejection (the IC's UserError for the query). */
class GraphAbort extends Error {
  constructor(readonly rejection: Rejection) {
    super(rejection.rejectMessage);
  }
}

export function runCompositeQuery(engine: QueryGraphHost, canister: Canister, method: string, arg: Uint8Array, sender: Principal, dataCertificate?: Uint8Array): CallResult {
  try {
    return node({ engine, active: new Set() }, canister, method, arg, sender.toUint8Array(), 0, dataCertificate);
  } catch (error) {
    if (error instanceof GraphAbort) return { reject: error.rejection };
    throw error;
  }
}

/** Runs `fn` on canister `c` and puts back its committed state and cycles afterwards. */
function onFreshCopy<T>(c: Canister, fn: () => T): T {
  const saved = { state: c.beginTentative(), cycles: c.cycles };
  try {
    return fn();
  } finally {
    c.restoreTo(saved.state);
    c.cycles = saved.cycles;
  }
}

function node(graph: Graph, c: Canister, method: string, arg: Uint8Array, caller: Uint8Array, depth: number, dataCertificate?: Uint8Array): CallResult {
  return onFreshCopy(c, () => nodeOnCopy(graph, c, method, arg, caller, depth, dataCertificate));
}

function nodeOnCopy(graph: Graph, c: Canister, method: string, arg: Uint8Array, caller: Uint8Array, depth: number, dataCertificate?: Uint8Array): CallResult {
  const { engine } = graph;
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
  const target = engine.canisters.get(idText(id));
  const refusal = engine.refuse(target, id, true);
  if (refusal) return { reject: refusal };
  const t = target!;
  if (depth > MAX_QUERY_CALL_DEPTH) throw new GraphAbort(reject(RejectCode.CanisterError, ErrorCode.QueryCallGraphTooDeep, 'Composite query calls exceeded the maximum call depth.'));
  if (graph.active.has(t)) throw new GraphAbort(reject(RejectCode.CanisterError, ErrorCode.QueryCallGraphLoopDetected, 'Query calls re-entering the same canister are not allowed yet.'));
  const arg = concatChunks(call.arg);
  if (t.hasExport(`canister_composite_query ${call.method}`)) return node(graph, t, call.method, arg, caller.id.toUint8Array(), depth);
  if (!t.hasExport(`canister_query ${call.method}`)) return { reject: methodNotFound(t.idText, 'query', call.method) };
  // A plain query keeps nothing of its own (Canister.execute rolls a query back).
  const exec = engine.execution('query', { arg, caller: caller.id.toUint8Array(), methodName: call.method });
  const { trap } = t.execute(exec, `canister_query ${call.method}`);
  if (trap) return { reject: trapRejection(t.idText, trap) };
  return exec.response ?? { reject: noReply(t.idText) };
}
