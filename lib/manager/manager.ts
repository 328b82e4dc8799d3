// The manager role: owns the authoritative partition map and the one topology change in flight,
// decides the next change from the shards' reports (lib/topology/planning.ts), drives the
// migration state machine (lib/topology/migration.ts) a bounded number of effects per tick, and
// tops up shards' cycles. It holds no entity data and is never on the data path. Everything it
// knows is one record, saved after every change, so an upgrade or a trap resumes where it was.
import { ForbiddenError, ValidationError } from '../model/errors.js';
import { RangePartitioner, type RangePartitionerJSON, type ShardId } from '../partition/index.js';
import type { CopyMethod, ShardReport } from '../protocol/housekeeping.js';
import { fromTaggedJson, toTaggedJson } from '../protocol/tagged-json.js';
import { drive, MAX_EFFECTS_PER_DRIVE, type EffectRunner, type ProgressListener } from '../topology/driver.js';
import { currentMap, isTerminal, planMerge, planSplit, type Migration } from '../topology/migration.js';
import { chooseChange, mergeTarget, type TopologyLimits } from '../topology/planning.js';
import { applyRolloutResult, nextRolloutEffect, planRollout, type Rollout, type RolloutEffect, type RolloutResult } from './rollout.js';

/** Finished migrations kept for `status` (older ones are dropped). */
export const MAX_HISTORY = 32;
/** Topology requests queued at once (shards ask at most once per epoch; admins add a few). */
export const MAX_PENDING_REQUESTS = 64;
/**
 * Shard reports are fetched at most this often while the map is unchanged and every shard
 * answered on its epoch. They plan size-driven changes (shards also ask for those themselves) and
 * find shards behind on the map; each costs the shard and the manager a call, and every tick
 * fetching one per shard would cost an idle cluster instructions in proportion to its size.
 */
export const REPORT_INTERVAL_NS = 30_000_000_000n;
/** Shards' cycle balances (one canister_status each) are checked at most this often. */
export const CYCLES_CHECK_INTERVAL_NS = 60_000_000_000n;

export interface ClusterSettings extends TopologyLimits {
  /** How splits copy the bulk (default 'snapshot'; 'stream' where snapshots cannot be loaded across canisters). */
  splitMethod: CopyMethod;
  /** Cycles attached to create_canister for a new shard. */
  shardCycles: bigint;
  /** A shard whose balance falls below this gets `topUpCycles` from the manager's own balance. */
  topUpBelowCycles: bigint;
  topUpCycles: bigint;
}

export interface TopologyRequest {
  kind: 'split' | 'merge';
  shard: ShardId;
  /** Admin requests may name the merge target and the split method. */
  into?: ShardId;
  method?: CopyMethod;
}

export interface ManagerState {
  map: RangePartitionerJSON;
  settings: ClusterSettings;
  /** The identity that deployed the cluster: a controller of every shard, beside the manager. */
  deployer: string;
  active?: Migration;
  history: Migration[];
  requests: TopologyRequest[];
  nextMigration: number;
  /** The rolling upgrade in flight, or the last one (absent in records written before roll-outs existed). */
  rollout?: Rollout;
  nextRollout?: number;
}

/** Performs one effect of a roll-out (lib/manager/rollout.ts) against the IC. */
export interface RolloutRunner {
  perform(effect: RolloutEffect): Promise<RolloutResult>;
}

export interface ManagerHost {
  now(): bigint;
  /** Reports of the given shards (a shard that does not answer is left out). */
  reports(shards: ShardId[]): Promise<ShardReport[]>;
  /**
   * A shard's cycles balance as its controller sees it (canister_status): a shard that ran dry is
   * frozen and cannot answer its own report, so balances never come from the shard itself.
   */
  cycles(shard: ShardId): Promise<bigint | undefined>;
  /** Sends `cycles` from the manager's balance to `shard`. */
  topUp(shard: ShardId, cycles: bigint): Promise<void>;
  effects: EffectRunner;
  save(state: ManagerState): void;
  /** Sends the map to shards whose reports show an older epoch (best effort; absent: announcements only). */
  announce?(shards: ShardId[], map: RangePartitionerJSON): Promise<void>;
  /** Absent: this host cannot upgrade shards (MemoryCluster upgrades entity classes in-process). */
  rollout?: RolloutRunner;
}

export interface TickOutcome {
  started?: string;
  effects: number;
  toppedUp: ShardId[];
}

export class ClusterManager {
  private readonly host: ManagerHost;
  private state: ManagerState;

  constructor(options: { state: ManagerState; host: ManagerHost }) {
    this.state = options.state;
    this.host = options.host;
  }

