// MemoryCluster: several shards in one process, each a ShardNode over a MemoryKv, running the
// same routing (router.ts), execution (executor.ts) and split/merge logic (split-merge.ts) the
// canisters run. The cluster object plays the manager: it splits a shard above maxShardBytes at
// its median hash, merges a shard below minShardBytes into a neighbour, and pushes every new map
// to all shards. Deterministic: the only randomness (entry shard choice) comes from `seed`.
import { DeclarationError, RoutingError } from '../model/errors.js';
import { getEntityMetadata, type EntityClass } from '../model/metadata.js';
import { EntityRegistry } from '../model/registry.js';
import { AnchorHashPartitioner, PartitionError, RangePartitioner, type Partitioner, type ShardId, type ShardRange } from '../partition/index.js';
import { randomBelow, Xoshiro128 } from '../random/prng.js';
import { Dispatcher, type EntryChooser } from '../repository/dispatch.js';
import { upgradeRows } from '../repository/executor.js';
import type { ShardRequest, ShardResponse, ShardTransport } from '../repository/protocol.js';
import { Repository, type RepositoryOptions } from '../repository/repository.js';
import { MemoryKv } from '../repository/store.js';
import { ShardNode } from './router.js';
import { affectedShards, mergeMap, mergeTarget, moveMisplaced, splitMap } from './split-merge.js';

export const MAX_MEMORY_SHARDS = 1024;
export const DEFAULT_MAX_SHARD_BYTES = 64 * 1024 * 1024;
export const DEFAULT_ANCHOR_CAPACITY = 64;
/** Topology changes one maintenance pass may make (a pass runs after every client request). */
export const MAX_CHANGES_PER_PASS = 8;
/** Rows rewritten per rolling-upgrade batch. */
export const UPGRADE_BATCH = 256;

export interface MemoryClusterOptions {
  /** Initial shard count (default 1). */
  shards?: number;
  /** A shard above this many bytes (keys + values) is split (default 64 MiB). */
  maxShardBytes?: number;
  /** A shard below this is merged into a neighbour when they fit in half of maxShardBytes (default 0: never). */
  minShardBytes?: number;
  /** 'range' (default), 'anchor', or a ready partitioner over shard ids. */
  partitioner?: 'range' | 'anchor' | Partitioner;
  anchorCapacity?: number;
  /** Entity classes to register up front (repository() registers too). */
  entities?: EntityClass[];
  /** 'owner' (default: a warm client map, 0 hops) or 'random' (entry at any shard, seeded). */
  entry?: 'owner' | 'random';
  seed?: number;
  maxEntityBytes?: number;
}

export interface ShardInfo {
  id: ShardId;
  entries: number;
  bytes: number;
  range?: ShardRange;
}

export interface ClusterStats {
  requests: number;
  splits: number;
  merges: number;
  movedEntries: number;
}

export class MemoryCluster {
  readonly registry = new EntityRegistry();
  readonly stats: ClusterStats = { requests: 0, splits: 0, merges: 0, movedEntries: 0 };
  private readonly nodes = new Map<ShardId, ShardNode>();
  private map: Partitioner;
  private nextShard = 0;
  private readonly maxShardBytes: number;
  private readonly minShardBytes: number;
  private readonly entry: EntryChooser;
  /** Shard-to-shard calls (forwarding): no maintenance in between. */
  private readonly peers: ShardTransport = { send: (shard, req) => this.node(shard).handle(req) };
  /** Client calls: each completed request gives the manager a chance to split or merge. */
  private readonly clientTransport: ShardTransport = { send: (shard, req) => this.clientSend(shard, req) };

