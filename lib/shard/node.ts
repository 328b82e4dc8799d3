// A shard's request handling and its side of every migration, identical in every canister and in
// MemoryCluster. Data: serve the ops this shard owns, forward the others to their owner at most
// once (carrying the original caller), answer "moved" when a forwarded op still misses, and
// "retry" when the op's range is fenced for a cutover. Migrations: log writes to a moving range
// (source), take rows and deltas (target), fence and cut over, prune what it no longer owns.
// The node persists through ShardStorage; the canister glue and MemoryCluster only carry calls.
import { ForbiddenError, ShardOrmError, toWireError, ValidationError } from '../model/errors.js';
import type { EntityRegistry } from '../model/registry.js';
import { partitionerFromJSON, RangePartitioner, type Partitioner, type PartitionerJSON, type ShardId } from '../partition/index.js';
import type { BatchAck, DeltaBatch, MigrationPlan, RowsBatch, ShardReport } from '../protocol/housekeeping.js';
import { assertBatch, isWriteOp, type Op, type OpResult, type ShardRequest, type ShardResponse } from '../protocol/ops.js';
import type { OrderedKv } from '../repository/store.js';
import type { RequestCaller } from './access.js';
import { MAX_DELTA_LOG_BYTES } from './delta-log.js';
import { executeOp, type ShardContext } from './executor.js';
import { medianHash, sumHashRange, walkHashRange } from './hash-ranges.js';
import { fail } from './paged-leaf.js';
import type { Sums } from './paged-format.js';
import { LoggedKv } from './logged-kv.js';
import * as sides from './migration-sides.js';
import type { SideContext } from './migration-sides.js';
import type { ShardHost, ShardPeers, ShardStorage } from './ports.js';
import { forwardFailure, routeOp, type Route } from './routing.js';
import { decodeState, encodeState, type ShardSettings, type ShardState } from './state.js';

/** Rows a prune step deletes at most (a timer runs steps until nothing is left). */
export const PRUNE_BATCH = 512;

export interface NodeStats {
  served: number;
  forwarded: number;
  moved: number;
  fenced: number;
}

const DEFAULT_HOST: ShardHost = { isController: () => true, memoryBytes: () => 0, cycles: () => 0n };

export class ShardNode {
  readonly stats: NodeStats = { served: 0, forwarded: 0, moved: 0, fenced: 0 };
  readonly ctx: ShardContext;
  private state: ShardState;
  private map: Partitioner;
  /**
   * Entries and bytes stored here outside the owned range: rows a snapshot clone, a split or a
   * merge left until pruning drops them. Undefined: not known, summed again when next asked (per-leaf
   * sums, no row read). Only housekeeping stores outside rows or drops them — a data-path write
   * is to an owned key (routeOp forwards the rest) — so each housekeeping path below forgets the
   * sums and every data write keeps them: a write message does not pay for a range sum. Heap only:
   * unknown after a restart.
   */
  private outside: Sums | undefined = undefined;
  private readonly logged: LoggedKv;

  constructor(
    readonly id: ShardId,
    private readonly storage: ShardStorage,
    registry: EntityRegistry,
    private readonly peers: ShardPeers,
    options: { initial?: ShardState; host?: ShardHost; maxEntityBytes?: number } = {},
  ) {
    const loaded = storage.state.load();
    const state = loaded ?? options.initial;
    if (state === undefined) throw new Error(`shard ${id}: no persisted state and no initial state`);
    this.state = state;
    if (loaded === undefined) storage.state.save(state);
    this.map = partitionerFromJSON(state.map);
    this.host = options.host ?? DEFAULT_HOST;
    this.logged = new LoggedKv(storage.kv, storage.log, () => this.state.outgoing);
    this.ctx = { kv: this.logged, registry, maxEntityBytes: options.maxEntityBytes, owns: (hash) => this.map.shardFor(hash) === this.id };
    this.side = {
      id,
      storage,
      peers,
      state: () => this.state,
      epoch: () => this.map.epoch,
      ownRange: () => this.ownRange(),
      adopt: (json) => this.adopt(json),
      save: () => this.save(),
    };
  }

  private readonly side: SideContext;

  private readonly host: ShardHost;

