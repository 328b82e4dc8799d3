// A shard's request handling, identical in every canister and in MemoryCluster: serve the ops this
// shard owns, forward the others to their owner at most once, and answer "moved" for ops that
// were already forwarded (the maps disagree: the caller refreshes its map and retries).
import { ShardOrmError, toWireError } from '../model/errors.js';
import type { EntityRegistry } from '../model/registry.js';
import type { Partitioner, ShardId } from '../partition/index.js';
import { executeOp, type ShardContext } from '../repository/executor.js';
import { assertBatch, MAX_FORWARD_HOPS, type Op, type OpResult, type ShardRequest, type ShardResponse, type ShardTransport } from '../repository/protocol.js';
import type { OrderedKv } from '../repository/store.js';

export type Route = { kind: 'local' } | { kind: 'forward'; to: ShardId } | { kind: 'moved' };

/** Where an op entering shard `self` after `hops` forwards goes. Pure. */
export function routeOp(map: Partitioner, self: ShardId, op: Op, hops: number): Route {
  if (op.kind === 'map' || op.kind === 'count' || (op.kind === 'scan' && op.hash === undefined)) return { kind: 'local' };
  const owner = map.shardFor(op.hash as bigint);
  if (owner === self) return { kind: 'local' };
  if (hops >= MAX_FORWARD_HOPS) return { kind: 'moved' };
  return { kind: 'forward', to: owner };
}

export interface NodeStats {
  served: number;
  forwarded: number;
  moved: number;
}

export class ShardNode {
  readonly stats: NodeStats = { served: 0, forwarded: 0, moved: 0 };
  readonly ctx: ShardContext;
  private map: Partitioner;

  constructor(
    readonly id: ShardId,
    readonly kv: OrderedKv,
    registry: EntityRegistry,
    map: Partitioner,
    private readonly peers: ShardTransport,
    maxEntityBytes?: number,
  ) {
    this.map = map;
    this.ctx = { kv, registry, maxEntityBytes, owns: (hash) => this.map.shardFor(hash) === this.id };
  }

  get partitioner(): Partitioner {
    return this.map;
  }

  /** Installs a newer partition map (pushed by the manager after a topology change). */
  setPartitioner(map: Partitioner): void {
    if (map.epoch < this.map.epoch) throw new Error(`shard ${this.id}: map epoch ${map.epoch} is older than ${this.map.epoch}`);
    this.map = map;
  }

  async handle(request: ShardRequest): Promise<ShardResponse> {
    assertBatch(request); // at most MAX_FORWARD_HOPS forwards: a violation is a routing bug
    const results: OpResult[] = new Array(request.ops.length);
    const forwards = new Map<ShardId, number[]>();
    request.ops.forEach((op, i) => {
      const route = routeOp(this.map, this.id, op, request.hops);
      if (route.kind === 'local') {
        results[i] = this.serve(op);
      } else if (route.kind === 'moved') {
        this.stats.moved++;
        results[i] = { kind: 'moved' };
      } else {
        const idx = forwards.get(route.to) ?? [];
        idx.push(i);
        forwards.set(route.to, idx);
      }
    });
    await Promise.all(
      [...forwards].map(async ([to, idx]) => {
        this.stats.forwarded += idx.length;
        const response = await this.peers.send(to, { ops: idx.map((i) => request.ops[i]), hops: request.hops + 1 });
        if (response.results.length !== idx.length) throw new Error(`shard ${to} answered ${response.results.length} of ${idx.length} ops`);
        idx.forEach((i, j) => (results[i] = response.results[j]));
      }),
    );
    return { results, epoch: this.map.epoch };
  }

  private serve(op: Op): OpResult {
    this.stats.served++;
    if (op.kind === 'map') return { kind: 'map', map: this.map.toJSON() };
    try {
      return executeOp(this.ctx, op);
    } catch (e) {
      if (e instanceof ShardOrmError) return { kind: 'error', error: toWireError(e) };
      throw e;
    }
  }
}
