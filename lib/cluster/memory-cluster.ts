// MemoryCluster: several shards in one process, each a ShardNode over in-memory storage, running
// the same routing, execution and migration state machine (lib/topology/migration.ts) the
// canisters run. The cluster object plays the manager: it splits a shard above maxShardBytes at its
// byte-weighted median (snapshot clone, or streamed copy), merges a shard below minShardBytes into
// its neighbour (streamed), and its effect runner stands in for the management canister — a
// "snapshot" is a copy of a shard's storage. Deterministic: the only randomness (entry shard
// choice) comes from `seed`; faults (`failEffect`) make effects fail on purpose.
import { RoutingError, UnavailableError } from '../model/errors.js';
import { getEntityMetadata, type EntityClass } from '../model/metadata.js';
import { EntityRegistry } from '../model/registry.js';
import { AnchorHashPartitioner, PartitionError, RangePartitioner, type Partitioner, type PartitionerJSON, type ShardId, type ShardRange } from '../partition/index.js';
import type { BatchAck, DeltaBatch, RowsBatch } from '../protocol/housekeeping.js';
import type { ShardRequest, ShardResponse, ShardTransport } from '../protocol/ops.js';
import { isWriteOp } from '../protocol/ops.js';
import { randomBelow, Xoshiro128 } from '../random/prng.js';
import { Dispatcher, type EntryChooser } from '../repository/dispatch.js';
import { Repository, type RepositoryOptions } from '../repository/repository.js';
import { keySuccessor, MemoryKv } from '../repository/store.js';
import { MemoryDeltaLog } from '../shard/delta-log.js';
import { upgradeRows } from '../shard/executor.js';
import { ShardNode, type ShardPeers, type ShardStorage } from '../shard/node.js';
import { MemoryStateCell, type ShardSettings } from '../shard/state.js';
import { ClusterManager, type ClusterSettings, type ManagerHost, type TopologyRequest } from '../manager/manager.js';
import type { Effect, EffectResult, Migration } from '../topology/migration.js';
import { affectedShards, chooseChange, mergeMap, moveMisplaced, splitMap, type ShardLoad } from '../topology/planning.js';

export const MAX_MEMORY_SHARDS = 1024;
export const DEFAULT_MAX_SHARD_BYTES = 64 * 1024 * 1024;
export const DEFAULT_ANCHOR_CAPACITY = 64;
/** Topology changes one maintenance pass may make (a pass runs after every client write). */
export const MAX_CHANGES_PER_PASS = 8;
/** Rows rewritten per rolling-upgrade batch. */
export const UPGRADE_BATCH = 256;
/** Manager ticks one change may take before MemoryCluster gives up on it (each tick runs up to 64 effects). */
export const MAX_DRIVES_PER_MIGRATION = 1000;

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
  /** How splits copy the bulk: 'snapshot' (default, clone-and-prune) or 'stream'. */
  splitMethod?: 'snapshot' | 'stream';
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
  /** Bytes of entity data carried by shard-to-shard messages (streamed copies and delta batches). */
  messageBytes: number;
}

interface Slot {
  storage: ShardStorage & { kv: MemoryKv; log: MemoryDeltaLog; state: MemoryStateCell };
  node?: ShardNode;
  running: boolean;
}

/** The principal every in-process caller uses unless a repository names another. */
export const MEMORY_CONTROLLER = 'aaaaa-aa';

export class MemoryCluster {
  readonly registry = new EntityRegistry();
  readonly stats: ClusterStats = { requests: 0, splits: 0, merges: 0, movedEntries: 0, messageBytes: 0 };
  private readonly slots = new Map<ShardId, Slot>();
  private readonly snapshots = new Map<string, Slot['storage']>();
  /** Range clusters: the manager logic the manager canister runs, over in-process effects. */
  private manager?: ClusterManager;
  /** AnchorHash clusters: changes applied directly (they move keys from every shard). */
  private anchorMap?: Partitioner;
  private nextShard = 0;
  private nextSnapshot = 0;
  private readonly settings: ShardSettings;
  private readonly entry: EntryChooser;
  private readonly requests: { kind: 'split' | 'merge'; shard: ShardId }[] = [];
  private readonly faults = new Map<Effect['kind'], number>();
  private clock = 0n;
  private maintaining?: Promise<void>;

