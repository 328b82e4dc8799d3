// The HTTP transport of the local replica: routes the IC's /api/v2 and /api/v3 endpoints to
// IcHttpInterface, limits body sizes, answers every failure with a status and a plain-text reason
// (never a crash), and allows CORS so a web page served elsewhere can use @dfinity/agent.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IngressBackend } from '../ingress.js';
import { IcHttpInterface, type Reply, type Scope } from './endpoints.js';
import { bodyTooLarge, MAX_BODY_BYTES } from './envelope.js';
import { HttpInterfaceError, messageOf, notFound } from './errors.js';
import { type GatewayResponse, gatewayTarget, HttpGateway } from './gateway.js';
import { deriveReplicaKeys, type ReplicaKeys } from './keys.js';
import type { RequestLogLimits } from './request-log.js';

export const DEFAULT_PORT = 4943;
export const DEFAULT_HOST = '127.0.0.1';
/** Connections idle longer than this are closed (the agent reconnects). */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** A request whose body has not arrived by then is dropped (slow or stuck clients). */
const REQUEST_TIMEOUT_MS = 60_000;
const MAX_CONNECTIONS = 1024;
/** In live mode, how often replica time catches up with the wall clock and a round runs. */
export const LIVE_ROUND_INTERVAL_MS = 100;

export interface HttpServerOptions {
  /** 0 picks a free port. Default 4943, like dfx. */
  port?: number;
  host?: string;
  /** Seed of the replica's BLS root key and node key (same seed, same root key). */
  seed?: string | number;
  /** Advance replica time to the wall clock before answering (default true; agents check time). */
  live?: boolean;
  clock?: () => number;
  /** How long a v3 call waits before answering 202 (the agent then polls); default 10 s. */
  syncCallTimeoutMs?: number;
  /** Least time between the starts of two ingress rounds, like a block time (default 0). */
  roundIntervalMs?: number;
  /** Bounds of the request-status store (default MAX_REQUEST_STATUSES ids, MAX_STATUS_REPLY_BYTES). */
  requestLog?: RequestLogLimits;
  /** Where engine failures are reported (default: stderr). */
  onEngineError?: (error: unknown) => void;
}

export interface HttpServerHandle {
  /** `http://<host>:<port>` — give it to HttpAgent.create({ host, shouldFetchRootKey: true }). */
  url: string;
  port: number;
  keys: ReplicaKeys;
  /** Stops accepting, waits for calls in flight, and closes every connection. */
  close(): Promise<void>;
}

type Route = (match: RegExpMatchArray, body: Uint8Array) => Promise<Reply> | Reply;

