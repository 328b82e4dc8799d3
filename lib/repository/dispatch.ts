// Client-side routing: sends each op to the shard that owns it under a cached partition map, and
// fan-out ops to every shard. When a shard answers "moved" (its map is newer) or a fan-out sees
// shards on different epochs, the map is refreshed (from the shard that reported the newer epoch)
// and the ops are retried, a bounded number of times. "retry" answers and UnavailableError (the
// op surely did not run: fenced cutover, stopped canister) are retried after a bounded backoff.
// Repository uses this in the client, in canisters and in MemoryCluster.
import { RoutingError, UnavailableError } from '../model/errors.js';
import { partitionerFromJSON, type Partitioner, type PartitionerJSON, type ShardId } from '../partition/index.js';
import type { Op, OpResult, ShardResponse, ShardTransport } from '../protocol/ops.js';
import { MAX_BATCH_OPS } from '../protocol/ops.js';

/** Map refreshes before an op gives up with RoutingError. */
export const MAX_ROUTE_RETRIES = 4;
/** Retries of an op the shard could not run now ("retry", UnavailableError) before UnavailableError. */
export const MAX_UNAVAILABLE_RETRIES = 12;
/** Backoff before retry n: min(BASE × 2^n, CAP) milliseconds. */
export const RETRY_BASE_MS = 20;
export const RETRY_CAP_MS = 2_000;
/** Requests one dispatcher has in flight at once (fan-outs and multi-shard batches). */
export const MAX_PARALLEL_REQUESTS = 16;

/** Picks the shard a request enters at: the owner (0 hops) unless a test wants otherwise. */
export type EntryChooser = (owner: ShardId, shards: readonly ShardId[]) => ShardId;

/** Where a client whose every cached shard is gone gets the current map (e.g. the manager). */
export type MapBootstrap = () => Promise<PartitionerJSON>;

export interface DispatcherOptions {
  transport: ShardTransport;
  map: Partitioner;
  entry?: EntryChooser;
  bootstrap?: MapBootstrap;
  /** Waits before a retry (injectable: tests and MemoryCluster pass a clock of their own). */
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class Dispatcher {
  private readonly transport: ShardTransport;
  private map: Partitioner;
  private readonly entry: EntryChooser;
  private readonly bootstrap?: MapBootstrap;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: DispatcherOptions) {
    this.transport = options.transport;
    this.map = options.map;
    this.entry = options.entry ?? ((owner) => owner);
    this.bootstrap = options.bootstrap;
    this.sleep = options.sleep ?? realSleep;
  }

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
        if (e instanceof RoutingError || e instanceof UnavailableError) continue; // gone or stopped: ask another
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

  /** transport.send, where an unreachable shard counts as "moved" and a stopped one as "retry". */
  private async sendOrMoved(to: ShardId, ops: Op[]): Promise<ShardResponse> {
    try {
      return await this.transport.send(to, { ops, hops: 0 });
    } catch (e) {
      if (e instanceof RoutingError) return { results: ops.map(() => ({ kind: 'moved' })), epoch: -1 };
      if (e instanceof UnavailableError) return { results: ops.map(() => ({ kind: 'retry', reason: e.message })), epoch: -1 };
      throw e;
    }
  }

  private async pause(attempt: number): Promise<void> {
    await this.sleep(Math.min(RETRY_BASE_MS * 2 ** attempt, RETRY_CAP_MS));
  }

  /** Runs ops that each carry a hash (at most MAX_BATCH_OPS per request), in their order. */
  async run(ops: Op[]): Promise<OpResult[]> {
    const results: OpResult[] = new Array(ops.length);
    let pending = ops.map((_, i) => i);
    let refreshes = 0;
    let waits = 0;
    while (pending.length > 0) {
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
      const retry: number[] = [];
      let newer: { epoch: number; at: ShardId } | undefined;
      const requests = [...groups].flatMap(([to, idx]) => chunks(idx, MAX_BATCH_OPS).map((part) => ({ to, part })));
      await inParallel(requests, MAX_PARALLEL_REQUESTS, async ({ to, part }) => {
        const response = await this.sendOrMoved(to, part.map((i) => ops[i]));
        if (response.epoch > this.map.epoch && (newer === undefined || response.epoch > newer.epoch)) newer = { epoch: response.epoch, at: response.newerAt ?? to };
        part.forEach((i, j) => {
          const r = response.results[j];
          if (r === undefined) throw new RoutingError(`shard ${to} answered ${response.results.length} results for ${part.length} ops`);
          if (r.kind === 'moved') {
            moved.push(i);
            newer ??= { epoch: this.map.epoch, at: to };
          } else if (r.kind === 'retry') retry.push(i);
          else results[i] = r;
        });
      });
      if (moved.length > 0 || newer !== undefined) {
        if (moved.length > 0 && ++refreshes > MAX_ROUTE_RETRIES) {
          throw new RoutingError(`ops still moved after ${MAX_ROUTE_RETRIES} map refreshes: the cluster is reconfiguring; retry later`);
        }
        const at = newer?.at;
        await this.refresh(at);
      }
      if (retry.length > 0) {
        if (++waits > MAX_UNAVAILABLE_RETRIES) throw new UnavailableError(`shards stayed unavailable for ${MAX_UNAVAILABLE_RETRIES} retries (a migration's cutover or a stopped canister): retry later`);
        await this.pause(waits);
      }
      pending = [...moved, ...retry].sort((a, b) => a - b);
    }
    return results;
  }

  /** Sends `op` to every shard; retries until all shards answer on the same epoch as our map. */
  async fanOut(op: Op): Promise<OpResult[]> {
    let waits = 0;
    for (let attempt = 0; attempt <= MAX_ROUTE_RETRIES; ) {
      const shards = this.map.shards();
      const responses: ShardResponse[] = new Array(shards.length);
      await inParallel(shards.map((s, i) => ({ s, i })), MAX_PARALLEL_REQUESTS, async ({ s, i }) => {
        responses[i] = await this.sendOrMoved(s, [op]);
      });
      if (responses.some((r) => r.results[0]?.kind === 'retry')) {
        if (++waits > MAX_UNAVAILABLE_RETRIES) throw new UnavailableError(`a shard stayed unavailable for ${MAX_UNAVAILABLE_RETRIES} retries: retry later`);
        await this.pause(waits);
        continue;
      }
      if (responses.every((r) => r.epoch === this.map.epoch && r.results[0]?.kind !== 'moved')) return responses.map((r) => r.results[0]);
      const newest = responses.reduce((best, r, i) => (r.epoch > responses[best].epoch ? i : best), 0);
      await this.refresh(responses[newest].newerAt ?? shards[newest]);
      attempt++;
    }
    throw new RoutingError(`shards kept disagreeing on the partition map for ${MAX_ROUTE_RETRIES} tries: retry later`);
  }
}

function chunks<X>(xs: X[], size: number): X[][] {
  const out: X[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function inParallel<X>(items: readonly X[], limit: number, work: (item: X) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]);
  });
  await Promise.all(lanes);
}