  private constructor(private readonly options: MemoryClusterOptions) {
    const n = options.shards ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > MAX_MEMORY_SHARDS) throw new RangeError(`shards must be 1..${MAX_MEMORY_SHARDS}, got ${n}`);
    this.settings = { maxShardBytes: options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES, maxShardMemoryBytes: 0, minShardBytes: options.minShardBytes ?? 0 };
    const p = options.partitioner ?? 'range';
    let map: Partitioner;
    if (typeof p === 'object') {
      map = p;
    } else {
      const ids = Array.from({ length: n }, () => this.freshId());
      map = p === 'anchor'
        ? AnchorHashPartitioner.create({ capacity: options.anchorCapacity ?? DEFAULT_ANCHOR_CAPACITY, shards: ids })
        : RangePartitioner.even(ids);
    }
    if (map instanceof RangePartitioner) {
      const settings: ClusterSettings = { ...this.settings, splitMethod: options.splitMethod ?? 'snapshot', shardCycles: 0n, topUpBelowCycles: 0n, topUpCycles: 0n };
      const state = { map: map.toJSON(), settings, deployer: MEMORY_CONTROLLER, history: [], requests: [], nextMigration: 1 };
      this.manager = new ClusterManager({ state, host: this.managerHost() });
    } else this.anchorMap = map;
    for (const id of map.shards()) this.install(id, map.toJSON());
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

  private get map(): Partitioner {
    return this.manager?.map ?? (this.anchorMap as Partitioner);
  }

  /** Finished migrations, oldest first (the manager keeps the last MAX_HISTORY). */
  get history(): Migration[] {
    return this.manager?.status().history ?? [];
  }

  /**
   * A repository for an entity class, registered on every shard of this cluster. Another version
   * of an already registered collection is a client during a rolling upgrade: it reads and writes
   * through Candid subtyping while the shards keep their version until upgrade(). `caller` is
   * the principal (text) the shards see (default: a controller of the cluster).
   */
  repository<T extends object>(ctor: EntityClass<T>, options: RepositoryOptions & { caller?: string } = {}): Repository<T> {
    const meta = getEntityMetadata(ctor);
    const existing = this.registry.find(meta.name);
    if (existing === undefined || existing.version === meta.version) this.registry.register(ctor);
    const caller = options.caller ?? MEMORY_CONTROLLER;
    const transport: ShardTransport = { send: (shard, req) => this.clientSend(shard, req, caller) };
    // The cluster object is also the manager: a client whose cached shards all left asks it.
    const dispatcher = new Dispatcher({ transport, map: this.map, entry: this.entry, bootstrap: async () => this.map.toJSON(), sleep: async () => this.tick() });
    return new Repository(ctor, dispatcher, { maxEntityBytes: options.maxEntityBytes ?? this.options.maxEntityBytes });
  }

  /** The nodes of the current map, for tests and status displays. */
  shardNodes(): ShardNode[] {
    return this.map.shards().map((id) => this.node(id));
  }

  shards(): ShardInfo[] {
    return this.map.shards().map((id) => {
      const kv = this.slot(id).storage.kv;
      const range = this.map instanceof RangePartitioner ? this.map.rangeOf(id) : undefined;
      return { id, entries: kv.size(), bytes: kv.bytes(), range };
    });
  }

  /** Makes the next `times` effects of `kind` fail (fault injection for the migration tests). */
  failEffect(kind: Effect['kind'], times = 1): void {
    this.faults.set(kind, (this.faults.get(kind) ?? 0) + times);
  }

  /** Splits `shard` now (range: at its median hash; anchor: adds a shard). Returns the new shard, or undefined if it cannot split. */
  async split(shard: ShardId, options: { method?: 'snapshot' | 'stream' } = {}): Promise<ShardId | undefined> {
    if (this.slots.size >= MAX_MEMORY_SHARDS) return undefined;
    if (this.manager === undefined) return this.anchorSplit(shard);
    if (!this.map.shards().includes(shard)) throw new RoutingError(`shard ${shard} is not in the map`);
    const m = await this.runRequest({ kind: 'split', shard, method: options.method });
    return m.phase === 'done' ? m.target : undefined;
  }

