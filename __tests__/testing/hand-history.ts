// Hand-written histories for the checker's tests: each op is given with its invoke and response
// times, so a test reads like a timeline.
import { HISTORY_FORMAT, type History, type HistoryEvent, type HistoryOpName, type Outcome } from '../../lib/testing/history.js';
import { canonical, type Json } from '../../lib/testing/values.js';

export const KV = 'kv';

export interface HandOp {
  client: string;
  op: HistoryOpName;
  key?: string;
  keys?: string[];
  value?: Json;
  at: [number, number];
  outcome?: Outcome;
  result?: Json;
  error?: string;
}

export const key = (k: string): string => canonical({ k });
export const row = (k: string, x: number, v: number): Json => ({ k, x, v: { $bigint: String(v) } });
export const entity = (k: string, x: number, v = 0): Json => row(k, x, v);
export const patch = (set: Record<string, Json>): Json => ({ set, unset: [] });

/** A history of `ops` (ids in the order given) over the versioned collection `kv` { k; x; v }. */
export function handHistory(ops: HandOp[]): History {
  const events: HistoryEvent[] = [];
  ops.forEach((o, id) => {
    const { at, outcome = 'ok', result, error, op, ...rest } = o;
    events.push({ type: 'invoke', id, time: at[0], collection: KV, op, ...rest });
    if (at[1] === Infinity) return; // never completed
    const done: HistoryEvent = { type: 'complete', id, time: at[1], outcome };
    if (outcome === 'ok') done.result = result ?? null;
    else done.error = { name: error ?? 'SimulatedFault', code: error === 'ConflictError' ? 'CONFLICT' : undefined, message: 'test' };
    events.push(done);
  });
  events.sort((a, b) => a.time - b.time);
  return { format: HISTORY_FORMAT, collections: { [KV]: { keyFields: ['k'], versionField: { name: 'v', bigint: true } } }, events };
}
