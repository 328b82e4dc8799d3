// ShardedClient: the application's handle on a cluster from outside (Node or a browser). It caches
// the partition map and calls the owning shard directly (0 forwarding hops once warm), refreshes
// the map when a shard answers "moved" or shows a newer epoch, fans scans and counts out in
// parallel, and retries only what the IC guarantees did not run. `routing: 'random'` enters at a
// random shard instead (tests exercise forwarding that way).
import { Actor, type ActorSubclass, type Agent } from '@dfinity/agent';
import { Principal } from '@dfinity/principal';
import { fromWireError, RoutingError, type WireError } from '../model/errors.js';
import type { EntityClass } from '../model/metadata.js';
import { partitionerFromJSON, type PartitionerJSON, type ShardId } from '../partition/index.js';
import { parseMap, reportFromCandid } from '../protocol/candid.js';
import { managerIdlFactory, type ClusterInfo } from '../protocol/manager-candid.js';
import { randomBelow, Xoshiro128 } from '../random/prng.js';
import { Dispatcher, type EntryChooser } from '../repository/dispatch.js';
import { Repository, type RepositoryOptions } from '../repository/repository.js';
import { AgentTransport, classifyAgentError } from './transport.js';

export interface ConnectOptions {
  agent: Agent;
  /** Any canister of the cluster: a shard or the manager. */
  entry: Principal | string;
  /** 'owner' (default): call the owning shard; 'random': enter at a random shard (seeded). */
  routing?: 'owner' | 'random';
  seed?: number;
}

export interface ShardStatus {
  canisterId: string;
  range: [bigint, bigint];
  entities: number;
  logicalBytes: number;
  memoryBytes: number;
  cycles: bigint;
}

export interface MigrationStatus {
  id: string;
  kind: 'split' | 'merge' | 'upgrade';
  state: string;
  source: string;
  target?: string;
  method: string;
  lastError?: string;
  copiedRows: number;
  copiedBytes: number;
}

export interface ClusterStatus {
  epoch: number;
  shards: ShardStatus[];
  migrations: MigrationStatus[];
}

type Reply<T> = { ok: T } | { err: WireError };
/* eslint-disable @typescript-eslint/no-explicit-any */
type ManagerActor = ActorSubclass<{ cluster_info(): Promise<ClusterInfo>; cluster_status(): Promise<Reply<any>> }>;

export class ShardedClient {
  private readonly dispatcher: Dispatcher;

  private constructor(
    private readonly agent: Agent,
    readonly manager: Principal,
    map: PartitionerJSON,
    entry: EntryChooser,
  ) {
    this.dispatcher = new Dispatcher({ transport: new AgentTransport(agent), map: partitionerFromJSON(map), entry, bootstrap: () => this.fetchMap() });
  }

  /** Connects through any canister of the cluster and caches its partition map. */
  static async connect(options: ConnectOptions): Promise<ShardedClient> {
    const entry = typeof options.entry === 'string' ? Principal.fromText(options.entry) : options.entry;
    const info = await clusterInfo(options.agent, entry);
    const manager = info.role === 'manager' ? entry : info.manager[0];
    if (manager === undefined) throw new RoutingError(`${entry.toText()} is not part of a ShardORM cluster (it names no manager)`);
    // The manager's map is authoritative; a shard's may lag by an announcement, and "moved" fixes that.
    const map = info.role === 'manager' ? parseMap(info.map) : parseMap((await clusterInfo(options.agent, manager)).map);
    const random = new Xoshiro128(options.seed ?? 1);
    const choose: EntryChooser = options.routing === 'random' ? (_owner, shards) => shards[randomBelow(random, shards.length)] : (owner) => owner;
    return new ShardedClient(options.agent, manager, map, choose);
  }

  /** The partition map the client routes by now. */
  get map(): PartitionerJSON {
    return this.dispatcher.partitioner.toJSON();
  }

  /** A repository for `ctor` over this cluster: get/getMany/insert/upsert/update/delete/scan/find/count and the bulk forms. */
  repository<T extends object>(ctor: EntityClass<T>, options: RepositoryOptions = {}): Repository<T> {
    return new Repository(ctor, this.dispatcher, options);
  }

  /** The manager's view: epoch, every shard's range and load, migrations in progress and recent ones. */
  async status(): Promise<ClusterStatus> {
    let reply: Reply<any>;
    try {
      reply = await this.managerActor().cluster_status();
    } catch (e) {
      throw classifyAgentError(e, this.manager.toText(), true);
    }
    if ('err' in reply) throw fromWireError(reply.err);
    const s = reply.ok;
    return {
      epoch: Number(s.epoch),
      shards: s.shards.map((raw: any) => {
        const r = reportFromCandid(raw);
        return { canisterId: r.shard, range: [r.start, r.end] as [bigint, bigint], entities: r.entities, logicalBytes: r.logicalBytes, memoryBytes: r.memoryBytes, cycles: r.cycles };
      }),
      migrations: s.migrations.map((m: any) => ({
        id: m.id, kind: m.kind, state: m.state, method: m.method, source: m.source.toText(), target: m.target[0]?.toText(),
        lastError: m.last_error[0], copiedRows: Number(m.copied_rows), copiedBytes: Number(m.copied_bytes),
      })),
    };
  }

  private managerActor(): ManagerActor {
    return Actor.createActor(managerIdlFactory, { agent: this.agent, canisterId: this.manager }) as ManagerActor;
  }

  private async fetchMap(): Promise<PartitionerJSON> {
    return parseMap((await clusterInfo(this.agent, this.manager)).map);
  }
}
/* eslint-enable @typescript-eslint/no-explicit-any */

async function clusterInfo(agent: Agent, canister: Principal): Promise<ClusterInfo> {
  const actor = Actor.createActor(managerIdlFactory, { agent, canisterId: canister }) as ManagerActor;
  try {
    return await actor.cluster_info();
  } catch (e) {
    throw classifyAgentError(e, canister.toText(), true);
  }
}

export type { ShardId };