  get partitioner(): Partitioner {
    return this.map;
  }

  /** The shard's store (rows and index entries, including rows it no longer owns until pruned). */
  get kv(): OrderedKv {
    return this.storage.kv;
  }

  get epoch(): number {
    return this.map.epoch;
  }

  /** The persisted state (a copy: change it only through the methods below; no structuredClone in QuickJS). */
  snapshotState(): ShardState {
    return decodeState(encodeState(this.state));
  }

  /** Members: every shard of the map, the manager, and the partner of a migration in progress. */
  isMember(principal: string): boolean {
    if (principal === this.state.manager) return true;
    if (this.map.shards().includes(principal)) return true;
    if (this.state.completedWith === principal) return true; // a merged-away source still forwards until deleted
    const plan = this.state.outgoing?.plan ?? this.state.incoming?.plan;
    return plan !== undefined && (plan.source === principal || plan.target === principal);
  }

  /** The caller a request is served for: the origin of a member's forward, else the immediate caller. */
  private callerOf(request: ShardRequest, immediate: string): RequestCaller {
    if (request.hops === 0) return { principal: immediate, controller: this.host.isController(immediate) };
    if (!this.isMember(immediate)) throw new ForbiddenError(`${immediate} is not a member of this cluster: only shards may forward requests`);
    if (request.origin === undefined) throw new ValidationError('a forwarded request must name its origin');
    return { principal: request.origin, controller: this.host.isController(request.origin) };
  }

  async handle(request: ShardRequest, immediateCaller: string): Promise<ShardResponse> {
    assertBatch(request);
    const caller = this.callerOf(request, immediateCaller);
    const results: OpResult[] = new Array(request.ops.length);
    const forwards = new Map<ShardId, number[]>();
    let wrote = false;
    request.ops.forEach((op, i) => {
      let route: Route;
      try {
        route = routeOp(this.map, this.id, op, request.hops); // an out-of-range hash is a PartitionError
      } catch (e) {
        if (!(e instanceof ShardOrmError)) throw e;
        results[i] = { kind: 'error', error: toWireError(e) };
        return;
      }
      if (route.kind === 'moved') {
        this.stats.moved++;
        results[i] = { kind: 'moved' };
      } else if (route.kind === 'forward') {
        const idx = forwards.get(route.to) ?? [];
        idx.push(i);
        forwards.set(route.to, idx);
      } else {
        results[i] = this.serve(op, caller);
        wrote ||= isWriteOp(op) && results[i].kind !== 'error' && results[i].kind !== 'retry';
      }
    });
    if (wrote) this.afterWrites();
    let epoch = this.map.epoch;
    let newerAt: ShardId | undefined;
    await Promise.all(
      [...forwards].map(async ([to, idx]) => {
        this.stats.forwarded += idx.length;
        const ops = idx.map((i) => request.ops[i]);
        let response: ShardResponse;
        try {
          response = await this.peers.send(to, { ops, hops: request.hops + 1, origin: caller.principal });
        } catch (e) {
          idx.forEach((i) => (results[i] = forwardFailure(request.ops[i], e)));
          return;
        }
        if (response.results.length !== idx.length) throw new Error(`shard ${to} answered ${response.results.length} of ${idx.length} ops`);
        idx.forEach((i, j) => (results[i] = response.results[j]));
        if (response.epoch > epoch) {
          epoch = response.epoch;
          newerAt = response.newerAt ?? to;
        }
      }),
    );
    return { results, epoch, ...(newerAt === undefined ? {} : { newerAt }) };
  }

  private serve(op: Op, caller: RequestCaller): OpResult {
    this.stats.served++;
    if (op.kind === 'map') return { kind: 'map', map: this.map.toJSON() };
    if (isWriteOp(op)) {
      const out = this.state.outgoing;
      if (out !== undefined && op.hash >= out.plan.start && op.hash < out.plan.end) {
        if (out.fenced) {
          this.stats.fenced++;
          return { kind: 'retry', reason: `${this.id} is handing this key range over (cutover): retry in a moment` };
        }
        if (out.logBytes > MAX_DELTA_LOG_BYTES) return { kind: 'retry', reason: `${this.id}'s migration log is full: retry in a moment` };
      }
    }
    try {
      return executeOp(this.ctx, op, caller);
    } catch (e) {
      if (e instanceof ShardOrmError) return { kind: 'error', error: toWireError(e) };
      throw e;
    }
  }

