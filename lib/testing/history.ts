// The recorded history: what HistoryRecorder writes and checkLinearizable reads. Plain JSON (see
// values.ts), versioned by `format`, so a failing run's history can be saved with a test failure
// and re-checked offline with parseHistory + checkLinearizable. Events are in logical-clock
// order: every invoke and complete takes the next tick of one counter.
import { ValidationError } from '../model/errors.js';
import type { Json } from './values.js';

export const HISTORY_FORMAT = 'shardorm-history/1';

/** Operations a history may hold. Single-key ops are checked; getMany/…Many per key; the rest are kept but not checked. */
export type HistoryOpName =
  | 'get'
  | 'insert'
  | 'upsert'
  | 'update'
  | 'delete'
  | 'getMany'
  | 'insertMany'
  | 'upsertMany'
  | 'deleteMany'
  | 'scan'
  | 'find'
  | 'count';

/**
 * ok: the op returned. failed: it threw and certainly did not take effect (e.g. ConflictError).
 * unknown: it threw in a way that leaves it open (a trap, a lost reply, a timeout), or it never
 * completed: it may have taken effect at any time after its invoke, or never.
 */
export type Outcome = 'ok' | 'failed' | 'unknown';

export interface InvokeEvent {
  type: 'invoke';
  /** Operation id, unique in the history; the complete event carries the same id. */
  id: number;
  time: number;
  client: string;
  collection: string;
  op: HistoryOpName;
  /** Canonical key text (single-key ops). */
  key?: string;
  /** Canonical key texts (getMany, insertMany, upsertMany, deleteMany). */
  keys?: string[];
  /** The entity written (insert/upsert), entities (…Many), or the patch (update: { set, unset }). */
  value?: Json;
  /** Anything else the call took (scan options, find index and value). */
  args?: Json;
}

export interface CompleteEvent {
  type: 'complete';
  id: number;
  time: number;
  outcome: Outcome;
  /** The returned value (ok): entity or null, boolean for delete, arrays for …Many. */
  result?: Json;
  /** The thrown error (failed/unknown): its name, ShardORM code if any, message. */
  error?: { name: string; code?: string; message: string };
}

export type HistoryEvent = InvokeEvent | CompleteEvent;

/** What the checker needs to know about a collection: its key fields and @Version field. */
export interface CollectionInfo {
  keyFields: string[];
  /** The @Version field and whether its JS values are bigints (nat64/nat) or numbers. */
  versionField?: { name: string; bigint: boolean };
}

export interface History {
  format: typeof HISTORY_FORMAT;
  collections: Record<string, CollectionInfo>;
  events: HistoryEvent[];
}

/** One operation with its invoke and (if any) complete event joined. */
export interface HistoryOp extends Omit<InvokeEvent, 'type' | 'time'>, Partial<Pick<CompleteEvent, 'result' | 'error'>> {
  invokedAt: number;
  /** Undefined when the op never completed (treated as unknown). */
  completedAt?: number;
  outcome: Outcome;
}

/** Joins invoke/complete pairs, in invoke order. An op without a complete event is unknown. */
export function historyOps(history: History): HistoryOp[] {
  const ops = new Map<number, HistoryOp>();
  let lastTime = -Infinity;
  for (const e of history.events) {
    if (!(e.time > lastTime)) throw new ValidationError(`event times must increase: ${e.time} after ${lastTime}`);
    lastTime = e.time;
    if (e.type === 'invoke') {
      if (ops.has(e.id)) throw new ValidationError(`operation id ${e.id} is invoked twice`);
      // Field by field: object rest/spread made this the checker's hottest line.
      const op: HistoryOp = { id: e.id, client: e.client, collection: e.collection, op: e.op, invokedAt: e.time, outcome: 'unknown' };
      if (e.key !== undefined) op.key = e.key;
      if (e.keys !== undefined) op.keys = e.keys;
      if (e.value !== undefined) op.value = e.value;
      if (e.args !== undefined) op.args = e.args;
      ops.set(e.id, op);
    } else {
      const op = ops.get(e.id);
      if (op === undefined) throw new ValidationError(`complete event for operation ${e.id} has no invoke before it`);
      if (op.completedAt !== undefined) throw new ValidationError(`operation ${e.id} completes twice`);
      op.completedAt = e.time;
      op.outcome = e.outcome;
      op.result = e.result;
      op.error = e.error;
    }
  }
  return [...ops.values()];
}

/** Parses and validates a saved history (the text of JSON.stringify(recorder.history())). */
export function parseHistory(text: string): History {
  const h = JSON.parse(text) as Partial<History>;
  if (h === null || typeof h !== 'object' || h.format !== HISTORY_FORMAT) {
    throw new ValidationError(`not a ShardORM history: format must be "${HISTORY_FORMAT}"`);
  }
  if (!Array.isArray(h.events) || h.collections === null || typeof h.collections !== 'object') {
    throw new ValidationError('a history needs `events` (array) and `collections` (object)');
  }
  for (const e of h.events) {
    if (e === null || typeof e !== 'object' || (e.type !== 'invoke' && e.type !== 'complete') || !Number.isInteger(e.id) || typeof e.time !== 'number') {
      throw new ValidationError(`malformed event ${JSON.stringify(e)}`);
    }
  }
  historyOps(h as History); // pairing and ordering checks
  return h as History;
}