  /** Merges `from` into a neighbour (`into`, or the left/right neighbour) and deletes it. */
  async merge(from: ShardId, into?: ShardId): Promise<void> {
    if (this.map.shards().length < 2) throw new RangeError('cannot merge the only shard');
    if (this.manager === undefined) return this.anchorMerge(from);
    const m = await this.runRequest({ kind: 'merge', shard: from, into });
    if (m.phase !== 'done') throw new Error(`merge of ${from} did not finish: ${m.phase} (${m.rollback?.reason ?? m.lastError})`);
  }

  /** Queues a change with the manager and ticks until it has finished (time moves when a step waits). */
  private async runRequest(request: TopologyRequest): Promise<Migration> {
    const manager = this.manager as ClusterManager;
    const before = manager.status().history.map((m) => m.id);
    manager.adminRequest(request);
    // Tick until everything queued (ours, and whatever else was asked meanwhile) has finished.
    for (let ticks = 0; manager.status().active !== undefined || manager.status().requests.length > 0; ticks++) {
      if (ticks >= MAX_DRIVES_PER_MIGRATION) throw new Error(`a ${request.kind} of ${request.shard} did not finish in ${ticks} ticks`);
      const active = manager.status().active;
      if (active !== undefined && active.retryAt > this.clock) this.clock = active.retryAt;
      await manager.tick();
    }
    const ours = manager.status().history.filter((m) => !before.includes(m.id) && m.kind === request.kind && m.source === request.shard);
    const m = ours[ours.length - 1];
    if (m === undefined) throw new Error(`the ${request.kind} of ${request.shard} was dropped (its shard left the map first)`);
    if (m.kind === 'split' && m.phase === 'done') this.stats.splits++;
    if (m.kind === 'merge' && m.phase === 'done') this.stats.merges++;
    // The canisters prune on a timer; here the "Pruned" step runs at once on both sides.
    for (const id of [m.source, m.target]) {
      const node = id === undefined ? undefined : this.slots.get(id)?.node;
      if (node !== undefined) while (node.pruneStep() > 0);
    }
    return m;
  }

