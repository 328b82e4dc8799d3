// What a shard persists besides its rows: its partition map, the migration it takes part in (as
// source or target) and its trigger bookkeeping. One small record, saved whole after every change
// (a stable cell in a canister, a field in MemoryCluster), as JSON with tagged bigints and bytes.
import { fromTaggedJson, toTaggedJson } from '../protocol/tagged-json.js';
import type { MigrationPlan } from '../protocol/housekeeping.js';
import type { PartitionerJSON } from '../partition/index.js';

/** The source side of a migration: writes to [plan.start, plan.end) are logged from `prepare` on. */
export interface OutgoingMigration {
  plan: MigrationPlan;
  /** Writes to the moving range get a retryable answer (the cutover's critical section). */
  fenced: boolean;
  /** Sequence number the next logged write gets; the log holds [firstSeq, nextSeq). */
  nextSeq: bigint;
  firstSeq: bigint;
  /** Highest sequence number the target acknowledged. */
  acked: bigint;
  /** Bytes (keys + values) held in the log, bounded by MAX_DELTA_LOG_BYTES. */
  logBytes: number;
  /** Streamed copy: the last storage key sent, and whether every row was sent. */
  copyAfter?: Uint8Array;
  copyDone: boolean;
}

/** The target side: rows and deltas for the moving range arrive from `plan.source`. */
export interface IncomingMigration {
  plan: MigrationPlan;
  /** Highest delta sequence number applied (deltas at or below are ignored: batches are idempotent). */
  applied: bigint;
}

export interface ShardSettings {
  /** Logical bytes above which the shard asks for a split (0: never). */
  maxShardBytes: number;
  /** Canister memory above which the shard asks for a split (0: never). */
  maxShardMemoryBytes: number;
  /** Logical bytes below which the shard asks to be merged into a neighbour (0: never). */
  minShardBytes: number;
}

export interface ShardState {
  map: PartitionerJSON;
  /** The manager's principal (text); undefined in a MemoryCluster. */
  manager?: string;
  settings: ShardSettings;
  outgoing?: OutgoingMigration;
  incoming?: IncomingMigration;
  /** The last migration this shard finished its cutover of (answers retried cutover calls). */
  completed?: string;
  /** The other side of that migration: still a member for forwarding (a merged source until it is deleted). */
  completedWith?: string;
  /** The epoch at which this shard last asked the manager for a topology change (once per epoch). */
  askedAtEpoch?: number;
}

export interface StateCell {
  load(): ShardState | undefined;
  save(state: ShardState): void;
}

export function encodeState(state: ShardState): string {
  return toTaggedJson(state);
}

export function decodeState(text: string): ShardState {
  return fromTaggedJson<ShardState>(text);
}

/** In-memory cell (MemoryCluster, tests); stores the encoded form so a clone shares nothing. */
export class MemoryStateCell implements StateCell {
  constructor(private text?: string) {}

  load(): ShardState | undefined {
    return this.text === undefined ? undefined : decodeState(this.text);
  }

  save(state: ShardState): void {
    this.text = encodeState(state);
  }

  clone(): MemoryStateCell {
    return new MemoryStateCell(this.text);
  }
}
