// `replica.createAgent({ identity })`: @dfinity/agent's `Agent` interface served by the engine
// directly, without HTTP, envelopes or signatures of the sender, so `Actor.createActor(idl,
// { agent, canisterId })` (and the client SDK built on it) runs in-process. The sender is the
// identity's principal. Update replies come back in a certificate, as from the IC's v3 call
// endpoint: with `certificates: 'bls'` (the default) signed by the replica's BLS root key, which
// any stock actor verifies; with `certificates: 'in-process'` signed by a keyed hash that only
// `agent.blsVerify` accepts (pass it to createActor: ~5 ms of signing and ~16 ms of pairing saved
// per update). A call that cannot finish in the current rounds answers 202 and is polled through
// readState, as over HTTP. Importing this module adds `createAgent` to LocalReplica.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AnonymousIdentity, requestIdOf, type Agent, type ApiQueryResponse, type CallOptions, type Identity, type QueryFields, type ReadStateOptions, type ReadStateResponse, type RequestId, type SubmitResponse, QueryResponseStatus } from '@dfinity/agent';
import { lebEncode, type JsonObject } from '@dfinity/candid';
import { encode, encodeWithSelfDescribedTag } from '@dfinity/cbor';
import { Principal } from '@dfinity/principal';
import { bytesToHex } from '@noble/hashes/utils';
import { invariant, ReplicaError } from './errors.js';
import type { CallOutcome, IngressMessage } from './ingress.js';
import { LocalReplica } from './replica.js';
import { CertificateSigner } from './http/certificate.js';
import { LabeledTree, selectionOf } from './http/hash-tree.js';
import { deriveReplicaKeys } from './http/keys.js';
import { statusTree } from './http/request-log.js';

/** Request statuses an agent keeps for readState polling; the oldest finished go first. */
export const MAX_AGENT_REQUEST_STATUSES = 10_000;
/** Ingress expiry the agent puts in its request ids (the IC's maximum, 5 minutes), in ns. */
const INGRESS_EXPIRY_NS = 5n * 60n * 1_000_000_000n;
const STATE_ROOT_DOMAIN = Buffer.concat([Buffer.from([13]), Buffer.from('ic-state-root')]);

export interface CreateAgentOptions {
  /** Whose calls these are (anonymous by default); its principal is the sender, nothing is signed. */
  identity?: Identity;
  /** How certificates are signed: 'bls' (stock verification) or 'in-process' (use `agent.blsVerify`). */
  certificates?: 'bls' | 'in-process';
}

declare module './replica.js' {
  interface LocalReplica {
    /** An @dfinity/agent `Agent` over this replica, for `Actor.createActor(idl, { agent, canisterId })`. */
    createAgent(options?: CreateAgentOptions): InProcessAgent;
  }
}

LocalReplica.prototype.createAgent = function createAgent(this: LocalReplica, options: CreateAgentOptions = {}): InProcessAgent {
  return new InProcessAgent(this, options);
};

interface Signer {
  certify(tree: LabeledTree, selection: ReturnType<typeof selectionOf>): Uint8Array;
}

/** Signs state roots with a per-agent secret: cheap, and verifiable only by `agent.blsVerify`. */
class KeyedHashSigner implements Signer {
  readonly #secret = randomBytes(32);