  /** A fresh cluster of one shard owning the whole hash space. */
  static initialState(options: { shard: ShardId; deployer: string; settings: ClusterSettings }): ManagerState {
    return { map: RangePartitioner.single(options.shard).toJSON(), settings: options.settings, deployer: options.deployer, history: [], requests: [], nextMigration: 1 };
  }

  get map(): RangePartitioner {
    return RangePartitioner.fromJSON(this.state.map);
  }

  get settings(): ClusterSettings {
    return this.state.settings;
  }

  get deployer(): string {
    return this.state.deployer;
  }

  /** A copy of the whole record (tagged JSON round trip: QuickJS has no structuredClone). */
  snapshot(): ManagerState {
    return fromTaggedJson<ManagerState>(toTaggedJson(this.state));
  }

  /** A shard asks for its own split or merge (at most once per epoch: requests of older epochs are stale). */
  shardRequest(request: { kind: 'split' | 'merge'; shard: ShardId; epoch: number }, caller: string): void {
    if (caller !== request.shard || !this.map.shards().includes(caller)) throw new ForbiddenError(`${caller} may only ask for a change of itself, as a shard of this cluster`);
    if (request.epoch !== this.map.epoch) {
      // Decided on an older map: the next report decides again, so the next tick fetches reports
      // (the shard asks only once per epoch it knows, and it is behind: it is re-announced too).
      this.lastReports = undefined;
      return;
    }
    this.enqueue({ kind: request.kind, shard: request.shard });
  }

  /** A controller asks for a split or merge now. */
  adminRequest(request: TopologyRequest): void {
    const r = this.state.rollout;
    if (this.migrationsBlocked && r !== undefined) {
      throw new ValidationError(r.phase === 'running'
        ? `roll-out ${r.id} is upgrading the shards: ask for the ${request.kind} once it is done (\`shardorm status\`)`
        : `roll-out ${r.id} failed, so the shards run different modules: finish it with \`shardorm upgrade\` before a ${request.kind}`);
    }
    const shards = this.map.shards();
    if (!shards.includes(request.shard)) throw new ValidationError(`${request.shard} is not a shard of this cluster (shards: ${shards.join(', ')})`);
    if (request.kind === 'merge') {
      if (shards.length < 2) throw new ValidationError('the only shard cannot be merged');
      const into = request.into ?? mergeTarget(this.map, request.shard);
      const ranges = this.map.ranges();
      const i = ranges.findIndex((r) => r.shard === request.shard);
      if (into === undefined || ![ranges[i - 1]?.shard, ranges[i + 1]?.shard].includes(into)) {
        throw new ValidationError(`${request.shard} can merge only into a neighbour (${[ranges[i - 1]?.shard, ranges[i + 1]?.shard].filter(Boolean).join(' or ')})`);
      }
      this.enqueue({ ...request, into });
    } else this.enqueue(request);
  }

  updateSettings(settings: ClusterSettings): void {
    for (const [k, v] of Object.entries(settings)) {
      if ((typeof v === 'number' && (!Number.isSafeInteger(v) || v < 0)) || (typeof v === 'bigint' && v < 0n)) throw new ValidationError(`setting ${k} must be a non-negative integer`);
    }
    this.state.settings = settings;
    this.host.save(this.state);
  }

  /**
   * A controller starts a rolling upgrade of every shard to the Wasm whose chunks are in the
   * manager's chunk store. One at a time, never beside a migration (a split copies the source's
   * module and a streamed one installs the store's: versions would mix mid-move).
   */
  startRollout(options: { wasmHash: string; chunks: string[] }): string {
    if (this.host.rollout === undefined) throw new ValidationError('this manager cannot upgrade shards (no roll-out runner)');
    const r = this.state.rollout;
    if (r?.phase === 'running') throw new ValidationError(`roll-out ${r.id} is still running (${r.shards.filter((s) => s.step === 'done').length} of ${r.shards.length} shards done): wait for it, see \`shardorm status\``);
    const m = this.state.active;
    if (m !== undefined) throw new ValidationError(`${m.kind} ${m.id} of ${m.source} is in flight (phase ${m.phase}): upgrade once it is done, see \`shardorm status\``);
    const id = `u${this.state.nextRollout ?? 1}`;
    this.state.nextRollout = (this.state.nextRollout ?? 1) + 1;
    this.state.rollout = planRollout({ id, shards: this.map.shards(), wasmHash: options.wasmHash, chunks: options.chunks, now: this.host.now() });
    this.host.save(this.state);
    return id;
  }

