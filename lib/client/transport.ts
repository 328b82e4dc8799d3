// ShardTransport over an @dfinity/agent Agent: reads go to a shard's `read` composite query, writes
// to its `execute` update. Agent failures are sorted by what the IC guarantees: a reject that
// proves the message never ran (canister stopped or stopping, SYS_TRANSIENT, a full queue) is an
// UnavailableError, safe to resend; a deleted canister is a RoutingError (refresh the map); any
// other failure of a write is an UnknownOutcomeError — never silently re-sent.
import { Actor, type ActorSubclass, type Agent } from '@dfinity/agent';
import { Principal } from '@dfinity/principal';
import { fromWireError, RoutingError, UnavailableError, UnknownOutcomeError, type WireError } from '../model/errors.js';
import type { ShardId } from '../partition/index.js';
import { requestToCandid, responseFromCandid, shardIdlFactory } from '../protocol/candid.js';
import { isReadOnly, type ShardRequest, type ShardResponse, type ShardTransport } from '../protocol/ops.js';

/** Shard actors cached per transport (one per canister the client has talked to). */
export const MAX_CACHED_ACTORS = 4096;

type Reply = { ok: unknown } | { err: WireError };
type ShardActor = ActorSubclass<{ execute(r: unknown): Promise<Reply>; read(r: unknown): Promise<Reply> }>;

/** Reject error codes that mean the message was not executed. */
// Queue full, out of cycles, stopped, stopping.
const NOT_EXECUTED = new Set(['IC0201', 'IC0207', 'IC0508', 'IC0509']);

export class AgentTransport implements ShardTransport {
  private readonly actors = new Map<ShardId, ShardActor>();

  constructor(private readonly agent: Agent) {}

  private actor(shard: ShardId): ShardActor {
    let a = this.actors.get(shard);
    if (a === undefined) {
      if (this.actors.size >= MAX_CACHED_ACTORS) this.actors.clear();
      a = Actor.createActor(shardIdlFactory, { agent: this.agent, canisterId: Principal.fromText(shard) }) as ShardActor;
      this.actors.set(shard, a);
    }
    return a;
  }

  async send(shard: ShardId, request: ShardRequest): Promise<ShardResponse> {
    const read = isReadOnly(request);
    let reply: Reply;
    try {
      const actor = this.actor(shard);
      reply = read ? await actor.read(requestToCandid(request)) : await actor.execute(requestToCandid(request));
    } catch (e) {
      throw classifyAgentError(e, shard, read);
    }
    if ('err' in reply) throw fromWireError(reply.err);
    return responseFromCandid(reply.ok);
  }
}

/** What an agent failure means for a call to `canister` (`safe`: a read, or a call that changes nothing). */
export function classifyAgentError(e: unknown, canister: string, safe: boolean): Error {
  const code = (e as { cause?: { code?: { rejectCode?: number; rejectErrorCode?: string; rejectMessage?: string } } })?.cause?.code;
  const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
  if (code?.rejectCode === 3) return new RoutingError(`canister ${canister} is gone (${code.rejectErrorCode ?? 'destination invalid'}): refresh the partition map`);
  if (code?.rejectCode === 2 || (code?.rejectErrorCode !== undefined && NOT_EXECUTED.has(code.rejectErrorCode))) {
    return new UnavailableError(`canister ${canister} did not run the call (${code.rejectErrorCode ?? 'transient'}): retry in a moment`);
  }
  if (safe) return new UnavailableError(`a read from ${canister} failed (${message}): retry`);
  return new UnknownOutcomeError(`the call to ${canister} may or may not have run (${message}): read the key to find out`);
}
