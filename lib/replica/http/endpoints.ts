// The IC HTTP interface's endpoints over an IngressBackend, independent of the socket layer:
// each takes the URL's effective id and the raw body and returns the HTTP status and CBOR body
// a real replica would send (interface spec, "HTTP interface"; @dfinity/agent 3.4.3's usage).
import { IC_RESPONSE_DOMAIN_SEPARATOR } from '@dfinity/agent';
import { encodeWithSelfDescribedTag } from '@dfinity/cbor';
import { Principal } from '@dfinity/principal';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils';
import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { RejectCode } from '../errors.js';
import type { CallOutcome, IngressBackend, IngressMessage } from '../ingress.js';
import { BoundedMemo } from './bounded-memo.js';
import { CertifiedState } from './certificate.js';
import { type AuthenticatedRequest, authenticate, MAX_INGRESS_TTL_NS } from './envelope.js';
import { badRequest, forbidden, messageOf, notFound } from './errors.js';
import { selectionOf } from './hash-tree.js';
import { engineFailure, IngressQueue } from './ingress-queue.js';
import type { ReplicaKeys } from './keys.js';
import { hashOfMap } from './request-id.js';
import { RequestLog, type RequestLogLimits } from './request-log.js';
import { stateContent, subnetTrees } from './state-tree.js';

/** How long a v3 (synchronous) call waits for its outcome before answering 202 (then the agent polls). */
export const SYNC_CALL_TIMEOUT_MS = 10_000;
/** How long shutting down waits for calls still executing before it gives up on them. */
export const DRAIN_TIMEOUT_MS = 5_000;
const MANAGEMENT_CANISTER = Principal.managementCanister();
/** First labels a read_state may ask for, per endpoint (interface spec, "Request: Read state"). */
const READABLE_PATHS: Record<'canister' | 'subnet', readonly string[]> = {
  subnet: ['time', 'subnet', 'canister_ranges'],
  canister: ['time', 'subnet', 'canister_ranges', 'request_status', 'canister', 'api_boundary_nodes']
};
/** The /canister/<id>/<field> a read_state may ask for (certified_data is for queries' certificates). */
const READABLE_CANISTER_FIELDS: readonly string[] = ['module_hash', 'controllers', 'metadata'];
/** PKCS#8 wrapping of a raw Ed25519 seed, for Node's native signer. */
const ED25519_PKCS8_PREFIX = hexToBytes('302e020100300506032b657004220420');

export interface Reply {
  status: number;
  body: Uint8Array | string;
}

export interface EndpointOptions {
  keys: ReplicaKeys;
  /** Wall clock in ms; in live mode replica time is advanced to it before answering. */
  clock?: () => number;
  live?: boolean;
  /** Default SYNC_CALL_TIMEOUT_MS. */
  syncCallTimeoutMs?: number;
  /** Least time between ingress rounds (default 0); see IngressQueueOptions. */
  roundIntervalMs?: number;
  /** Bounds of the request-status store (tests lower them to fill it). */
  requestLog?: RequestLogLimits;
  /** Called for engine failures that are answered as SYS_FATAL rejects (never thrown at clients). */
  onEngineError?: (error: unknown) => void;
}

/** Which kind of id the URL names: /canister/<effective canister id> or /subnet/<subnet id>. */
export type Scope = 'canister' | 'subnet';

interface Target {
  scope: Scope;
  id: Principal;
}

const cbor = (status: number, value: unknown): Reply => ({ status, body: encodeWithSelfDescribedTag(value) });

export class IcHttpInterface {
  readonly log: RequestLog;
  readonly #certified: CertifiedState;
  readonly #queue: IngressQueue;
  readonly #nodeKey: KeyObject;
  readonly #clock: () => number;
  readonly #live: boolean;
  #timeSync: Promise<void> = Promise.resolve();
  /** Numbers the gateway's update calls (their nonces, so each has its own request id). */
  #gatewayCalls = 0;