  private constructor(private readonly options: MemoryClusterOptions) {
    const n = options.shards ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > MAX_MEMORY_SHARDS) throw new RangeError(`shards must be 1..${MAX_MEMORY_SHARDS}, got ${n}`);
    this.maxShardBytes = options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
    this.minShardBytes = options.minShardBytes ?? 0;
    const p = options.partitioner ?? 'range';
    if (typeof p === 'object') {
      this.map = p;
    } else {
      const ids = Array.from({ length: n }, () => this.freshId());
      this.map = p === 'anchor'
        ? AnchorHashPartitioner.create({ capacity: options.anchorCapacity ?? DEFAULT_ANCHOR_CAPACITY, shards: ids })
        : RangePartitioner.even(ids);
    }
    for (const id of this.map.shards()) this.addNode(id);
    const random = new Xoshiro128(options.seed ?? 1);
    this.entry = options.entry === 'random' ? (_owner, shards) => shards[randomBelow(random, shards.length)] : (owner) => owner;
    for (const e of options.entities ?? []) this.registry.register(e);
  }

  static create(options: MemoryClusterOptions = {}): MemoryCluster {
    return new MemoryCluster(options);
  }

  get partitioner(): Partitioner {
    return this.map;
  }

  /**
   * A repository for an entity class, registered on every shard of this cluster. Another version
   * of an already registered collection is a client during a rolling upgrade: it reads and writes
   * through Candid subtyping while the shards keep their version until upgrade().
   */
  repository<T extends object>(ctor: EntityClass<T>, options: RepositoryOptions = {}): Repository<T> {
    const meta = getEntityMetadata(ctor);
    const existing = this.registry.find(meta.name);
    if (existing === undefined || existing.version === meta.version) this.registry.register(ctor);
    // The cluster object is also the manager: a client whose cached shards all left asks it.
    const dispatcher = new Dispatcher(this.clientTransport, this.map, this.entry, async () => this.map.toJSON());
    return new Repository(ctor, dispatcher, { maxEntityBytes: options.maxEntityBytes ?? this.options.maxEntityBytes });
  }

  /** The nodes, for tests and status displays. */
  shardNodes(): ShardNode[] {
    return this.map.shards().map((id) => this.node(id));
  }

  shards(): ShardInfo[] {
    return this.map.shards().map((id) => {
      const kv = this.node(id).kv;
      const range = this.map instanceof RangePartitioner ? this.map.rangeOf(id) : undefined;
      return { id, entries: kv.size(), bytes: kv.bytes(), range };
    });
  }

  /** Splits `shard` (range: at its median hash; anchor: adds a shard). Returns the new shard, or undefined if it cannot split. */
  split(shard: ShardId): ShardId | undefined {
    if (this.nodes.size >= MAX_MEMORY_SHARDS) return undefined;
    const id = this.freshId();
    let next: Partitioner | undefined;
    try {
      next = splitMap(this.map, shard, id, this.node(shard).kv);
    } catch (e) {
      // A full partitioner (AnchorHash capacity, MAX_RANGE_SHARDS) cannot grow: the shard stays
      // as it is, and the write that triggered maintenance is still acknowledged.
      if (e instanceof PartitionError && (e.code === 'capacity-full' || e.code === 'too-many-shards')) return undefined;
      throw e;
    }
    if (next === undefined) return undefined;
    this.addNode(id);
    this.install(next);
    this.stats.splits++;
    return id;
  }

  /** Merges `from` into a neighbour (`into`, or the left/right neighbour) and deletes it. */
  merge(from: ShardId, into?: ShardId): void {
    if (this.map.shards().length < 2) throw new RangeError('cannot merge the only shard');
    this.install(mergeMap(this.map, from, into));
    if (this.node(from).kv.size() !== 0) throw new Error(`merge: ${from} still holds data after moving it`);
    this.nodes.delete(from);
    this.stats.merges++;
  }

  /** Rolling upgrade: registers the newer class everywhere and rewrites old rows, batch by batch. */
  upgrade<T>(ctor: EntityClass<T>): number {
    const meta = this.registry.upgrade(ctor);
    let rewritten = 0;
    for (const node of this.shardNodes()) {
      let after: Uint8Array | undefined;
      do {
        const step = upgradeRows(node.ctx, meta, after, UPGRADE_BATCH);
        rewritten += step.rewritten;
        after = step.next;
      } while (after !== undefined);
    }
    return rewritten;
  }

  /** One manager pass: split shards above maxShardBytes, merge shards below minShardBytes. */
  maintain(): void {
    for (let changes = 0; changes < MAX_CHANGES_PER_PASS; changes++) {
      const infos = this.shards();
      const full = infos.find((s) => s.bytes > this.maxShardBytes && s.entries > 1);
      if (full !== undefined && this.split(full.id) !== undefined) continue;
      if (this.minShardBytes <= 0 || infos.length < 2) return;
      const small = infos.find((s) => s.bytes < this.minShardBytes && this.mergeFits(s));
      if (small === undefined) return;
      this.merge(small.id);
    }
  }

  private mergeFits(s: ShardInfo): boolean {
    const target = mergeTarget(this.map, s.id);
    if (target === undefined) return this.map.kind === 'anchor' && this.map.shards().length > 1;
    return s.bytes + this.node(target).kv.bytes() <= this.maxShardBytes / 2;
  }

  /** Moves misplaced entries for the new map, then pushes it to every shard (the cutover). */
  private install(next: Partitioner): void {
    const before = this.map;
    for (const id of affectedShards(before, next)) {
      const moved = moveMisplaced(id, this.node(id).kv, next, (owner) => this.node(owner).kv);
      this.stats.movedEntries += moved.entries;
    }
    this.map = next;
    for (const id of next.shards()) this.node(id).setPartitioner(next);
  }

  private async clientSend(shard: ShardId, request: ShardRequest): Promise<ShardResponse> {
    this.stats.requests++;
    const response = await this.node(shard).handle(request);
    if (request.ops.some((op) => op.kind === 'put' || op.kind === 'update')) this.maintain();
    return response;
  }

  private node(id: ShardId): ShardNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new RoutingError(`shard ${id} does not exist (merged away): refresh the partition map`);
    return n;
  }

  private addNode(id: ShardId): void {
    if (this.nodes.has(id)) throw new DeclarationError(`shard id ${id} is already in use`);
    this.nodes.set(id, new ShardNode(id, new MemoryKv(), this.registry, this.map, this.peers, this.options.maxEntityBytes));
  }

  /** The next unused `shard-N` id (ids are never reused, so a stale map cannot hit a new shard). */
  private freshId(): ShardId {
    let id: ShardId;
    do id = `shard-${this.nextShard++}`;
    while (this.nodes.has(id) || this.map?.shards().includes(id));
    return id;
  }
}
