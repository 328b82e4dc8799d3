// simulate()'s options and result, their validation, and the printed report of a failed seed
// (with the command that replays it).
import { ValidationError } from '../model/errors.js';
import type { LinearizabilityResult } from './checker.js';
import type { ScanPolicy } from './key-ops.js';
import type { History } from './history.js';
import type { SimulationTarget } from './simulation-target.js';

export const MAX_SIM_CLIENTS = 64;
export const MAX_SIM_OPERATIONS = 1_000_000;
/** Keys one simulation may use (each is read back at the end). */
export const MAX_SIM_KEYS = 100_000;

/** Chances in [0, 1]. Request/reply losses are per message; the rest are per scheduler step. */
export interface SimulationFaults {
  requestLoss?: number;
  replyLoss?: number;
  split?: number;
  merge?: number;
  targetFault?: number;
  /** Chance that, right after a delivery, a topology change lands while those requests run. */
  midFlight?: number;
}

export interface SimulationOptions {
  seed: number;
  /** The system under test; a fresh one per seed (e.g. memoryClusterTarget(MemoryCluster.create(…))). */
  cluster: SimulationTarget;
  /** Concurrent clients (default 4). */
  clients?: number;
  /** Operations issued in total (default 200). */
  operations?: number;
  faults?: SimulationFaults;
  /** Key space: groups (shard-key values) × perGroup rows (default 4 × 4). */
  keys?: { groups?: number; perGroup?: number };
  /** Largest payload padding in bytes (default 200). */
  payloadBytes?: number;
  /** Checker bound (see checkLinearizable). */
  maxStates?: number;
  /** How the checker uses scan results (default 'as-reads': every returned row is a read of its key). */
  scans?: ScanPolicy;
  /** The command that replays a seed, for failure reports (default: this repository's simulate test). */
  replayCommand?: (seed: number) => string;
}

export interface SimulationStats {
  steps: number;
  operations: number;
  splits: number;
  merges: number;
  targetFaults: number;
  requestsLost: number;
  repliesLost: number;
}

export interface SimulationResult {
  seed: number;
  ok: boolean;
  /** What went wrong, readable; empty when ok. */
  failures: string[];
  check: LinearizabilityResult;
  /** The recorded history (JSON-serialisable): save it with a failure, re-check it offline. */
  history: History;
  stats: SimulationStats;
  historyDigest: string;
  targetDigest: string;
  /** Digest of both: equal seeds must give equal digests. */
  digest: string;
  replay: string;
}

function assertChance(name: string, p: number | undefined): void {
  if (p !== undefined && !(p >= 0 && p <= 1)) throw new ValidationError(`faults.${name} is a chance in [0, 1], got ${p}`);
}

export function assertSimulationOptions(o: SimulationOptions): void {
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) throw new ValidationError(`seed must be an integer in [0, 2^32), got ${o.seed}`);
  const clients = o.clients ?? 4;
  if (!Number.isInteger(clients) || clients < 1 || clients > MAX_SIM_CLIENTS) throw new ValidationError(`clients must be 1..${MAX_SIM_CLIENTS}, got ${clients}`);
  const ops = o.operations ?? 200;
  if (!Number.isInteger(ops) || ops < 0 || ops > MAX_SIM_OPERATIONS) throw new ValidationError(`operations must be 0..${MAX_SIM_OPERATIONS}, got ${ops}`);
  const groups = o.keys?.groups ?? 4;
  const perGroup = o.keys?.perGroup ?? 4;
  if (!Number.isInteger(groups) || groups < 1 || groups > 65_536) throw new ValidationError(`keys.groups must be 1..65536 (a nat16 shard key), got ${groups}`);
  if (!Number.isInteger(perGroup) || perGroup < 1 || groups * perGroup > MAX_SIM_KEYS) {
    throw new ValidationError(`keys.perGroup must be ≥ 1 with groups × perGroup ≤ ${MAX_SIM_KEYS}, got ${groups} × ${perGroup}`);
  }
  for (const [name, p] of Object.entries(o.faults ?? {})) assertChance(name, p);
  if (o.cluster === undefined || typeof o.cluster.repository !== 'function') throw new ValidationError('cluster must be a SimulationTarget (e.g. memoryClusterTarget(cluster))');
}

/** The report of a failed run: seed, replay command, what failed, and the run's shape. */
export function formatSimulationFailure(r: SimulationResult): string {
  return [
    `simulation seed ${r.seed} failed (replay: ${r.replay})`,
    ...r.failures.map((f) => `- ${f.replace(/\n/g, '\n  ')}`),
    `run: ${JSON.stringify(r.stats)}; digest ${r.digest}`,
  ].join('\n');
}
