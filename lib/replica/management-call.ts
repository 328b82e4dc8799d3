// What a management method handler works with, shared by the management canister and the
// modules that implement its methods (install.ts, snapshots.ts) without importing it: the call,
// the refusal that answers it with a rejection, and the narrow views of the engine they need.
import type { Principal } from '@dfinity/principal';
import type { Canister } from './canister.js';
import type { ChangeDetails, ChangeOrigin } from './canister-history.js';
import { reject, type Rejection } from './errors.js';
import type { Execution, ExecutionInput, ExecutionKind } from './execution.js';
import type { Request } from './messages.js';
import type { LoadedModule } from './module-cache.js';

export interface ManagementCall {
  request: Request;
  caller: Principal;
  args: Record<string, any>;
  /** Who made the call, as canister history records it. */
  origin: ChangeOrigin;
  /** Cycles of the request the method keeps (the rest is refunded). */
  accept(amount: bigint): void;
}

/** Thrown inside a handler to answer the call with a rejection. */
export class Refusal extends Error {
  constructor(readonly rejection: Rejection) {
    super(rejection.rejectMessage);
  }
}

export const refuse = (code: number, errorCode: string, message: string): never => {
  throw new Refusal(reject(code, errorCode, message));
};

/** Answers the call with a ready-made rejection. */
export const refuseWith = (rejection: Rejection): never => {
  throw new Refusal(rejection);
};

/** The engine as code installation and snapshots see it. */
export interface EngineView {
  readonly time: bigint;
  execution(kind: ExecutionKind, input: Partial<ExecutionInput>): Execution;
  record(line: string): void;
  /** Rejects every open call context of a canister (uninstall, reinstall, snapshot load). */
  rejectOpenContexts(canister: Canister, message: string): void;
}

/** Canister lookups with the management canister's rules (unknown ids, controllers). */
export interface CanisterGate {
  canister(id: Principal): Canister;
  /** Caller must control the canister (`orSelf`: or be the canister itself). */
  controlled(call: ManagementCall, id: Principal, method: string, orSelf?: boolean): Canister;
  recordChange(c: Canister, call: ManagementCall, details: ChangeDetails): void;
  /** Instruments and compiles a module with the replica's module options. */
  loadModule(wasm: Uint8Array): LoadedModule;
}
