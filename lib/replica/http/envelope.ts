// Decodes and authenticates request envelopes (interface spec, "Authentication"): CBOR
// {content, sender_pubkey?, sender_sig?, sender_delegation?}; the request id is the
// representation-independent hash of `content` (request-id.ts; a test checks it against the
// agent's own `requestIdOf`, so both sides agree byte for byte). Every failure is a typed 4xx
// error, never an exception escaping.
import { IC_REQUEST_AUTH_DELEGATION_DOMAIN_SEPARATOR, IC_REQUEST_DOMAIN_SEPARATOR } from '@dfinity/agent';
import { Principal } from '@dfinity/principal';
import { bytesToHex, concatBytes } from '@noble/hashes/utils';
import { BoundedMemo } from './bounded-memo.js';
import { decodeCbor } from './cbor.js';
import { hashOfMap } from './request-id.js';
import { badRequest, forbidden, type HttpInterfaceError, tooLarge } from './errors.js';
import { MAX_INGRESS_BYTES } from '../ingress.js';
import { parsePublicKey, verifySignature } from './signatures.js';

/** The IC's ingress message limit (the engine's, shared through the ingress seam), applied to `arg`. */
export const MAX_ARG_BYTES = MAX_INGRESS_BYTES;
/** Largest HTTP body accepted: the ingress limit plus room for the envelope. */
export const MAX_BODY_BYTES = MAX_INGRESS_BYTES + 256 * 1024;
/** Requests may expire at most this far ahead of replica time (the agent uses 5 minutes). */
export const MAX_INGRESS_TTL_NS = 5n * 60n * 1_000_000_000n;
/** Clock drift tolerated between client and replica when checking expiry. */
export const PERMITTED_DRIFT_NS = 60n * 1_000_000_000n;
/** Spec limits on delegation chains and their target lists. */
export const MAX_DELEGATIONS = 20;
export const MAX_DELEGATION_TARGETS = 1000;
/** Spec limits on read_state: paths per request and labels per path. */
export const MAX_PATHS = 1000;
export const MAX_PATH_LABELS = 127;
const MAX_NONCE_BYTES = 32;
const MAX_METHOD_NAME_BYTES = 20_000;
const MAX_PRINCIPAL_BYTES = 29;
/** Largest DER public key a delegation may name (the accepted schemes need at most 91 bytes). */
const MAX_DELEGATION_PUBKEY_BYTES = 1024;

export type RequestType = 'call' | 'query' | 'read_state';

export interface AuthenticatedRequest {
  requestType: RequestType;
  requestId: Uint8Array;
  sender: Principal;
  ingressExpiryNs: bigint;
  /** Present for call and query. */
  canisterId?: Principal;
  methodName?: string;
  arg?: Uint8Array;
  /** Present for read_state. */
  paths?: Uint8Array[][];
}

type CborMap = Record<string, unknown>;

/** 413 for a body over MAX_BODY_BYTES (`bytes`: its size, or as much as was read before stopping). */
export function bodyTooLarge(bytes: number): HttpInterfaceError {
  return tooLarge(`Request body of at least ${bytes} bytes exceeds the ${MAX_BODY_BYTES}-byte limit; install large Wasm modules with upload_chunk + install_chunked_code.`);
}

/**
 * Decodes `body`, checks it is a `requestType` request that has not expired, and verifies the
 * sender's signature and delegations against replica time `nowNs`.
 */