export async function startHttpServer(backend: IngressBackend, options: HttpServerOptions = {}): Promise<HttpServerHandle> {
  const keys = deriveReplicaKeys(options.seed ?? 0);
  const onEngineError = options.onEngineError ?? ((error: unknown) => console.error('local replica engine error:', error));
  const api = new IcHttpInterface(backend, { ...options, keys, onEngineError });
  // Every version of each endpoint that @dfinity/agent 3.x and @icp-sdk/core 6.x use; without
  // delegations (one subnet) the versions differ only in whether a call answers synchronously.
  const routes: [string, RegExp, Route][] = [
    ['GET', /^\/api\/v2\/status$/, () => api.status()],
    ['POST', /^\/api\/v[34]\/(canister|subnet)\/([^/]+)\/call$/, (m, body) => api.call(scopeOf(m[1]), m[2], body, true)],
    ['POST', /^\/api\/v2\/canister\/([^/]+)\/call$/, (m, body) => api.call('canister', m[1], body, false)],
    ['POST', /^\/api\/v[23]\/(canister|subnet)\/([^/]+)\/query$/, (m, body) => api.query(scopeOf(m[1]), m[2], body)],
    ['POST', /^\/api\/v[23]\/(canister|subnet)\/([^/]+)\/read_state$/, (m, body) => api.readState(scopeOf(m[1]), m[2], body)]
  ];

  const server = createServer((req, res) => {
    void handle(req, res).catch(error => {
      // Last resort: the handler itself failed (e.g. the socket closed mid-reply).
      if (!res.headersSent) send(res, { status: 500, body: `Internal error: ${messageOf(error)}` });
    });
  });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.maxConnections = MAX_CONNECTIONS;

  const gateway = new HttpGateway({ call: (kind, canisterId, method, arg) => api.gatewayCall(kind, canisterId, method, arg) });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const canisterId = await answered(res, () => gatewayTarget(req.headers.host, req.url ?? '/'));
    if (canisterId === null) return;
    if (canisterId !== undefined) {
      // The canister answers every method itself and sets its own CORS headers, OPTIONS included.
      const headers = pairs(req.rawHeaders);
      await answered(res, async () => sendGateway(res, await gateway.serve({ canisterId, method: req.method ?? 'GET', url: req.url ?? '/', headers, body: await readBody(req) })));
      return;
    }
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, Authorization');
      res.writeHead(204).end();
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    await answered(res, async () => {
      const matching = routes.filter(([, pattern]) => pattern.test(path));
      const found = matching.find(([method]) => method === req.method);
      if (found === undefined && matching.length > 0) {
        const allowed = [...new Set(matching.map(([method]) => method))].join(', ');
        res.setHeader('Allow', `${allowed}, OPTIONS`);
        throw new HttpInterfaceError(405, `${path} does not support ${req.method}; use ${allowed}.`);
      }
      if (found === undefined) {
        throw notFound(`No endpoint ${req.method} ${path}; the local replica serves /api/v2/status, /api/v{2,3,4}/canister/<id>/call, /api/v{2,3}/canister/<id>/{query,read_state} and the /subnet/<id>/ forms.`);
      }
      const [method, pattern, route] = found;
      const body = method === 'POST' ? await readBody(req) : new Uint8Array();
      send(res, await route(path.match(pattern)!, body));
    });
  }

  /** Runs `work`; a failure is answered with its status and reason (null: it was answered). */
  async function answered<T>(res: ServerResponse, work: () => T | Promise<T>): Promise<T | null> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof ClientGone) return null; // nobody to answer, nothing went wrong here
      if (error instanceof HttpInterfaceError) send(res, { status: error.status, body: error.message });
      else {
        onEngineError(error);
        send(res, { status: 500, body: `Internal error: ${messageOf(error)}` });
      }
      return null;
    }
  }

  // Live mode: a real subnet executes rounds whether or not requests arrive, so timers and
  // heartbeats fire on their own. One round at a time; a slow round delays the next.
  let pumping = false;
  const pump = options.live === false ? undefined : setInterval(() => {
    if (pumping) return;
    pumping = true;
    api.catchUp()
      .then(() => backend.tick?.())
      .then(() => api.afterTick())
      .catch(onEngineError)
      .finally(() => { pumping = false; });
  }, LIVE_ROUND_INTERVAL_MS);
  pump?.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_PORT, options.host ?? DEFAULT_HOST, () => resolve());
  });
  const address = server.address() as AddressInfo;
  // Bound to every interface: advertise loopback, which always reaches it.
  const unspecified = address.address === '0.0.0.0' || address.address === '::';
  const host = unspecified ? DEFAULT_HOST : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    keys,
    async close() {
      clearInterval(pump);
      const closed = new Promise<void>(resolve => server.close(() => resolve()));
      server.closeIdleConnections();
      await api.drain();
      server.closeAllConnections();
      await closed;
    }
  };
}

function scopeOf(segment: string): Scope {
  return segment === 'subnet' ? 'subnet' : 'canister';
}

/** The client closed its connection before its request was read: not an error of ours. */
class ClientGone extends Error {}

/** The whole body (events, not an async iterator: one less promise chain per request). */
function readBody(req: IncomingMessage): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) return Promise.reject(bodyTooLarge(declared));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else fail(bodyTooLarge(size));
    };
    const onEnd = () => {
      cleanup();
      if (!req.complete) reject(new ClientGone('request body ended early'));
      else resolve(chunks.length === 1 ? new Uint8Array(chunks[0].buffer, chunks[0].byteOffset, chunks[0].length) : new Uint8Array(Buffer.concat(chunks, size)));
    };
    const onError = (error: Error) => fail(new ClientGone(messageOf(error)));
    const onClose = () => fail(new ClientGone('the client closed the connection before its request was read'));
    const fail = (error: Error) => {
      cleanup();
      req.resume(); // discard the rest
      reject(error);
    };
    const cleanup = () => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    };
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

/** Node's flat [name, value, name, value, …] list as pairs, names lower-cased. */
function pairs(raw: string[]): [string, string][] {
  const result: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) result.push([raw[i].toLowerCase(), raw[i + 1]]);
  return result;
}

function sendGateway(res: ServerResponse, reply: GatewayResponse): void {
  for (const [name, value] of reply.headers) res.appendHeader(name, value);
  res.writeHead(reply.status);
  res.end(reply.body);
}

function send(res: ServerResponse, reply: Reply): void {
  const isText = typeof reply.body === 'string';
  res.writeHead(reply.status, { 'Content-Type': isText ? 'text/plain; charset=utf-8' : 'application/cbor' });
  res.end(reply.body);
}
