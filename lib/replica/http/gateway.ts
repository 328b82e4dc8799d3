// The HTTP gateway, as dfx and PocketIC serve it beside the IC API: a browser (or plain `fetch`)
// asks `http://<canister id>.localhost:<port>/path` (or any host with `?canisterId=<id>`), and the
// request becomes a call of the canister's `http_request` query (HTTP gateway protocol); a response
// with `upgrade = opt true` is asked again as the update `http_request_update`, and a
// `streaming_strategy` Callback is followed, query by query, until its token runs out. Streaming
// tokens are the canister's own type: decoded with their wire type and handed back unchanged.
// Response certification is not verified (every domain is served as the `raw` one is).
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import type { CallOutcome } from '../ingress.js';
import { RejectCode } from '../errors.js';
import { badRequest, HttpInterfaceError } from './errors.js';

/** Chunks one streamed response may have beyond the first (each is a query). */
export const MAX_STREAMING_CALLBACKS = 1_000;
/** Largest response body the gateway assembles (first chunk plus streamed chunks). */
export const MAX_GATEWAY_RESPONSE_BYTES = 64 * 1024 * 1024;
/** The `certificate_version` the gateway announces, as current gateways do. */
const CERTIFICATE_VERSION = 2;
/** Response headers Node sets itself from the body it sends. */
const HOP_BY_HOP_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);

const HeaderField = IDL.Tuple(IDL.Text, IDL.Text);
const HttpRequest = IDL.Record({ method: IDL.Text, url: IDL.Text, headers: IDL.Vec(HeaderField), body: IDL.Vec(IDL.Nat8), certificate_version: IDL.Opt(IDL.Nat16) });
const HttpUpdateRequest = IDL.Record({ method: IDL.Text, url: IDL.Text, headers: IDL.Vec(HeaderField), body: IDL.Vec(IDL.Nat8) });
// Callback and token are decoded as Unknown: their types are the canister's, not ours.
const StreamingStrategy = IDL.Variant({ Callback: IDL.Record({ callback: IDL.Unknown, token: IDL.Unknown }) });
const HttpResponse = IDL.Record({
  status_code: IDL.Nat16,
  headers: IDL.Vec(HeaderField),
  body: IDL.Vec(IDL.Nat8),
  upgrade: IDL.Opt(IDL.Bool),
  streaming_strategy: IDL.Opt(StreamingStrategy)
});
// `opt` also accepts the spec's plain record (Candid's opt rule), and Azle's `opt record`.
const StreamingCallbackResponse = IDL.Opt(IDL.Record({ body: IDL.Vec(IDL.Nat8), token: IDL.Opt(IDL.Unknown) }));

/** A value decoded as IDL.Unknown carries its wire type. */
type Unknown = { type(): IDL.Type };
interface DecodedResponse {
  status_code: number;
  headers: [string, string][];
  body: Uint8Array;
  upgrade: [] | [boolean];
  streaming_strategy: [] | [{ Callback: { callback: [Principal, string] & Unknown; token: Unknown } }];
}

export interface GatewayRequest {
  canisterId: Principal;
  method: string;
  /** Path and query, as in the request line. */
  url: string;
  headers: [string, string][];
  body: Uint8Array;
}

export interface GatewayResponse {
  status: number;
  headers: [string, string][];
  body: Uint8Array | string;
}

/** How the gateway reaches canisters: anonymous calls, a query or an update (through ingress). */
export interface GatewayCalls {
  call(kind: 'query' | 'update', canisterId: Principal, method: string, arg: Uint8Array): Promise<CallOutcome>;
}

/** An /api/ path that URL parsing would not change (no dots, escapes or backslashes). */
const PLAIN_API_PATH = /^\/api\/[A-Za-z0-9/_-]*$/;

/**
 * The canister a request is for, or undefined for the IC API: the first label of a
 * `<id>.localhost` / `<id>.raw.localhost` host, else a `canisterId` query parameter. Paths under
 * /api/ always belong to the IC API (a page served by the gateway talks to the replica there).
 */