  /**
   * A clone's manager takes the clone's canister ids (`shardorm clone`): its map with every shard
   * renamed (same ranges, epoch + 1, so a shard still on the old ids is visibly behind), its
   * journal's ids renamed, the queue dropped, and the cloning identity as deployer. Idempotent:
   * a map that already names the new ids is answered as it is.
   */
  rebind(options: { renames: ReadonlyMap<ShardId, ShardId>; deployer: string }): RangePartitionerJSON {
    const map = this.state.map;
    const targets = new Set(options.renames.values());
    if (targets.size !== options.renames.size) throw new ValidationError('two canisters are renamed to one id');
    if (map.ranges.every((r) => targets.has(r.shard))) return map; // rebound already
    if (this.state.active !== undefined) throw new ValidationError(`${this.state.active.kind} ${this.state.active.id} is in flight: a clone is restored from a backup taken between migrations`);
    if (this.state.rollout?.phase === 'running') throw new ValidationError(`roll-out ${this.state.rollout.id} is running: a clone is restored from a backup taken between roll-outs`);
    const rename = (id: ShardId): ShardId => {
      const to = options.renames.get(id);
      if (to === undefined) throw new ValidationError(`no new id for shard ${id}: name every shard of the map (${map.ranges.map((r) => r.shard).join(', ')})`);
      return to;
    };
    const renamed = (id: ShardId | undefined) => (id === undefined ? undefined : options.renames.get(id) ?? id);
    this.state.map = { ...map, epoch: map.epoch + 1, ranges: map.ranges.map((r) => ({ ...r, shard: rename(r.shard) })) };
    this.state.history = this.state.history.map((m) => ({ ...m, source: renamed(m.source)!, target: renamed(m.target) }));
    if (this.state.rollout !== undefined) this.state.rollout = { ...this.state.rollout, shards: this.state.rollout.shards.map((x) => ({ ...x, shard: renamed(x.shard)! })) };
    this.state.requests = [];
    this.state.deployer = options.deployer;
    this.host.save(this.state);
    return this.state.map;
  }

  /** Migrations wait while a roll-out runs, and after one failed (the shards run mixed modules) until a new one is done. */
  get migrationsBlocked(): boolean {
    return this.state.rollout !== undefined && this.state.rollout.phase !== 'done';
  }

  private enqueue(request: TopologyRequest): void {
    if (this.state.requests.some((r) => r.kind === request.kind && r.shard === request.shard)) return;
    if (this.state.requests.length >= MAX_PENDING_REQUESTS) throw new ValidationError(`${MAX_PENDING_REQUESTS} topology requests are queued already: wait for them`);
    this.state.requests.push(request);
    this.host.save(this.state);
  }

