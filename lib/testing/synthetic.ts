// Linearizable-by-construction histories, for testing and benchmarking the checker. A seeded
// scheduler runs `clients` clients, each one op at a time; every op is invoked, then later takes
// effect on a sequential reference store (its linearization point), then later completes, with
// other clients' events interleaved in between — a sequential run stretched into a concurrent
// one. Some ops complete with an unknown outcome (taking effect or not). The reference store
// below is written independently of register-model.ts on purpose: it is the oracle.
import { randomBelow, type Random } from '../random/prng.js';
import { HISTORY_FORMAT, type History, type HistoryEvent, type InvokeEvent } from './history.js';
import { canonical, type Json } from './values.js';

export const SYNTHETIC_COLLECTION = 'synthetic';
/** Clients a synthetic history may have. */
export const MAX_SYNTHETIC_CLIENTS = 1024;

export interface SyntheticHistoryOptions {
  random: Random;
  /** Number of operations (each an invoke and a complete event). */
  operations: number;
  clients: number;
  keys: number;
  /** Share of ops (0..1) that complete with outcome 'unknown' (half of them took effect). */
  unknownRate?: number;
}

interface Row {
  x: number;
  v: bigint;
}

type Pending = { invoke: InvokeEvent; run: () => Omit<Extract<HistoryEvent, { type: 'complete' }>, 'type' | 'id' | 'time'> };
type ClientState = { phase: 'idle' } | { phase: 'invoked'; p: Pending } | { phase: 'applied'; id: number; done: ReturnType<Pending['run']> };

const rowJson = (k: string, r: Row | undefined): Json => (r === undefined ? null : { k, x: r.x, v: { $bigint: r.v.toString() } });

export function syntheticHistory(options: SyntheticHistoryOptions): History {
  const { random, operations, clients, keys } = options;
  if (!(clients >= 1 && clients <= MAX_SYNTHETIC_CLIENTS) || !(keys >= 1) || !(operations >= 0)) {
    throw new RangeError(`syntheticHistory needs 1..${MAX_SYNTHETIC_CLIENTS} clients, ≥ 1 key, ≥ 0 operations`);
  }
  const unknownPerMille = Math.round((options.unknownRate ?? 0) * 1000);
  const store = new Map<string, Row>();
  const seen = new Map<string, bigint>(); // last version each client saw per key: `${client} ${key}`
  const events: HistoryEvent[] = [];
  const state: ClientState[] = Array.from({ length: clients }, () => ({ phase: 'idle' }));
  let time = 0;
  let started = 0;
  let completed = 0;
  let written = 0;
  const chance = (perMille: number): boolean => randomBelow(random, 1000) < perMille;
  const keyName = (): string => canonical({ k: `k${randomBelow(random, keys)}` });

  const plan = (client: string): Pending => {
    const key = keyName();
    const k = (JSON.parse(key) as { k: string }).k;
    const id = started++;
    const invoke: InvokeEvent = { type: 'invoke', id, time: 0, client, collection: SYNTHETIC_COLLECTION, op: 'get', key };
    const conditional = (): bigint => (chance(500) ? (seen.get(`${client} ${key}`) ?? 1n) : 0n);
    const observe = (r: Row | undefined): void => void (r !== undefined && seen.set(`${client} ${key}`, r.v));
    const conflict = { outcome: 'failed' as const, error: { name: 'ConflictError', code: 'CONFLICT', message: 'conflict' } };
    const roll = randomBelow(random, 100);
    if (roll < 30) {
      return { invoke, run: () => (observe(store.get(k)), { outcome: 'ok', result: rowJson(k, store.get(k)) }) };
    }
    const x = ++written;
    if (roll < 45) {
      invoke.op = 'insert';
      invoke.value = { k, x, v: { $bigint: '0' } };
      return {
        invoke,
        run: () => {
          if (store.has(k)) return conflict;
          store.set(k, { x, v: 1n });
          return { outcome: 'ok', result: rowJson(k, store.get(k)) };
        },
      };
    }
    if (roll < 60) {
      const supplied = conditional();
      invoke.op = 'upsert';
      invoke.value = { k, x, v: { $bigint: supplied.toString() } };
      return {
        invoke,
        run: () => {
          const cur = store.get(k);
          if (cur !== undefined && supplied !== 0n && supplied !== cur.v) return conflict;
          store.set(k, { x, v: (cur?.v ?? 0n) + 1n });
          return { outcome: 'ok', result: rowJson(k, store.get(k)) };
        },
      };
    }
    if (roll < 85) {
      const supplied = conditional();
      invoke.op = 'update';
      invoke.value = { set: supplied === 0n ? { x } : { x, v: { $bigint: supplied.toString() } }, unset: [] };
      return {
        invoke,
        run: () => {
          const cur = store.get(k);
          if (cur === undefined) return { outcome: 'ok', result: null };
          if (supplied !== 0n && supplied !== cur.v) return conflict;
          store.set(k, { x, v: cur.v + 1n });
          return { outcome: 'ok', result: rowJson(k, store.get(k)) };
        },
      };
    }
    invoke.op = 'delete';
    return { invoke, run: () => ({ outcome: 'ok', result: store.delete(k) }) };
  };

  while (completed < operations) {
    const c = randomBelow(random, clients);
    const s = state[c];
    if (s.phase === 'idle') {
      if (started >= operations) continue;
      const p = plan(`c${c}`);
      p.invoke.time = ++time;
      events.push(p.invoke);
      state[c] = { phase: 'invoked', p };
    } else if (s.phase === 'invoked') {
      const unknown = chance(unknownPerMille);
      const effect = !unknown || chance(500);
      const done = effect ? s.p.run() : undefined; // the reference store applies it, or not
      const lost = { outcome: 'unknown' as const, error: { name: 'SimulatedFault', message: 'reply lost' } };
      state[c] = { phase: 'applied', id: s.p.invoke.id, done: unknown || done === undefined ? lost : done };
    } else {
      events.push({ type: 'complete', id: s.id, time: ++time, ...s.done });
      state[c] = { phase: 'idle' };
      completed++;
    }
  }
  return {
    format: HISTORY_FORMAT,
    collections: { [SYNTHETIC_COLLECTION]: { keyFields: ['k'], versionField: { name: 'v', bigint: true } } },
    events,
  };
}