  /** Persists what the writes logged and asks for a topology change when a threshold is crossed. */
  private afterWrites(): void {
    if (this.state.outgoing !== undefined) this.save();
    const want = this.wantedChange();
    if (want !== undefined && this.state.askedAtEpoch !== this.map.epoch) {
      this.state.askedAtEpoch = this.map.epoch; // at most one request per epoch: no storms
      this.save();
      this.peers.requestTopologyChange({ kind: want, shard: this.id, epoch: this.map.epoch });
    }
  }

  /** The change this shard's size calls for, if any (none while it takes part in a migration). */
  wantedChange(): 'split' | 'merge' | undefined {
    if (this.state.outgoing !== undefined || this.state.incoming !== undefined) return undefined;
    const s = this.state.settings;
    const bytes = this.ownedSize().logicalBytes;
    if ((s.maxShardBytes > 0 && bytes > s.maxShardBytes) || (s.maxShardMemoryBytes > 0 && this.host.memoryBytes() > s.maxShardMemoryBytes)) return 'split';
    if (s.minShardBytes > 0 && bytes < s.minShardBytes && this.map.shards().length > 1) return 'merge';
    return undefined;
  }

  private save(): void {
    this.storage.state.save(this.state);
  }

  private ownRange(): { start: bigint; end: bigint } {
    if (!(this.map instanceof RangePartitioner)) throw new ValidationError('migrations between canisters need a RangePartitioner');
    return this.map.shards().includes(this.id) ? this.map.rangeOf(this.id) : { start: 0n, end: 0n };
  }

  // ---- housekeeping: the manager's calls -------------------------------------------------

  report(): ShardReport {
    const { start, end } = this.ownRange();
    const plan = this.state.outgoing?.plan ?? this.state.incoming?.plan;
    return {
      shard: this.id,
      epoch: this.map.epoch,
      start,
      end,
      ...this.ownedSize(),
      memoryBytes: this.host.memoryBytes(),
      cycles: this.host.cycles(),
      ...(plan === undefined
        ? {}
        : {
            migration: {
              id: plan.id,
              role: this.state.outgoing !== undefined ? ('source' as const) : ('target' as const),
              fenced: this.state.outgoing?.fenced ?? false,
              logged: this.state.outgoing === undefined ? 0 : Number(this.state.outgoing.nextSeq - this.state.outgoing.firstSeq),
            },
          }),
    };
  }

  /**
   * Entities and logical bytes of the owned range. The store's counters include rows not pruned
   * yet: right after a snapshot split both halves would report the whole shard and the manager
   * would split them again (or fail to: "all its data has one shard-key hash"). So the counters
   * less what lies outside the owned range (`outside`, summed when not known).
   */
  private ownedSize(): { entities: number; logicalBytes: number } {
    const total = { entries: this.kv.size(), bytes: this.kv.bytes() };
    if (!(this.map instanceof RangePartitioner)) return { entities: total.entries, logicalBytes: total.bytes };
    if (this.outside === undefined) {
      const { start, end } = this.ownRange();
      const owned = sumHashRange(this.storage.kv, start, end);
      this.outside = { entries: total.entries - owned.entries, bytes: total.bytes - owned.bytes };
    }
    if (this.outside.entries < 0 || this.outside.entries > total.entries || this.outside.bytes < 0 || this.outside.bytes > total.bytes) {
      fail(`shard ${this.id}: outside sums ${JSON.stringify(this.outside)} exceed the store's ${JSON.stringify(total)}`); // built only on failure: this runs per write
    }
    return { entities: total.entries - this.outside.entries, logicalBytes: total.bytes - this.outside.bytes };
  }

  /** A housekeeping path stored or dropped rows that may lie outside the owned range: sum again when asked. */
  private forgetOutside(): void {
    this.outside = undefined;
  }

  /** Runs a housekeeping rewrite of stored rows (the schema upgrade's `upgrade_rows`) on the data context. */
  rewriteRows<T>(step: (ctx: ShardContext) => T): T {
    this.forgetOutside(); // rows outside the owned range are rewritten too, and their sizes change
    return step(this.ctx);
  }

