// Client-side routing: sends each op to the shard that owns it under a cached partition map, and
// fan-out ops to every shard. When a shard answers "moved" (its map is newer) or a fan-out sees
// shards on different epochs, the map is refreshed from a shard and the ops are retried, a
// bounded number of times. Repository uses this in the client, in canisters and in MemoryCluster.
import { RoutingError } from '../model/errors.js';
import { partitionerFromJSON, type Partitioner, type PartitionerJSON, type ShardId } from '../partition/index.js';
import type { Op, OpResult, ShardResponse, ShardTransport } from './protocol.js';
import { MAX_BATCH_OPS } from './protocol.js';

/** Map refreshes before an op gives up with RoutingError. */
export const MAX_ROUTE_RETRIES = 4;

/** Picks the shard a request enters at: the owner (0 hops) unless a test wants otherwise. */
export type EntryChooser = (owner: ShardId, shards: readonly ShardId[]) => ShardId;

/** Where a client whose every cached shard is gone gets the current map (e.g. the manager). */
export type MapBootstrap = () => Promise<PartitionerJSON>;

export class Dispatcher {
  constructor(
    private readonly transport: ShardTransport,
    private map: Partitioner,
    private readonly entry: EntryChooser = (owner) => owner,
    private readonly bootstrap?: MapBootstrap,
  ) {}

  get partitioner(): Partitioner {
    return this.map;
  }

  /** Fetches a shard's map (trying `from` first, then the others) and adopts it when newer. */
  async refresh(from?: ShardId): Promise<void> {
    const candidates = [...(from === undefined ? [] : [from]), ...this.map.shards().filter((s) => s !== from)];
    for (const shard of candidates) {
      let response: ShardResponse;
      try {
        response = await this.transport.send(shard, { ops: [{ kind: 'map' }], hops: 0 });
      } catch (e) {
        if (e instanceof RoutingError) continue; // that shard is gone: ask another
        throw e;
      }
      const r = response.results[0];
      if (r?.kind !== 'map') throw new RoutingError(`shard ${shard} did not return its partition map`);
      this.adopt(r.map);
      return;
    }
    if (this.bootstrap === undefined) {
      throw new RoutingError('no shard of the cached partition map answers: give the client a bootstrap (the manager) or a fresh map');
    }
    this.adopt(await this.bootstrap());
  }

  /** Takes `json` as the cached map when it is newer (maps only move forward). */
  private adopt(json: PartitionerJSON): void {
    const fresh = partitionerFromJSON(json);
    if (fresh.epoch > this.map.epoch) this.map = fresh;
  }

  /** transport.send, where an unreachable shard (RoutingError) counts as "moved" for every op. */
  private async sendOrMoved(to: ShardId, ops: Op[]): Promise<ShardResponse> {
    try {
      return await this.transport.send(to, { ops, hops: 0 });
    } catch (e) {
      if (e instanceof RoutingError) return { results: ops.map(() => ({ kind: 'moved' })), epoch: -1 };
      throw e;
    }
  }

  /** Runs ops that each carry a hash (at most MAX_BATCH_OPS per request), in their order. */
  async run(ops: Op[]): Promise<OpResult[]> {
    const results: OpResult[] = new Array(ops.length);
    let pending = ops.map((_, i) => i);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > MAX_ROUTE_RETRIES) {
        throw new RoutingError(`ops still moved after ${MAX_ROUTE_RETRIES} map refreshes: the cluster is reconfiguring; retry later`);
      }
      const groups = new Map<ShardId, number[]>();
      const shards = this.map.shards(); // a copy: once per attempt, not once per op
      for (const i of pending) {
        const op = ops[i];
        if (!('hash' in op) || op.hash === undefined) throw new Error(`Dispatcher.run: op ${op.kind} has no hash; use fanOut`);
        const to = this.entry(this.map.shardFor(op.hash), shards);
        const g = groups.get(to) ?? [];
        g.push(i);
        groups.set(to, g);
      }
      const moved: number[] = [];
      let movedAt: ShardId | undefined;
      await Promise.all(
        [...groups].flatMap(([to, idx]) =>
          chunks(idx, MAX_BATCH_OPS).map(async (part) => {
            const response = await this.sendOrMoved(to, part.map((i) => ops[i]));
            part.forEach((i, j) => {
              const r = response.results[j];
              if (r === undefined) throw new RoutingError(`shard ${to} answered ${response.results.length} results for ${part.length} ops`);
              if (r.kind === 'moved') {
                moved.push(i);
                movedAt = to;
              } else results[i] = r;
            });
          }),
        ),
      );
      if (moved.length > 0) await this.refresh(movedAt === undefined || !this.map.shards().includes(movedAt) ? undefined : movedAt);
      pending = moved.sort((a, b) => a - b);
    }
    return results;
  }

  /** Sends `op` to every shard; retries until all shards answer on the same epoch as our map. */
  async fanOut(op: Op): Promise<OpResult[]> {
    for (let attempt = 0; attempt <= MAX_ROUTE_RETRIES; attempt++) {
      const shards = this.map.shards();
      const responses: ShardResponse[] = await Promise.all(shards.map((s) => this.sendOrMoved(s, [op])));
      const newest = responses.reduce((best, r, i) => (r.epoch > responses[best].epoch ? i : best), 0);
      if (responses.every((r) => r.epoch === this.map.epoch && r.results[0]?.kind !== 'moved')) return responses.map((r) => r.results[0]);
      await this.refresh(shards[newest]);
    }
    throw new RoutingError(`shards kept disagreeing on the partition map for ${MAX_ROUTE_RETRIES} tries: retry later`);
  }
}

function chunks<X>(xs: X[], size: number): X[][] {
  const out: X[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}