  signature(message: Uint8Array): Uint8Array {
    return new Uint8Array(createHash('sha384').update(this.#secret).update(message).digest());
  }

  certify(tree: LabeledTree, selection: ReturnType<typeof selectionOf>): Uint8Array {
    return encodeWithSelfDescribedTag({ tree: tree.witness(selection), signature: this.signature(Buffer.concat([STATE_ROOT_DOMAIN, tree.hash()])) });
  }
}

export class InProcessAgent implements Agent {
  readonly rootKey: Uint8Array;
  /**
   * Verifies this agent's 'in-process' certificates; pass it as `blsVerify` to Actor.createActor.
   * With 'bls' certificates it is not needed (the stock BLS check passes).
   */
  readonly blsVerify: (publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array) => Promise<boolean>;
  #identity: Identity | null;
  readonly #signer: Signer;
  readonly #statuses = new Map<string, CallOutcome | undefined>();
  #nonce = 0n;

  constructor(
    private readonly replica: LocalReplica,
    options: CreateAgentOptions = {}
  ) {
    const keys = deriveReplicaKeys(replica.seed);
    this.rootKey = keys.rootKeyDer;
    this.#identity = options.identity ?? new AnonymousIdentity();
    if (options.certificates === 'in-process') {
      const signer = new KeyedHashSigner();
      this.#signer = signer;
      this.blsVerify = async (_key, signature, message) => {
        const expected = signer.signature(message);
        return signature.length === expected.length && timingSafeEqual(signature, expected);
      };
    } else {
      this.#signer = new CertificateSigner(keys.blsSecretKey);
      this.blsVerify = async () => {
        throw new ReplicaError("agent.blsVerify checks 'in-process' certificates; this agent signs with BLS, so leave blsVerify unset");
      };
    }
  }

  async getPrincipal(): Promise<Principal> {
    return this.#sender(undefined);
  }

  async call(canisterId: Principal | string, fields: CallOptions & { nonce?: Uint8Array }): Promise<SubmitResponse> {
    const sender = await this.#sender(undefined);
    const message = this.#message(canisterId, fields.methodName, fields.arg, sender, fields.effectiveCanisterId);
    const requestId = this.#requestId('call', message, fields.nonce);
    const refused = await this.replica.inspectIngress(message);
    if (refused) {
      invariant(refused.status === 'rejected', 'inspectIngress answers only rejections');
      // Refused before execution: an uncertified reject body, as the v3 call endpoint answers it.
      return submitted(requestId, 200, { reject_code: refused.rejectCode, reject_message: refused.rejectMessage, error_code: refused.errorCode });
    }
    const key = bytesToHex(requestId);
    this.#remember(key, undefined);
    this.replica.runIngress(message, (outcome) => this.#remember(key, outcome));
    if (this.#statuses.get(key) === undefined) return submitted(requestId, 202, null); // the actor polls
    return submitted(requestId, 200, { certificate: this.#certificate(message.effectiveCanisterId, [[utf8('request_status'), requestId]]) });
  }

  async query(canisterId: Principal | string, fields: QueryFields, identity?: Identity | Promise<Identity>): Promise<ApiQueryResponse> {
    const sender = await this.#sender(identity);
    const message = this.#message(canisterId, fields.methodName, fields.arg, sender, fields.effectiveCanisterId);
    const requestId = this.#requestId('query', message);
    const outcome = await this.replica.query(message);
    const httpDetails = { ok: true, status: 200, statusText: 'OK', headers: [] };
    if (outcome.status === 'replied') return { status: QueryResponseStatus.Replied, reply: { arg: outcome.reply }, httpDetails, requestId };
    return { status: QueryResponseStatus.Rejected, reject_code: outcome.rejectCode, reject_message: outcome.rejectMessage, error_code: outcome.errorCode, httpDetails, requestId };
  }

  async readState(effectiveCanisterId: Principal | string, options: ReadStateOptions): Promise<ReadStateResponse> {
    return { certificate: this.#certificate(Principal.from(effectiveCanisterId), options.paths) };
  }

  async fetchRootKey(): Promise<Uint8Array> {
    return this.rootKey;
  }

  async status(): Promise<JsonObject> {
    return { ic_api_version: '0.18.0', impl_source: 'shardorm/replica (in-process agent)', root_key: this.rootKey as unknown as JsonObject };
  }

  replaceIdentity(identity: Identity): void {
    this.#identity = identity;
  }

  invalidateIdentity(): void {
    this.#identity = null;
  }

  // Certificate.verify asks these of an agent: its time is the replica's, not the wall clock's.
  getTimeDiffMsecs(): number {
    return Number(this.replica.timeNs() / 1_000_000n) - Date.now();
  }

  hasSyncedTime(): boolean {
    return true;
  }

  async syncTime(): Promise<void> {}

  async #sender(identity: Identity | Promise<Identity> | undefined): Promise<Principal> {
    const id = (await identity) ?? this.#identity;
    if (!id) throw new ReplicaError('the agent identity was invalidated; call agent.replaceIdentity(identity) first');
    return id.getPrincipal();
  }

  #message(canisterId: Principal | string, methodName: string, arg: Uint8Array, sender: Principal, effective: Principal | string | undefined): IngressMessage {
    const id = Principal.from(canisterId);
    return { sender, canisterId: id, methodName, arg: new Uint8Array(arg), effectiveCanisterId: effective === undefined ? id : Principal.from(effective) };
  }

  /** The request id a signed envelope of this content would have (unique per call: a nonce). */
  #requestId(type: 'call' | 'query', m: IngressMessage, nonce?: Uint8Array): RequestId {
    const content: Record<string, unknown> = { request_type: type, canister_id: m.canisterId, method_name: m.methodName, arg: m.arg, sender: m.sender, ingress_expiry: this.replica.timeNs() + INGRESS_EXPIRY_NS };
    content.nonce = nonce ?? new Uint8Array(lebEncode(this.#nonce++));
    return requestIdOf(content);
  }

  #remember(key: string, outcome: CallOutcome | undefined): void {
    if (!this.#statuses.has(key) && this.#statuses.size >= MAX_AGENT_REQUEST_STATUSES) {
      const finished = [...this.#statuses].find(([, o]) => o !== undefined);
      if (!finished) throw new ReplicaError(`${MAX_AGENT_REQUEST_STATUSES} calls of this agent are still running; advance time or tick until some finish`);
      this.#statuses.delete(finished[0]);
    }
    this.#statuses.set(key, outcome);
  }

  /** A certificate of `time`, the agent's request statuses asked for, and the canister's facts. */
  #certificate(canisterId: Principal, paths: Uint8Array[][]): Uint8Array {
    const requested = new Map<string, LabeledTree>();
    for (const path of paths) {
      if (path.length < 2 || Buffer.from(path[0]).toString() !== 'request_status') continue;
      const key = bytesToHex(path[1]);
      if (this.#statuses.has(key)) requested.set(key, statusTree(this.#statuses.get(key)));
    }
    const entries: [string, LabeledTree][] = [['time', LabeledTree.leaf(new Uint8Array(lebEncode(this.replica.timeNs())))]];
    if (requested.size > 0) entries.push(['request_status', LabeledTree.map([...requested].map(([k, t]) => [Buffer.from(k, 'hex'), t] as const))]);
    const info = this.replica.canisterInfo(canisterId);
    if (info) {
      const fields: [string, LabeledTree][] = [
        ['certified_data', LabeledTree.leaf(info.certifiedData)],
        ['controllers', LabeledTree.leaf(encodeControllers(info.controllers))]
      ];
      if (info.moduleHash) fields.push(['module_hash', LabeledTree.leaf(info.moduleHash)]);
      entries.push(['canister', LabeledTree.map([[canisterId.toUint8Array(), LabeledTree.map(fields)]])]);
    }
    return this.#signer.certify(LabeledTree.map(entries), selectionOf([[utf8('time')], ...paths]));
  }
}

function submitted(requestId: RequestId, status: number, body: SubmitResponse['response']['body']): SubmitResponse {
  return { requestId, response: { ok: true, status, statusText: status === 202 ? 'Accepted' : 'OK', body, headers: [] } };
}

function encodeControllers(controllers: Principal[]): Uint8Array {
  return encode(controllers.map((c) => c.toUint8Array()));
}

function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
