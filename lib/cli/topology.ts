// `shardorm split <shard>` / `shardorm merge <shard>`: ask the cluster's manager for a topology
// change now (split_shard / merge_shard; controllers only). The manager queues it and runs it as
// one migration; `status` shows its progress.
import { Actor, type ActorSubclass } from '@dfinity/agent';
import { Principal } from '@dfinity/principal';
import { fromWireError, type WireError } from '../model/errors.js';
import { managerIdlFactory } from '../protocol/manager-candid.js';
import { parsePrincipal } from './backup.js';
import { findCluster } from './clusters.js';
import { CliError } from './errors.js';
import { type CliIo, emit } from './output.js';
import { type CommonOptions, openSession } from './session.js';

type Reply = { ok: null } | { err: WireError };
type ManagerTopology = ActorSubclass<{
  split_shard(a: { shard: Principal; method: [] | [string] }): Promise<Reply>;
  merge_shard(a: { shard: Principal; into: [] | [Principal] }): Promise<Reply>;
}>;

export interface TopologyCommandOptions extends CommonOptions {
  cluster?: string;
  /** split: copy method (snapshot | rows); merge: the neighbour to merge into. */
  method?: string;
  into?: string;
}

export async function topologyCommand(kind: 'split' | 'merge', shard: string, options: TopologyCommandOptions, io: CliIo): Promise<void> {
  const shardId = parsePrincipal(shard);
  const into = options.into === undefined ? undefined : parsePrincipal(options.into);
  const session = await openSession(options, io);
  const record = findCluster({ cwd: io.cwd, network: session.network.name, name: options.cluster });
  const manager = Actor.createActor(managerIdlFactory, { agent: session.agent, canisterId: Principal.fromText(record.manager) }) as ManagerTopology;
  let reply: Reply;
  try {
    reply = kind === 'split'
      ? await manager.split_shard({ shard: shardId, method: options.method === undefined ? [] : [options.method] })
      : await manager.merge_shard({ shard: shardId, into: into === undefined ? [] : [into] });
  } catch (error) {
    throw new CliError(session.explain(error));
  }
  if ('err' in reply) throw new CliError(`the manager refused the ${kind} of ${shard}: ${fromWireError(reply.err).message}`);
  emit(io, session.json, { cluster: record.name, kind, shard, requested: true }, () => [`${kind} of ${shard} requested from manager ${record.manager}; follow it with \`shardorm status --watch\``]);
}
