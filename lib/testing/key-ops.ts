// From a history to one list of register operations per key (P-compositionality: a history is
// linearizable iff each key's sub-history is, since keys are independent registers). Decides what
// each outcome tells the checker:
// - ok: the op took effect between invoke and complete, and its return value must match.
// - failed with ConflictError: it did not take effect, and the condition it tested (key present,
//   @Version mismatch) held at some point in its interval — that is checked too.
// - failed otherwise: nothing happened and nothing was observed: dropped.
// - unknown: writes may take effect at any time after invoke, or never (response time ∞); reads
//   observe nothing and are dropped.
// getMany / insertMany / upsertMany / deleteMany are split into one op per key with the same
// interval (sound per key: each part took effect somewhere in the call). A failed …Many is treated
// as unknown per key, since a batch may be applied in part. count is never checked; scan and find
// are not checked by default (see CheckOptions.scans): with 'as-reads', each returned row is
// checked as a read of its key inside the call — nothing is concluded from rows a page lacks.
import type { CollectionInfo, History, HistoryOp } from './history.js';
import { historyOps } from './history.js';
import type { Patch, RegisterOp } from './register-model.js';
import { canonical, type Json, type JsonObject } from './values.js';

export type Expectation =
  | { kind: 'result'; text: string } // ok, and it returned exactly this (canonical text)
  | { kind: 'effect' } // ok, return value not recorded in a checkable form
  | { kind: 'conflict' } // failed with ConflictError
  | { kind: 'any' }; // unknown outcome

export interface KeyOp {
  source: HistoryOp;
  /** Position inside a multi-key op (getMany etc.), else undefined. */
  part?: number;
  model: RegisterOp;
  call: number;
  /** Response time; Infinity when the outcome is unknown. */
  ret: number;
  expect: Expectation;
}

export interface KeyHistory {
  collection: string;
  key: string;
  info: CollectionInfo;
  ops: KeyOp[];
}

export function isDefinite(op: KeyOp): boolean {
  return op.expect.kind !== 'any';
}

function isConflict(op: HistoryOp): boolean {
  return op.outcome === 'failed' && (op.error?.name === 'ConflictError' || op.error?.code === 'CONFLICT');
}

function asObject(v: Json | undefined, what: string): JsonObject {
  if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v)) throw new TypeError(`${what} must be a recorded record`);
  return v;
}

function modelOf(kind: HistoryOp['op'], value: Json | undefined): RegisterOp {
  switch (kind) {
    case 'get':
    case 'getMany':
    case 'scan':
    case 'find':
      return { kind: 'get' };
    case 'delete':
    case 'deleteMany':
      return { kind: 'delete' };
    case 'insert':
    case 'insertMany':
      return { kind: 'insert', entity: asObject(value, 'an inserted entity') };
    case 'upsert':
    case 'upsertMany':
      return { kind: 'upsert', entity: asObject(value, 'an upserted entity') };
    case 'update': {
      const p = asObject(value, 'an update patch');
      return { kind: 'update', patch: { set: asObject(p.set, 'patch.set'), unset: (p.unset ?? []) as string[] } satisfies Patch };
    }
    default:
      throw new TypeError(`${kind} is not a single-key operation`);
  }
}

const SINGLE = new Set(['get', 'insert', 'upsert', 'update', 'delete']);
const MANY = new Set(['getMany', 'insertMany', 'upsertMany', 'deleteMany']);

function expectationOf(op: HistoryOp, result: Json | undefined, batch: boolean): Expectation | undefined {
  const read = op.op === 'get' || op.op === 'getMany' || op.op === 'scan' || op.op === 'find';
  if (op.outcome === 'ok') {
    if (result !== undefined) return { kind: 'result', text: canonical(result) };
    return read ? undefined : { kind: 'effect' };
  }
  if (read) return undefined; // an unknown or failed read observed nothing
  if (isConflict(op) && !batch) return { kind: 'conflict' };
  if (op.outcome === 'failed' && !batch) return undefined; // did not take effect
  return { kind: 'any' };
}

/** How scan and find results are used: not at all, or each returned row as a read of its key. */
export type ScanPolicy = 'ignore' | 'as-reads';

function rowKey(info: CollectionInfo, row: Json): string | undefined {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) return undefined;
  if (info.keyFields.some((f) => row[f] === undefined)) return undefined;
  return canonical(Object.fromEntries(info.keyFields.map((f) => [f, row[f]])) as JsonObject);
}

/** Splits a history into per-key register histories (keys with only unchecked ops are left out). */
export function keyHistories(history: History, scans: ScanPolicy = 'ignore'): KeyHistory[] {
  const byKey = new Map<string, KeyHistory>();
  const add = (op: HistoryOp, key: string, part: number | undefined, value: Json | undefined, result: Json | undefined): void => {
    const expect = expectationOf(op, result, part !== undefined);
    if (expect === undefined) return;
    const info = history.collections[op.collection];
    if (info === undefined) throw new TypeError(`history has no collection info for "${op.collection}"`);
    const id = `${op.collection}\u0000${key}`;
    let kh = byKey.get(id);
    if (kh === undefined) byKey.set(id, (kh = { collection: op.collection, key, info, ops: [] }));
    const ret = expect.kind === 'any' ? Infinity : (op.completedAt as number);
    kh.ops.push({ source: op, part, model: modelOf(op.op, value), call: op.invokedAt, ret, expect });
  };
  for (const op of historyOps(history)) {
    if (SINGLE.has(op.op) && op.key !== undefined) {
      add(op, op.key, undefined, op.value, op.outcome === 'ok' ? (op.result ?? null) : undefined);
    } else if (MANY.has(op.op) && op.keys !== undefined) {
      const values = Array.isArray(op.value) ? op.value : undefined;
      const results = op.outcome === 'ok' && Array.isArray(op.result) && op.result.length === op.keys.length ? op.result : undefined;
      op.keys.forEach((k, i) => add(op, k, i, values?.[i], results === undefined ? undefined : (results[i] ?? null)));
    } else if (scans === 'as-reads' && (op.op === 'scan' || op.op === 'find') && op.outcome === 'ok') {
      const items = (op.result as JsonObject | null)?.items;
      const info = history.collections[op.collection];
      if (!Array.isArray(items) || info === undefined) continue;
      items.forEach((row, i) => {
        const key = rowKey(info, row);
        if (key !== undefined) add(op, key, i, undefined, row);
      });
    }
  }
  return [...byKey.values()];
}