export function authenticate(body: Uint8Array, requestType: RequestType, nowNs: bigint): AuthenticatedRequest {
  if (body.length > MAX_BODY_BYTES) throw bodyTooLarge(body.length);
  const envelope = decodeCbor(body);
  if (!isMap(envelope) || !isMap(envelope.content)) throw badRequest('Request envelope must be a CBOR map with a "content" map.');
  const content = envelope.content;
  if (content.request_type !== requestType) {
    throw badRequest(`Expected request_type "${requestType}" on this endpoint, got ${JSON.stringify(content.request_type)}.`);
  }
  const request: AuthenticatedRequest = {
    requestType,
    requestId: hashOf(content, 'content'),
    sender: principalField(content, 'sender'),
    ingressExpiryNs: natField(content, 'ingress_expiry')
  };
  if (content.nonce !== undefined) bytesField(content, 'nonce', MAX_NONCE_BYTES);
  if (requestType === 'read_state') {
    request.paths = pathsField(content);
  } else {
    request.canisterId = principalField(content, 'canister_id');
    const methodName = content.method_name;
    if (typeof methodName !== 'string' || methodName.length > MAX_METHOD_NAME_BYTES) throw badRequest(`Field "method_name" must be a text of at most ${MAX_METHOD_NAME_BYTES} bytes.`);
    request.methodName = methodName;
    request.arg = bytesField(content, 'arg', MAX_ARG_BYTES);
  }
  checkExpiry(request.ingressExpiryNs, nowNs);
  checkSender(envelope, request, nowNs);
  return request;
}

/** Self-authenticating ids of recent sender keys (a busy client signs every call with one key). */
const MAX_CACHED_SENDERS = 1024;
const senders = new BoundedMemo<string, Uint8Array>(MAX_CACHED_SENDERS);

/** The self-authenticating principal of a DER key (SHA-224 in JavaScript, hence the cache). */
function selfAuthenticating(pubkey: Uint8Array): Uint8Array {
  return senders.get(bytesToHex(pubkey), () => Principal.selfAuthenticating(pubkey).toUint8Array());
}

function checkExpiry(expiryNs: bigint, nowNs: bigint): void {
  const min = nowNs - PERMITTED_DRIFT_NS;
  const max = nowNs + MAX_INGRESS_TTL_NS + PERMITTED_DRIFT_NS;
  if (expiryNs < min || expiryNs > max) {
    // The agent recognises this prefix (it re-syncs its clock and retries once).
    throw badRequest(`Invalid request expiry: Specified ingress_expiry not within expected range: Minimum allowed expiry: ${min}, Maximum allowed expiry: ${max}, Provided expiry: ${expiryNs}`);
  }
}

function checkSender(envelope: CborMap, request: AuthenticatedRequest, nowNs: bigint): void {
  const { sender_pubkey: pubkey, sender_sig: sig, sender_delegation: delegations } = envelope;
  if (request.sender.isAnonymous()) {
    if (pubkey !== undefined || sig !== undefined || delegations !== undefined) {
      throw forbidden('The anonymous sender must not carry sender_pubkey, sender_sig or sender_delegation.');
    }
    return;
  }
  if (!(pubkey instanceof Uint8Array) || !(sig instanceof Uint8Array)) {
    throw forbidden(`Sender ${request.sender.toText()} is not anonymous, so the envelope needs sender_pubkey and sender_sig.`);
  }
  const owner = selfAuthenticating(pubkey);
  if (Buffer.compare(owner, request.sender.toUint8Array()) !== 0) {
    throw forbidden(`Sender ${request.sender.toText()} does not match sender_pubkey (self-authenticating id ${Principal.fromUint8Array(owner).toText()}).`);
  }
  let signer = pubkey;
  // The IC refuses a chain in which any key appears twice (a cycle, or a key delegating to itself).
  const keysSeen = new Set([bytesToHex(pubkey)]);
  const chain = delegations === undefined ? [] : delegations;
  if (!Array.isArray(chain) || chain.length > MAX_DELEGATIONS) throw forbidden(`sender_delegation must be an array of at most ${MAX_DELEGATIONS} signed delegations.`);
  for (const [index, signed] of chain.entries()) {
    if (!isMap(signed) || !isMap(signed.delegation) || !(signed.signature instanceof Uint8Array)) {
      throw forbidden(`Delegation ${index} must be {delegation: {pubkey, expiration, targets?}, signature}.`);
    }
    const delegation = signed.delegation;
    const next = bytesField(delegation, 'pubkey', MAX_DELEGATION_PUBKEY_BYTES);
    const expiration = natField(delegation, 'expiration');
    if (keysSeen.has(bytesToHex(next))) {
      throw forbidden(`Delegation ${index} delegates to a key that already appears earlier in the chain (a cycle or a self-delegation); delegate each step to a new key.`);
    }
    keysSeen.add(bytesToHex(next));
    const message = concatBytes(IC_REQUEST_AUTH_DELEGATION_DOMAIN_SEPARATOR, hashOf(delegation, `delegation ${index}`));
    if (!verifySignature(parsePublicKey(signer), message, signed.signature)) {
      throw forbidden(`Invalid signature on delegation ${index}: it must be signed by the previous key in the chain.`);
    }
    if (expiration < nowNs) throw forbidden(`Delegation ${index} expired at ${expiration} ns (replica time ${nowNs} ns); create a fresh delegation.`);
    checkTargets(delegation.targets, request, index);
    signer = next;
  }
  const message = concatBytes(IC_REQUEST_DOMAIN_SEPARATOR, request.requestId);
  if (!verifySignature(parsePublicKey(signer), message, sig)) {
    throw forbidden(`Invalid signature: sender_sig does not verify for request ${Buffer.from(request.requestId).toString('hex')} under the ${chain.length === 0 ? 'sender' : 'last delegated'} key.`);
  }
}

