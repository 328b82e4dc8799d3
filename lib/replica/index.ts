// shardorm/replica: an in-process Internet Computer replica that executes real canister Wasm.
export { LocalReplica, MAX_ROUNDS_PER_RUN, DEFAULT_MAX_LIVE_INSTANCES, DEFAULT_START_TIME_MS } from './replica.js';
export type { LocalReplicaOptions } from './replica.js';
export type * from './replica-api.js';
export type { InstallMode, UpgradeOptions, CandidInstallMode } from './install-mode.js';
export type { Actor, ActorMethod } from './actor.js';
export { installModule, CHUNK_BYTES, MAX_INLINE_WASM_BYTES, type InstallClient } from './chunked-install.js';
export { CallRejectedError, InvalidWasmError, ReplicaError, RejectCode, ErrorCode } from './errors.js';
export type { Rejection } from './errors.js';
export type { FaultRule, CallMatch } from './faults.js';
export { Xoshiro128, type Random } from '../random/prng.js';
export { SUPPORTED_SYSTEM_API, UNSUPPORTED_SYSTEM_API } from './system-api-support.js';
export { MANAGEMENT_METHODS, managementIdlFactory } from './management-idl.js';
export { INSTRUCTION_LIMITS } from './execution.js';
export { MAX_QUEUE_MESSAGES } from './engine.js';
export { MAX_REPLY_BYTES, MAX_INTER_CANISTER_PAYLOAD } from './system-api.js';
export { MAX_INGRESS_BYTES } from './ingress.js';
export type { IngressBackend, IngressMessage, CallOutcome, CanisterCertifiedInfo } from './ingress.js';
// The in-process agent: importing it adds `replica.createAgent({ identity })` to LocalReplica.
import './agent.js';
export { InProcessAgent, MAX_AGENT_REQUEST_STATUSES, type CreateAgentOptions } from './agent.js';
// The HTTP interface: importing it adds `replica.listen({ port })` to LocalReplica.
import './http/listen.js';
export { startHttpServer, DEFAULT_HOST, DEFAULT_PORT, LIVE_ROUND_INTERVAL_MS, HttpInterfaceError } from './http/index.js';
export type { HttpServerHandle, HttpServerOptions } from './http/index.js';