  /** The byte-weighted median hash of the owned range (undefined: cannot split, e.g. one hot key). */
  splitPoint(): bigint | undefined {
    const { start, end } = this.ownRange();
    return medianHash(this.kv, start, end);
  }

  // ---- migration housekeeping (lib/shard/migration-sides.ts) ------------------------------

  /** Source: from now on every write to the moving range is logged. Idempotent per plan id. */
  prepare(plan: MigrationPlan): void {
    sides.prepare(this.side, plan);
  }

  /** Target: takes the moving range's rows and deltas from the source from now on (continues a snapshot clone's log). */
  accept(plan: MigrationPlan): void {
    this.forgetOutside(); // drops stale rows of the incoming range, then takes its rows
    sides.accept(this.side, plan);
  }

  /** Target: stores a batch of copied rows. */
  applyRows(batch: RowsBatch, from: string): BatchAck {
    this.forgetOutside(); // rows of a range this shard owns only from the cutover
    return sides.applyRows(this.side, batch, from);
  }

  /** Target: applies deltas it has not seen, in order; with `adopt`, takes ownership (the cutover). */
  applyDelta(batch: DeltaBatch, from: string): BatchAck {
    this.forgetOutside();
    return sides.applyDelta(this.side, batch, from);
  }

  /** Source, streamed copy: sends the next batch of moving rows to the target. */
  copyBatch(): Promise<{ done: boolean; rows: number; bytes: number }> {
    return sides.copyBatch(this.side);
  }

  /** Source: sends one batch of the delta log; returns how many entries remain unsent. */
  pushDelta(): Promise<{ remaining: number }> {
    return sides.pushDelta(this.side);
  }

  /** Source: the fenced cutover; 'retry' when the target could not take it (the fence is lifted again). */
  cutover(migration: string): Promise<'done' | 'retry'> {
    return sides.cutover(this.side, migration);
  }

  /** Drops this shard's side of a migration that has not cut over (rollback). Idempotent. */
  abort(migration: string): void {
    this.forgetOutside(); // a target's abort drops the rows it took
    sides.abort(this.side, migration);
  }

  /** Installs a newer partition map (cutover, or the manager's announcement); older maps are ignored. */
  adoptMap(json: PartitionerJSON): boolean {
    if (json.epoch <= this.map.epoch) return false;
    if (this.state.outgoing !== undefined || this.state.incoming !== undefined) {
      // A migration partner learns the next map from its cutover, not from an announcement.
      const plan = (this.state.outgoing ?? this.state.incoming)!.plan;
      if (json.epoch >= plan.next.epoch) throw new ValidationError(`${this.id} is in migration ${plan.id}: it adopts epoch ${plan.next.epoch} at cutover`);
    }
    this.adopt(json);
    this.save();
    return true;
  }

  updateSettings(settings: ShardSettings): void {
    this.state.settings = settings;
    this.save();
  }

  private adopt(json: PartitionerJSON): void {
    const next = partitionerFromJSON(json);
    if (next.epoch <= this.map.epoch) return;
    this.map = next;
    this.forgetOutside();
    this.state.map = json;
  }

  /**
   * Deletes up to PRUNE_BATCH entries this shard does not own (left by a split or merge). Never
   * while a migration is in progress: a target does not own its incoming rows yet. Reads, scans
   * and counts filter by ownership, so nothing depends on pruning being done.
   */
  pruneStep(): number {
    if (this.state.outgoing !== undefined || this.state.incoming !== undefined) return 0;
    if (!(this.map instanceof RangePartitioner)) return 0; // AnchorHash changes move data directly
    const { start, end } = this.ownRange();
    const step = walkHashRange(this.storage.kv, { start, end, outside: true }, undefined, { maxEntries: PRUNE_BATCH, maxBytes: Number.MAX_SAFE_INTEGER });
    if (step.entries.length > 0) this.forgetOutside();
    for (const [k] of step.entries) this.storage.kv.delete(k);
    if (step.entries.length === 0) this.outside = { entries: 0, bytes: 0 }; // the walk found none: nothing is outside
    return step.entries.length;
  }
}