  constructor(
    private readonly backend: IngressBackend,
    private readonly options: EndpointOptions
  ) {
    this.log = new RequestLog(options.requestLog);
    this.#certified = new CertifiedState(stateContent(backend, subnetTrees(options.keys), this.log), options.keys.blsSecretKey, () => backend.timeNs());
    this.#queue = new IngressQueue({ backend, log: this.log, certified: this.#certified, roundIntervalMs: options.roundIntervalMs, onEngineError: options.onEngineError });
    this.#nodeKey = createPrivateKey({ key: Buffer.from(concatBytes(ED25519_PKCS8_PREFIX, options.keys.nodeSecretKey)), format: 'der', type: 'pkcs8' });
    this.#clock = options.clock ?? Date.now;
    this.#live = options.live ?? true;
    backend.setDataCertificateProvider?.(canisterId => this.#dataCertificate(canisterId));
  }

  status(): Reply {
    return cbor(200, {
      ic_api_version: '0.18.0',
      impl_version: 'shardorm-local-replica',
      root_key: this.options.keys.rootKeyDer,
      replica_health_status: 'healthy'
    });
  }

  /** POST /api/v{2,3,4}/canister/<ecid>/call and /api/v4/subnet/<sid>/call (v2 is asynchronous). */
  async call(scope: Scope, idText: string, body: Uint8Array, synchronous: boolean): Promise<Reply> {
    const target = this.#target(scope, idText);
    const request = authenticate(body, 'call', await this.#now());
    const message = ingressMessage(request, target);
    const rejection = await this.#admit(request, message);
    if (rejection !== undefined) return nonReplicatedRejection(rejection);
    if (!synchronous) return { status: 202, body: '' };
    const finished = await this.#queue.waitForCertified(request.requestId, this.options.syncCallTimeoutMs ?? SYNC_CALL_TIMEOUT_MS);
    if (!finished) return { status: 202, body: '' };
    const certificate = this.#certify([['time'], ['request_status', request.requestId]]);
    return cbor(200, { status: 'replied', certificate });
  }

  /** POST /api/v{2,3}/canister/<ecid>/query and /api/v3/subnet/<sid>/query: the reply signed by the node key. */
  async query(scope: Scope, idText: string, body: Uint8Array): Promise<Reply> {
    const target = this.#target(scope, idText);
    const nowNs = await this.#now();
    const request = authenticate(body, 'query', nowNs);
    const outcome = await this.backend.query(ingressMessage(request, target)).catch(error => this.#engineFailure(error));
    const fields: Record<string, unknown> =
      outcome.status === 'replied'
        ? { status: 'replied', reply: { arg: outcome.reply } }
        : { status: 'rejected', reject_code: outcome.rejectCode, reject_message: outcome.rejectMessage, error_code: outcome.errorCode };
    const hash = hashOfMap({ ...fields, timestamp: nowNs, request_id: request.requestId });
    const signature = new Uint8Array(sign(null, concatBytes(IC_RESPONSE_DOMAIN_SEPARATOR, hash), this.#nodeKey));
    return cbor(200, { ...fields, signatures: [{ timestamp: nowNs, signature, identity: this.options.keys.nodeId.toUint8Array() }] });
  }

  /** POST /api/v{2,3}/canister/<ecid>/read_state and /api/v{2,3}/subnet/<sid>/read_state. */
  async readState(scope: Scope, idText: string, body: Uint8Array): Promise<Reply> {
    const id = this.#target(scope, idText).id;
    const request = authenticate(body, 'read_state', await this.#now());
    const paths = request.paths!;
    for (const path of paths) this.#authorizePath(scope, id, request, path);
    return cbor(200, { certificate: this.#certify([[utf8ToBytes('time')], ...paths]) });
  }

  /**
   * An anonymous call made by the HTTP gateway: a query, or an update that goes through
   * inspect_message and an ingress round like any other call (its status is certified too).
   */
  async gatewayCall(kind: 'query' | 'update', canisterId: Principal, methodName: string, arg: Uint8Array): Promise<CallOutcome> {
    const nowNs = await this.#now();
    const sender = Principal.anonymous();
    const message: IngressMessage = { sender, canisterId, methodName, arg, effectiveCanisterId: canisterId };
    if (kind === 'query') return this.backend.query(message).catch(error => this.#engineFailure(error));
    const ingressExpiryNs = nowNs + MAX_INGRESS_TTL_NS;
    const nonce = utf8ToBytes(`gateway-${++this.#gatewayCalls}`);
    const requestId = hashOfMap({ request_type: 'call', sender: sender.toUint8Array(), canister_id: canisterId.toUint8Array(), method_name: methodName, arg, ingress_expiry: ingressExpiryNs, nonce });
    const request: AuthenticatedRequest = { requestType: 'call', requestId, sender, ingressExpiryNs, canisterId, methodName, arg };
    const rejection = await this.#admit(request, message);
    if (rejection !== undefined) return rejection;
    if (!(await this.#queue.waitForCertified(requestId, this.options.syncCallTimeoutMs ?? SYNC_CALL_TIMEOUT_MS))) {
      return { status: 'rejected', rejectCode: RejectCode.SysTransient, rejectMessage: `http_request_update is still running after ${this.options.syncCallTimeoutMs ?? SYNC_CALL_TIMEOUT_MS} ms`, errorCode: 'IC0001' };
    }
    return this.log.get(requestId)?.outcome ?? { status: 'rejected', rejectCode: RejectCode.SysTransient, rejectMessage: 'the reply was dropped to bound memory', errorCode: 'IC0001' };
  }

  /**
   * Takes a call not seen before into the next round, after canister_inspect_message accepted it
   * (once: a known request id is answered from its status). Resolves to inspect's rejection, if any.
   */
  async #admit(request: AuthenticatedRequest, message: IngressMessage): Promise<CallOutcome | undefined> {
    if (this.log.get(request.requestId) !== undefined) return undefined;
    this.log.assertRoom();
    this.#queue.assertRoom();
    const rejection = await this.backend.inspectIngress(message).catch(error => this.#engineFailure(error));
    if (rejection !== undefined) return rejection;
    // An identical request may have been accepted while this one was being inspected.
    if (this.log.get(request.requestId) === undefined) this.#queue.accept(request, message);
    return undefined;
  }

  /** The URL's effective canister or subnet id; this replica has one subnet. */
  #target(scope: Scope, idText: string): Target {
    const id = parsePrincipal(idText);
    if (scope === 'subnet' && id.compareTo(this.options.keys.subnetId) !== 'eq') {
      throw notFound(`Subnet ${id.toText()} is not this replica's; its one subnet is ${this.options.keys.subnetId.toText()}.`);
    }
    return { scope, id };
  }

  /** In live mode, advances replica time to the wall clock (the server's round pump calls it). */
  async catchUp(): Promise<void> {
    await this.#now();
  }

  /** Replica time after (in live mode) catching up with the wall clock. */
  async #now(): Promise<bigint> {
    if (this.#live) {
      this.#timeSync = this.#timeSync.then(async () => {
        const lagMs = this.#clock() - Number(this.backend.timeNs() / 1_000_000n);
        if (lagMs >= 1) await this.backend.advanceTime(Math.floor(lagMs));
      });
      await this.#timeSync;
    }
    const nowNs = this.backend.timeNs();
    this.log.prune(nowNs);
    return nowNs;
  }

  #engineFailure(error: unknown): CallOutcome {
    this.options.onEngineError?.(error);
    return engineFailure(error);
  }

  /** The live pump ran a round outside ingress: the next read re-certifies if anything changed. */
  afterTick(): void {
    this.#certified.invalidate();
  }

  /** Resolves once every accepted call has finished, or after DRAIN_TIMEOUT_MS (shutdown). */
  async drain(): Promise<void> {
    await this.#queue.drain(DRAIN_TIMEOUT_MS);
  }

  /**
   * The data certificate handed to a query: a witness of the round's certified state, re-certified
   * first if the canister's certified data changed since (a query must see its own data).
   */
  #dataCertificate(canisterId: Principal): Uint8Array | undefined {
    const info = this.backend.canisterInfo(canisterId);
    if (info === undefined) return undefined;
    const path = ['canister', canisterId.toUint8Array(), 'certified_data'];
    const certified = this.#certified.certify().tree.lookup(path)?.value;
    if (certified === undefined || Buffer.compare(certified, info.certifiedData) !== 0) this.#certified.invalidate();
    return this.#certify([['time'], path]);
  }

  #certify(paths: (string | Uint8Array)[][]): Uint8Array {
    return this.#certified.certificate(selectionOf(paths.map(path => path.map(label => (typeof label === 'string' ? utf8ToBytes(label) : label)))));
  }

  /** Which paths a read_state may ask for (interface spec, "Request: Read state"). */
  #authorizePath(scope: 'canister' | 'subnet', id: Principal, request: AuthenticatedRequest, path: Uint8Array[]): void {
    const head = path.length === 0 ? '' : new TextDecoder().decode(path[0]);
    const allowed = READABLE_PATHS[scope];
    if (!allowed.includes(head)) throw forbidden(`read_state may not read path /${head} here; readable: ${allowed.map(a => '/' + a).join(', ')}.`);
    if (head === 'request_status') {
      // The bare path would reveal every sender's statuses and replies.
      if (path.length < 2) throw forbidden('read_state of /request_status needs a request id: read /request_status/<request id> of a request you sent.');
      const status = this.log.get(path[1]);
      if (status !== undefined && status.sender.compareTo(request.sender) !== 'eq') {
        throw forbidden('Only the sender of a request may read its status.');
      }
    }
    if (head === 'canister') {
      if (path.length < 3) throw forbidden('read_state of /canister needs a full path /canister/<id>/<field>.');
      const field = new TextDecoder().decode(path[2]);
      if (Principal.fromUint8Array(path[1]).compareTo(id) !== 'eq') throw forbidden(`A read_state sent to ${id.toText()} may only read /canister/${id.toText()}/….`);
      if (!READABLE_CANISTER_FIELDS.includes(field)) throw forbidden(`/canister/<id>/${field} is not readable by read_state; read module_hash, controllers or metadata.`);
    }
  }
}

/** URL ids seen lately, parsed (base32 and a CRC per request otherwise; clients call few canisters). */
const MAX_CACHED_URL_IDS = 1024;
const urlIds = new BoundedMemo<string, Principal>(MAX_CACHED_URL_IDS);

function parsePrincipal(text: string): Principal {
  return urlIds.get(text, () => {
    try {
      return Principal.fromText(decodeURIComponent(text));
    } catch {
      throw badRequest(`"${text}" in the URL is not a valid principal.`);
    }
  });
}

/**
 * Routing check: the URL's effective canister id must be the target, except for the management
 * canister; a call to an effective subnet may only go to the management canister (which then
 * judges the call as one with no particular effective canister).
 */
function ingressMessage(request: AuthenticatedRequest, target: Target): IngressMessage {
  const canisterId = request.canisterId!;
  const isManagement = canisterId.compareTo(MANAGEMENT_CANISTER) === 'eq';
  if (target.scope === 'subnet' && !isManagement) {
    throw badRequest(`Calls to an effective subnet (${target.id.toText()}) must target the management canister aaaaa-aa, not ${canisterId.toText()}; call a canister through /api/v4/canister/<canister id>/call.`);
  }
  if (target.scope === 'canister' && !isManagement && canisterId.compareTo(target.id) !== 'eq') {
    throw badRequest(`Effective canister id ${target.id.toText()} in the URL does not match canister_id ${canisterId.toText()}.`);
  }
  const effectiveCanisterId = target.scope === 'canister' ? target.id : MANAGEMENT_CANISTER;
  return { sender: request.sender, canisterId, methodName: request.methodName!, arg: request.arg!, effectiveCanisterId };
}

function nonReplicatedRejection(outcome: CallOutcome): Reply {
  if (outcome.status !== 'rejected') throw new Error('inspectIngress must resolve to undefined or a rejection');
  return cbor(200, {
    status: 'non_replicated_rejection',
    reject_code: outcome.rejectCode,
    reject_message: outcome.rejectMessage,
    error_code: outcome.errorCode
  });
}