export function gatewayTarget(host: string | undefined, url: string): Principal | undefined {
  // Every IC API request: decided without parsing a URL (only characters URL parsing leaves alone).
  if (PLAIN_API_PATH.test(url)) return undefined;
  const parsed = new URL(url, 'http://gateway.invalid');
  if (parsed.pathname.startsWith('/api/')) return undefined;
  const subdomain = host?.match(/^([a-z0-9-]+)(\.raw)?\.localhost(:\d+)?$/i)?.[1];
  const text = subdomain ?? parsed.searchParams.get('canisterId') ?? undefined;
  if (text === undefined) return undefined;
  try {
    return Principal.fromText(text);
  } catch {
    throw badRequest(`"${text}" names no canister: use http://<canister id>.localhost:<port>/… or ?canisterId=<canister id>.`);
  }
}

export class HttpGateway {
  constructor(private readonly calls: GatewayCalls) {}

  async serve(request: GatewayRequest): Promise<GatewayResponse> {
    const { canisterId } = request;
    const fields = { method: request.method, url: request.url, headers: request.headers, body: request.body };
    let response = decodeResponse(await this.#call('query', canisterId, 'http_request', IDL.encode([HttpRequest], [{ ...fields, certificate_version: [CERTIFICATE_VERSION] }])), canisterId);
    if (response.upgrade[0] === true) {
      response = decodeResponse(await this.#call('update', canisterId, 'http_request_update', IDL.encode([HttpUpdateRequest], [fields])), canisterId);
    }
    if (response.status_code < 100 || response.status_code > 599) {
      throw new HttpInterfaceError(502, `Canister ${canisterId.toText()} answered HTTP status ${response.status_code}, which is not a valid status code.`);
    }
    const body = await this.#streamed(canisterId, response);
    const headers = response.headers.filter(([name]) => !HOP_BY_HOP_HEADERS.has(name.toLowerCase()));
    return { status: response.status_code, headers, body };
  }

  /** The whole body: the first chunk, then each callback's chunk until the token runs out. */
  async #streamed(canisterId: Principal, response: DecodedResponse): Promise<Uint8Array> {
    const chunks = [response.body];
    let size = response.body.length;
    const strategy = response.streaming_strategy[0]?.Callback;
    if (strategy === undefined) return response.body;
    const [callee, method] = strategy.callback;
    if (callee.compareTo(canisterId) !== 'eq') {
      throw new HttpInterfaceError(502, `Canister ${canisterId.toText()} named a streaming callback on another canister (${callee.toText()}); the callback must be its own query.`);
    }
    let token: Unknown | undefined = strategy.token;
    for (let calls = 0; token !== undefined; calls++) {
      if (calls >= MAX_STREAMING_CALLBACKS) throw new HttpInterfaceError(502, `Canister ${canisterId.toText()} streamed more than ${MAX_STREAMING_CALLBACKS} chunks.`);
      const reply = await this.#call('query', canisterId, method, IDL.encode([token.type()], [token]));
      const [next] = decode(StreamingCallbackResponse, reply, `${method} (streaming callback)`, canisterId) as [] | [{ body: Uint8Array; token: [] | [Unknown] }];
      if (next === undefined) break;
      size += next.body.length;
      if (size > MAX_GATEWAY_RESPONSE_BYTES) throw new HttpInterfaceError(502, `Canister ${canisterId.toText()} streamed more than ${MAX_GATEWAY_RESPONSE_BYTES} bytes.`);
      chunks.push(next.body);
      token = next.token[0];
    }
    return Buffer.concat(chunks);
  }

  async #call(kind: 'query' | 'update', canisterId: Principal, method: string, arg: Uint8Array): Promise<Uint8Array> {
    const outcome = await this.calls.call(kind, canisterId, method, arg);
    if (outcome.status === 'replied') return outcome.reply;
    // An unknown canister is a 404, as the gateway answers; anything else the canister's fault.
    const status = outcome.rejectCode === RejectCode.DestinationInvalid ? 404 : 502;
    throw new HttpInterfaceError(status, `Canister ${canisterId.toText()} did not answer ${method}: ${outcome.rejectMessage} (reject code ${outcome.rejectCode}, ${outcome.errorCode}).`);
  }
}

function decodeResponse(reply: Uint8Array, canisterId: Principal): DecodedResponse {
  return decode(HttpResponse, reply, 'http_request', canisterId) as DecodedResponse;
}

function decode(type: IDL.Type, reply: Uint8Array, method: string, canisterId: Principal): unknown {
  try {
    return IDL.decode([type], reply)[0];
  } catch (error) {
    throw new HttpInterfaceError(502, `Canister ${canisterId.toText()} answered ${method} with a value that is not an HTTP gateway response: ${(error as Error).message}`);
  }
}
