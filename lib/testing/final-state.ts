// The end-of-run checks simulate() makes besides linearizability, on a quiet target: every key
// with acknowledged writes and no delete (of any outcome) is present with a version at least the
// number of those writes (each acknowledged write adds 1; unknown ones add 0 or 1), and a full
// scan and count through a fresh client agree with the final per-key reads.
import { historyOps, type History, type HistoryOp } from './history.js';
import type { SimulatedRepository } from './simulation-target.js';
import type { SimRecord } from './sim-workload.js';
import { canonical, jsonToBigInt, show, toJson, type JsonObject } from './values.js';

/** Page size of the final full scan. */
export const FINAL_SCAN_PAGE = 100;

const WRITES = new Set(['insert', 'upsert', 'update']);

function acknowledgedEffect(op: HistoryOp): boolean {
  return WRITES.has(op.op) && op.outcome === 'ok' && op.result !== null;
}

export async function verifyFinalState(input: { history: History; repository: SimulatedRepository<SimRecord>; keys: number }): Promise<string[]> {
  const failures: string[] = [];
  const ops = historyOps(input.history);
  const finalReads = new Map<string, JsonObject | null>();
  for (const op of ops) if (op.client === 'final' && op.op === 'get' && op.key !== undefined) finalReads.set(op.key, (op.result ?? null) as JsonObject | null);
  const deleted = new Set(ops.filter((o) => o.op === 'delete' && o.client !== 'final').map((o) => o.key));
  const acked = new Map<string, number>();
  for (const op of ops) if (op.key !== undefined && acknowledgedEffect(op)) acked.set(op.key, (acked.get(op.key) ?? 0) + 1);
  for (const [key, n] of acked) {
    if (deleted.has(key)) continue;
    const final = finalReads.get(key);
    if (final === undefined) failures.push(`key ${key} was not read back at the end`);
    else if (final === null) failures.push(`acknowledged write lost: key ${key} had ${n} acknowledged writes and no delete, but is absent at the end`);
    else if (jsonToBigInt(final.version) < BigInt(n)) failures.push(`acknowledged write lost: key ${key} had ${n} acknowledged writes and no delete, but ends at ${show(final)}`);
  }
  const present = new Set([...finalReads].filter(([, v]) => v !== null).map(([k]) => k));
  const scanned: string[] = [];
  let after: string | undefined;
  for (let page = 0; page <= input.keys / FINAL_SCAN_PAGE + 1; page++) {
    const p = await input.repository.scan({ after, limit: FINAL_SCAN_PAGE });
    for (const item of p.items) scanned.push(canonical(toJson({ group: item.group, n: item.n })));
    after = p.cursor;
    if (after === undefined) break;
  }
  const scannedSet = new Set(scanned);
  if (scannedSet.size !== scanned.length) failures.push(`final scan returned a key twice (${scanned.length} rows, ${scannedSet.size} keys)`);
  const missing = [...present].filter((k) => !scannedSet.has(k));
  const extra = [...scannedSet].filter((k) => !present.has(k));
  if (missing.length > 0 || extra.length > 0) failures.push(`final scan disagrees with per-key reads: missing ${missing.join(' ') || 'none'}, extra ${extra.join(' ') || 'none'}`);
  const count = await input.repository.count();
  if (count !== present.size) failures.push(`final count() is ${count}, per-key reads found ${present.size}`);
  return failures;
}
