// The IC HTTP interface of the local replica (issue 4). Engines implement IngressBackend
// (../ingress.ts); `startHttpServer(backend, { port })` serves them to @dfinity/agent, and
// `replica.listen({ port })` does the same for a LocalReplica (listen.ts adds the method).
export { DEFAULT_HOST, DEFAULT_PORT, LIVE_ROUND_INTERVAL_MS, startHttpServer, type HttpServerHandle, type HttpServerOptions } from './server.js';
export { DRAIN_TIMEOUT_MS, IcHttpInterface, SYNC_CALL_TIMEOUT_MS } from './endpoints.js';
export { CERTIFICATION_MAX_AGE_NS } from './certificate.js';
export { deriveReplicaKeys, type ReplicaKeys } from './keys.js';
export { HttpInterfaceError } from './errors.js';
export { LocalReplica } from './listen.js';