function checkTargets(targets: unknown, request: AuthenticatedRequest, index: number): void {
  if (targets === undefined) return;
  if (!Array.isArray(targets) || targets.length > MAX_DELEGATION_TARGETS || !targets.every(t => t instanceof Uint8Array)) {
    throw forbidden(`Delegation ${index} targets must be an array of at most ${MAX_DELEGATION_TARGETS} principals.`);
  }
  if (request.canisterId === undefined) return; // read_state is not restricted by targets
  const target = request.canisterId.toUint8Array();
  if (!targets.some(t => Buffer.compare(Buffer.from(t), Buffer.from(target)) === 0)) {
    throw forbidden(`Delegation ${index} does not allow calls to canister ${request.canisterId.toText()}.`);
  }
}

/** Representation-independent hash; values the spec does not define (floats, null) are a 400. */
function hashOf(map: CborMap, what: string): Uint8Array {
  try {
    return hashOfMap(map);
  } catch (error) {
    throw badRequest(`Cannot compute the representation-independent hash of ${what}: ${(error as Error).message}`);
  }
}

function isMap(value: unknown): value is CborMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function bytesField(map: CborMap, name: string, maxBytes: number): Uint8Array {
  const value = map[name];
  if (!(value instanceof Uint8Array)) throw badRequest(`Field "${name}" must be a CBOR byte string.`);
  if (value.length > maxBytes) throw badRequest(`Field "${name}" is ${value.length} bytes; the limit is ${maxBytes}.`);
  return value;
}

/**
 * Principals of recent requests, one object per id: the engine memoises an id's text per object
 * (canister-ids.ts), and clients send the same sender and canister ids with every call.
 */
const MAX_CACHED_PRINCIPALS = 4096;
const principals = new BoundedMemo<string, Principal>(MAX_CACHED_PRINCIPALS);

function principalField(map: CborMap, name: string): Principal {
  const bytes = bytesField(map, name, MAX_PRINCIPAL_BYTES);
  return principals.get(bytesToHex(bytes), () => Principal.fromUint8Array(bytes.slice())); // a copy: the body is not kept alive
}

function natField(map: CborMap, name: string): bigint {
  const value = map[name];
  if (typeof value === 'bigint' && value >= 0n) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  throw badRequest(`Field "${name}" must be a natural number (nanoseconds since the epoch for expiries).`);
}

function pathsField(content: CborMap): Uint8Array[][] {
  const paths = content.paths;
  if (!Array.isArray(paths) || paths.length > MAX_PATHS) throw badRequest(`Field "paths" must be an array of at most ${MAX_PATHS} paths.`);
  for (const path of paths) {
    if (!Array.isArray(path) || path.length > MAX_PATH_LABELS || !path.every(label => label instanceof Uint8Array)) {
      throw badRequest(`Each read_state path must be an array of at most ${MAX_PATH_LABELS} byte-string labels.`);
    }
  }
  return paths as Uint8Array[][];
}
