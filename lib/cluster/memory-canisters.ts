// The in-process stand-in for the IC under MemoryCluster: canisters as slots of in-memory shard
// storage that can be stopped, snapshotted (a copy of the storage) and loaded, shard nodes wired
// to each other as peers, and the effect runner that performs the migration state machine's
// effects on them — what the manager canister does with management and shard calls. Faults make
// effects fail on purpose.
import { RoutingError, UnavailableError } from '../model/errors.js';
import type { EntityRegistry } from '../model/registry.js';
import { RangePartitioner, type PartitionerJSON, type ShardId } from '../partition/index.js';
import type { BatchAck, DeltaBatch, RowsBatch } from '../protocol/housekeeping.js';
import { keySuccessor, MemoryKv } from '../repository/store.js';
import { MemoryDeltaLog } from '../shard/delta-log.js';
import { ShardNode } from '../shard/node.js';
import type { ShardPeers, ShardStorage } from '../shard/ports.js';
import { MemoryStateCell, type ShardSettings } from '../shard/state.js';
import type { Effect, EffectResult } from '../topology/migration.js';

/** The principal every in-process caller uses unless a repository names another. */
export const MEMORY_CONTROLLER = 'aaaaa-aa';

interface Slot {
  storage: ShardStorage & { kv: MemoryKv; log: MemoryDeltaLog; state: MemoryStateCell };
  node?: ShardNode;
  running: boolean;
}

export class MemoryCanisters {
  private readonly slots = new Map<ShardId, Slot>();
  private readonly snapshots = new Map<string, Slot['storage']>();
  private readonly faults = new Map<Effect['kind'], number>();
  private nextShard = 0;
  private nextSnapshot = 0;
  /** Topology requests shards sent (MemoryCluster's manager pass reads and clears them). */
  readonly requests: { kind: 'split' | 'merge'; shard: ShardId }[] = [];

  constructor(
    private readonly registry: EntityRegistry,
    private readonly settings: ShardSettings,
    private readonly stats: { messageBytes: number },
    private readonly inMap: (id: ShardId) => boolean,
    private readonly maxEntityBytes?: number,
  ) {}

  get size(): number {
    return this.slots.size;
  }

  has(id: ShardId): boolean {
    return this.slots.get(id)?.node !== undefined;
  }

  remove(id: ShardId): void {
    this.slots.delete(id);
  }

  /** Makes the next `times` effects of `kind` fail. */
  failEffect(kind: Effect['kind'], times: number): void {
    this.faults.set(kind, (this.faults.get(kind) ?? 0) + times);
  }

  /** The effect runner: what the manager canister does with management and shard calls. */
  async perform(effect: Effect): Promise<EffectResult> {
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

  running(id: ShardId): ShardNode {
    const s = this.slots.get(id);
    if (s === undefined) throw new RoutingError(`shard ${id} does not exist (merged away): refresh the partition map`);
    if (!s.running || s.node === undefined) throw new UnavailableError(`shard ${id} is stopped: retry in a moment`);
    return s.node;
  }

  slot(id: ShardId): Slot {
    const s = this.slots.get(id);
    if (s === undefined) throw new RoutingError(`shard ${id} does not exist (merged away): refresh the partition map`);
    return s;
  }

  node(id: ShardId): ShardNode {
    const n = this.slot(id).node;
    if (n === undefined) throw new RoutingError(`canister ${id} has no shard code installed`);
    return n;
  }

  private makeNode(id: ShardId, storage: Slot['storage']): ShardNode {
    const host = { isController: (p: string) => p === MEMORY_CONTROLLER, memoryBytes: () => storage.kv.bytes(), cycles: () => 0n };
    return new ShardNode(id, storage, this.registry, this.peersFor(id), { host, maxEntityBytes: this.maxEntityBytes });
  }

  /** Fresh shard code on `id` (an empty store), knowing `map`. */
  install(id: ShardId, map: PartitionerJSON): void {
    const storage = emptyStorage();
    storage.state.save({ map, settings: this.settings });
    this.slots.set(id, { storage, node: this.makeNode(id, storage), running: true });
  }

  /** The next unused `shard-N` id (ids are never reused, so a stale map cannot hit a new shard). */
  freshId(): ShardId {
    let id: ShardId;
    do id = `shard-${this.nextShard++}`;
    while (this.slots.has(id) || this.inMap(id));
    return id;
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