  /**
   * One round of housekeeping: drive the migration in flight; when none is, start the next one
   * (queued requests first, then what the reports call for); top up shards low on cycles.
   * `fresh`: fetch reports and balances now, whenever they were last fetched (a controller's `drive`).
   */
  async tick(options: { onProgress?: ProgressListener; fresh?: boolean } = {}): Promise<TickOutcome> {
    // One tick at a time: two drives of one migration would apply each other's results.
    if (this.ticking !== undefined) return this.ticking;
    if (options.fresh) {
      this.lastReports = undefined;
      this.lastCyclesCheck = undefined;
    }
    this.ticking = this.tickOnce(options.onProgress).finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private ticking?: Promise<TickOutcome>;
  /** The last reports fetched (heap only: a restarted manager fetches them on its first tick). */
  private lastReports?: { at: bigint; epoch: number; reports: ShardReport[]; settled: boolean };
  private lastCyclesCheck?: bigint;

  /**
   * The shards' reports, fetched again when REPORT_INTERVAL_NS passed, the map changed, or the
   * last ones found a shard silent or behind (re-announced every tick until it has caught up).
   */
  private async currentReports(): Promise<ShardReport[]> {
    const now = this.host.now();
    const last = this.lastReports;
    if (last !== undefined && last.settled && last.epoch === this.state.map.epoch && now - last.at < REPORT_INTERVAL_NS) return last.reports;
    const shards = this.map.shards();
    const reports = await this.host.reports(shards);
    const settled = reports.length === shards.length && reports.every((r) => r.epoch === this.state.map.epoch);
    this.lastReports = { at: now, epoch: this.state.map.epoch, reports, settled };
    return reports;
  }

  private async tickOnce(onProgress?: ProgressListener): Promise<TickOutcome> {
    const outcome: TickOutcome = { effects: 0, toppedUp: [] };
    const now = this.host.now();
    if (this.state.settings.topUpCycles > 0n && (this.lastCyclesCheck === undefined || now - this.lastCyclesCheck >= CYCLES_CHECK_INTERVAL_NS)) {
      this.lastCyclesCheck = now;
      for (const shard of this.map.shards()) {
        const balance = await this.host.cycles(shard);
        if (balance === undefined || balance >= this.state.settings.topUpBelowCycles) continue;
        try {
          await this.host.topUp(shard, this.state.settings.topUpCycles);
          outcome.toppedUp.push(shard);
        } catch {
          // The manager itself is low: the next tick tries again.
        }
      }
    }
    const reports = await this.currentReports();
    // Announcements are best effort: a shard that missed one would forward to old owners and get
    // "moved" forever (nothing else tells it). Each tick gives the map to shards reporting an older epoch.
    const behind = reports.filter((r) => r.epoch < this.state.map.epoch).map((r) => r.shard);
    if (behind.length > 0 && this.host.announce !== undefined) await this.host.announce(behind, this.state.map).catch(() => undefined);
    const rollout = this.state.rollout;
    if (rollout?.phase === 'running' && this.host.rollout !== undefined) {
      outcome.effects = await this.driveRollout(rollout, this.host.rollout);
      return outcome;
    }
    if (this.state.active === undefined && !this.migrationsBlocked) {
      const next = this.nextMigration(reports);
      if (next !== undefined) {
        this.state.active = next;
        outcome.started = next.id;
        this.host.save(this.state);
      }
    }
    const m = this.state.active;
    if (m !== undefined) {
      outcome.effects = await drive(m, this.host.effects, { save: () => this.afterStep(m) }, () => this.host.now(), onProgress);
      if (isTerminal(m)) this.finish(m);
    }
    return outcome;
  }

  /** Performs due effects of the roll-out (one shard at a time) until it must wait, ends, or MAX_EFFECTS_PER_DRIVE ran. */
  private async driveRollout(r: Rollout, runner: RolloutRunner): Promise<number> {
    let performed = 0;
    while (r.phase === 'running' && performed < MAX_EFFECTS_PER_DRIVE && this.host.now() >= r.retryAt) {
      const effect = nextRolloutEffect(r);
      if (effect === undefined) throw new Error(`roll-out ${r.id} is running but has nothing to do`);
      let result: RolloutResult;
      try {
        result = await runner.perform(effect);
      } catch (e) {
        result = { ok: false, error: e instanceof Error ? e.message : String(e) };
      }
      applyRolloutResult(r, effect, result, this.host.now());
      this.host.save(this.state);
      performed++;
    }
    return performed;
  }

  /** Persists the migration's progress; from the cutover on, the next map is the cluster's map. */
  private afterStep(m: Migration): void {
    const map = currentMap(m);
    if (map.epoch > this.state.map.epoch) this.state.map = map;
    this.host.save(this.state);
  }

  private finish(m: Migration): void {
    this.state.active = undefined;
    this.state.history = [...this.state.history, m].slice(-MAX_HISTORY);
    this.host.save(this.state);
  }

  private nextMigration(reports: ShardReport[]): Migration | undefined {
    const map = this.map;
    const now = this.host.now();
    const id = () => `m${this.state.nextMigration++}`;
    while (this.state.requests.length > 0) {
      const r = this.state.requests.shift()!;
      if (!map.shards().includes(r.shard)) continue; // merged away meanwhile
      if (r.kind === 'split') return planSplit({ id: id(), source: r.shard, map, method: r.method ?? this.state.settings.splitMethod, now });
      const into = r.into ?? mergeTarget(map, r.shard);
      if (into !== undefined && map.shards().length > 1) return planMerge({ id: id(), source: r.shard, target: into, map, now });
    }
    const change = chooseChange(map, reports.map((r) => ({ shard: r.shard, logicalBytes: r.logicalBytes, memoryBytes: r.memoryBytes, entries: r.entities })), this.state.settings);
    if (change === undefined) return undefined;
    if (change.kind === 'split') {
      // A shard that cannot split (one hot key) rolled back last time at this epoch: don't retry forever.
      const last = this.state.history[this.state.history.length - 1];
      if (last?.kind === 'split' && last.source === change.shard && last.phase === 'rolled-back' && last.prev.epoch === map.epoch) return undefined;
      return planSplit({ id: id(), source: change.shard, map, method: this.state.settings.splitMethod, now });
    }
    return planMerge({ id: id(), source: change.shard, target: change.into, map, now });
  }

  status(): { epoch: number; map: RangePartitionerJSON; active?: Migration; history: Migration[]; requests: TopologyRequest[]; rollout?: Rollout } {
    return { epoch: this.state.map.epoch, map: this.state.map, active: this.state.active, history: this.state.history, requests: this.state.requests, rollout: this.state.rollout };
  }
}