  private managerHost(): ManagerHost {
    return {
      now: () => this.clock,
      reports: async (shards) => shards.flatMap((id) => (this.slots.get(id)?.node === undefined ? [] : [this.node(id).report()])),
      cycles: async () => undefined, // in-process shards spend no cycles
      topUp: async () => undefined,
      effects: { perform: (effect) => this.perform(effect) },
      save: () => undefined,
    };
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

  /** One manager pass: split shards above maxShardBytes, merge shards below minShardBytes, prune. */
  async maintain(): Promise<void> {
    if (this.maintaining !== undefined) return this.maintaining; // one pass at a time, like the manager's timer
    this.maintaining = this.maintainPass().finally(() => (this.maintaining = undefined));
    return this.maintaining;
  }

  private async maintainPass(): Promise<void> {
    for (let changes = 0; changes < MAX_CHANGES_PER_PASS; changes++) {
      if (this.manager !== undefined) {
        const change = chooseChange(this.manager.map, this.loads(), this.settings);
        if (change === undefined) break;
        const m = await this.runRequest(change.kind === 'split' ? { kind: 'split', shard: change.shard } : { kind: 'merge', shard: change.shard, into: change.into });
        if (m.phase !== 'done') break; // one hot key cannot split: it stays as it is
      } else if (!(await this.anchorMaintain())) break;
    }
    this.requests.length = 0;
    for (const node of this.shardNodes()) while (node.pruneStep() > 0);
  }

  private loads(): ShardLoad[] {
    return this.shards().map((s) => ({ shard: s.id, logicalBytes: s.bytes, memoryBytes: s.bytes, entries: s.entries }));
  }

  /** AnchorHash: split the first full shard, or merge away the first small one. */
  private async anchorMaintain(): Promise<boolean> {
    const infos = this.shards();
    const full = infos.find((s) => s.bytes > this.settings.maxShardBytes && s.entries > 1);
    if (full !== undefined) return this.anchorSplit(full.id) !== undefined;
    if (this.settings.minShardBytes <= 0 || infos.length < 2) return false;
    const small = infos.find((s) => s.bytes < this.settings.minShardBytes);
    if (small === undefined) return false;
    this.anchorMerge(small.id);
    return true;
  }

  /** The effect runner: what the manager canister does with management and shard calls. */
  private async perform(effect: Effect): Promise<EffectResult> {
    const left = this.faults.get(effect.kind) ?? 0;
    if (left > 0) {
      this.faults.set(effect.kind, left - 1);
      return { ok: false, kind: 'failed', error: `injected fault in ${effect.kind}` };
    }
    switch (effect.kind) {
      case 'split-point':
        return { ok: true, at: this.node(effect.shard).splitPoint() };
      case 'create-canister': {
        const id = this.freshId();
        this.slots.set(id, { storage: emptyStorage(), running: true });
        return { ok: true, canisterId: id };
      }
      case 'prepare':
        this.node(effect.shard).prepare(effect.plan);
        return { ok: true };
      case 'stop':
      case 'start':
        this.slot(effect.canister).running = effect.kind === 'start';
        return { ok: true };
      case 'take-snapshot': {
        const s = this.slot(effect.canister);
        if (s.running) return { ok: false, kind: 'failed', error: 'snapshot of a running canister' };
        const id = effect.replace ?? `snap-${effect.canister}-${++this.nextSnapshot}`;
        this.snapshots.set(id, cloneStorage(s.storage));
        return { ok: true, snapshotId: id };
      }
      case 'load-snapshot': {
        const s = this.slot(effect.canister);
        const snap = this.snapshots.get(effect.snapshotId);
        if (snap === undefined || s.running) return { ok: false, kind: 'failed', error: 'no such snapshot, or target running' };
        s.storage = cloneStorage(snap);
        s.node = this.makeNode(effect.canister, s.storage);
        return { ok: true };
      }
      case 'delete-snapshot':
        this.snapshots.delete(effect.snapshotId);
        return { ok: true };
      case 'install-shard':
        this.install(effect.canister, effect.map);
        return { ok: true };
      case 'accept':
        this.node(effect.shard).accept(effect.plan);
        return { ok: true };
      case 'copy-batch': {
        const r = await this.node(effect.shard).copyBatch();
        return { ok: true, done: r.done, rows: r.rows, bytes: r.bytes };
      }
      case 'push-delta':
        return { ok: true, remaining: (await this.node(effect.shard).pushDelta()).remaining };
      case 'cutover': {
        const r = await this.node(effect.shard).cutover(effect.migration);
        if (r === 'retry') return { ok: false, kind: 'failed', error: 'the target did not take the cutover' };
        return { ok: true };
      }
      case 'announce':
        for (const id of RangePartitioner.fromJSON(effect.map).shards()) if (!effect.skip.includes(id)) this.node(id).adoptMap(effect.map);
        return { ok: true };
      case 'drain-cycles':
        return { ok: true };
      case 'delete-canister':
        this.slots.delete(effect.canister);
        return { ok: true };
      case 'abort':
        this.slots.get(effect.shard)?.node?.abort(effect.migration);
        return { ok: true };
    }
  }

  private peersFor(self: ShardId): ShardPeers {
    return {
      send: (shard, req) => this.running(shard).handle(req, self),
      applyRows: async (target, batch: RowsBatch): Promise<BatchAck> => {
        this.stats.messageBytes += batch.rows.reduce((n, [k, v]) => n + k.length + v.length, 0);
        return this.running(target).applyRows(batch, self);
      },
      applyDelta: async (target, batch: DeltaBatch): Promise<BatchAck> => {
        this.stats.messageBytes += batch.entries.reduce((n, e) => n + e.key.length + (e.value?.length ?? 0), 0);
        return this.running(target).applyDelta(batch, self);
      },
      requestTopologyChange: (r) => this.requests.push(r),
    };
  }

  private async clientSend(shard: ShardId, request: ShardRequest, caller: string): Promise<ShardResponse> {
    this.stats.requests++;
    const response = await this.running(shard).handle(request, caller);
    if (request.ops.some(isWriteOp) && (this.requests.length > 0 || this.map.kind === 'anchor')) await this.maintain();
    return response;
  }

  /** Lets time pass for a client that waits before a retry (a fenced cutover in another task). */
  private async tick(): Promise<void> {
    this.clock += 1_000_000n;
    await Promise.resolve();
  }

  private running(id: ShardId): ShardNode {
    const s = this.slots.get(id);
    if (s === undefined) throw new RoutingError(`shard ${id} does not exist (merged away): refresh the partition map`);
    if (!s.running || s.node === undefined) throw new UnavailableError(`shard ${id} is stopped: retry in a moment`);
    return s.node;
  }

  private slot(id: ShardId): Slot {
    const s = this.slots.get(id);
    if (s === undefined) throw new RoutingError(`shard ${id} does not exist (merged away): refresh the partition map`);
    return s;
  }

  private node(id: ShardId): ShardNode {
    const n = this.slot(id).node;
    if (n === undefined) throw new RoutingError(`canister ${id} has no shard code installed`);
    return n;
  }

  private makeNode(id: ShardId, storage: Slot['storage']): ShardNode {
    const host = { isController: (p: string) => p === MEMORY_CONTROLLER, memoryBytes: () => storage.kv.bytes(), cycles: () => 0n };
    return new ShardNode(id, storage, this.registry, this.peersFor(id), { host, maxEntityBytes: this.options.maxEntityBytes });
  }

  /** Fresh shard code on `id` (an empty store), knowing `map`. */
  private install(id: ShardId, map: PartitionerJSON): void {
    const storage = emptyStorage();
    storage.state.save({ map, settings: this.settings });
    this.slots.set(id, { storage, node: this.makeNode(id, storage), running: true });
  }

  /** The next unused `shard-N` id (ids are never reused, so a stale map cannot hit a new shard). */
  private freshId(): ShardId {
    let id: ShardId;
    do id = `shard-${this.nextShard++}`;
    while (this.slots.has(id) || this.map?.shards().includes(id));
    return id;
  }

  // AnchorHash changes move keys from every shard: applied directly, not by the migration machine.
  private anchorSplit(shard: ShardId): ShardId | undefined {
    const id = this.freshId();
    let next: Partitioner | undefined;
    try {
      next = splitMap(this.map, shard, id, this.slot(shard).storage.kv);
    } catch (e) {
      if (e instanceof PartitionError && (e.code === 'capacity-full' || e.code === 'too-many-shards')) return undefined;
      throw e;
    }
    if (next === undefined) return undefined;
    this.install(id, this.map.toJSON());
    this.anchorInstall(next);
    this.stats.splits++;
    return id;
  }

  private anchorMerge(from: ShardId): void {
    this.anchorInstall(mergeMap(this.map, from));
    this.slots.delete(from);
    this.stats.merges++;
  }

  private anchorInstall(next: Partitioner): void {
    for (const id of affectedShards(this.map, next)) {
      const moved = moveMisplaced(id, this.slot(id).storage.kv, next, (owner) => this.slot(owner).storage.kv);
      this.stats.movedEntries += moved.entries;
    }
    this.anchorMap = next;
    for (const id of next.shards()) this.node(id).adoptMap(next.toJSON());
  }
}

function emptyStorage(): Slot['storage'] {
  return { kv: new MemoryKv(), log: new MemoryDeltaLog(), state: new MemoryStateCell() };
}

function cloneStorage(s: Slot['storage']): Slot['storage'] {
  const kv = new MemoryKv();
  let lo: Uint8Array = new Uint8Array(0);
  for (;;) {
    const page = s.kv.range(lo, Uint8Array.of(0xff), 1024);
    for (const [k, v] of page) kv.set(k, v);
    if (page.length < 1024) break;
    lo = keySuccessor(page[page.length - 1][0]);
  }
  return { kv, log: s.log.clone(), state: s.state.clone() };
}
