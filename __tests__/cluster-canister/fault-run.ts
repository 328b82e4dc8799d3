// Runs one migration of a canister cluster step by step with faults aimed at chosen steps, while
// the writers (writers.ts) keep writing. Stepping: every call the manager sends is delayed by
// PACE_MS of replica time, so each advance of the clock lets about one call of the migration
// finish and cluster_status shows every phase on the way. A trap or reject for step P is armed
// while the step before P is in flight (so it hits P's call, not an earlier call of the same
// method); a stop, or the manager's upgrade (after a reject at P ends the manager's tick, so it
// has no open call context and can stop), happens while P's phase is current.
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { sha256 } from '@noble/hashes/sha256';
import type { FaultRule } from 'shardorm/replica';
import type { Phase } from '../../lib/topology/migration.js';
import { STEPS, type FaultKind, type MigrationCase, type Step } from './fault-steps.js';
import { exampleWasm, type CanisterCluster } from './harness.js';

/** Replica time every manager call is held back (ms): one step per advance. */
export const PACE_MS = 200;
/** Clock advances a run may take before it is declared stuck. */
export const MAX_ADVANCES = 600;
/** Advances a stopped canister stays stopped before it is started again. */
export const STOPPED_ADVANCES = 3;

export interface AimedFault {
  phase: Phase;
  kind: FaultKind;
}

export interface RunResult {
  id: string;
  phase: Phase;
  /** Phases seen, in order (consecutive repeats folded). */
  seen: Phase[];
  /** Faults that really happened (a trap or reject that fired, a stop, an upgrade). */
  applied: AimedFault[];
  lastError?: string;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type Status = { epoch: bigint; map: string; shards: any[]; migrations: any[]; queued: number };

export async function status(cluster: CanisterCluster): Promise<Status> {
  const s = await cluster.managerActor.cluster_status();
  if ('err' in s) throw new Error(`cluster_status: ${s.err.message}`);
  return s.ok;
}

export function shardsOf(s: Status): string[] {
  return (JSON.parse(s.map).ranges as { shard: string }[]).map((r) => r.shard);
}

/** Lets due messages run, then moves the clock on by one pace. */
export async function advance(cluster: CanisterCluster): Promise<void> {
  await cluster.replica.runUntilIdle();
  await new Promise((r) => setImmediate(r));
  await cluster.replica.advanceTime(PACE_MS);
  await cluster.replica.runUntilIdle();
  await new Promise((r) => setImmediate(r));
}

/** Awaits `p` while advancing replica time (a call waiting on a delayed message needs the clock to move). */
export async function whileAdvancing<T>(cluster: CanisterCluster, p: Promise<T>, what = 'a call'): Promise<T> {
  let settled = false;
  const done = p.finally(() => (settled = true));
  done.catch(() => undefined);
  for (let i = 0; i < MAX_ADVANCES; i++) {
    await cluster.replica.runUntilIdle();
    await new Promise((r) => setImmediate(r));
    if (settled) break;
    if (i % 50 === 49) trace(`still waiting after ${i + 1} advances (${what})`);
    await cluster.replica.advanceTime(PACE_MS);
  }
  return done;
}

const CanisterIdArg = IDL.Record({ canister_id: IDL.Principal });

/** stop_canister as a deployer sends it: it completes when the canister has no open call context. */
export async function stopCanister(cluster: CanisterCluster, canister: Principal): Promise<void> {
  const arg = new Uint8Array(IDL.encode([CanisterIdArg], [{ canister_id: canister }]));
  const options = { sender: cluster.deployer.getPrincipal(), effectiveCanisterId: canister };
  await whileAdvancing(cluster, cluster.replica.submitCall({ canisterId: Principal.managementCanister(), method: 'stop_canister', arg, ...options }), `stop_canister ${canister.toText()}`);
}

/** Chunk size of the upgrade's upload (the IC's limit). */
const CHUNK_BYTES = 1 << 20;

/**
 * Upgrades `canister` with the example Wasm through the management canister: upload_chunk and
 * install_chunked_code. Unlike dfx (and LocalReplica.upgradeCanister) it leaves the chunk store
 * alone afterwards: the manager's chunk store holds the shard Wasm it installs new shards from.
 */
export async function upgradeWithSameWasm(cluster: CanisterCluster, canister: Principal): Promise<void> {
  const wasm = await exampleWasm();
  const sender = cluster.deployer.getPrincipal();
  const hashes: { hash: Uint8Array }[] = [];
  for (let at = 0; at < wasm.length; at += CHUNK_BYTES) {
    const [hash] = await cluster.replica.callManagement({ method: 'upload_chunk', arg: { canister_id: canister, chunk: wasm.subarray(at, at + CHUNK_BYTES) }, sender: sender, effectiveCanisterId: canister });
    hashes.push(hash as { hash: Uint8Array });
  }
  const mode = { upgrade: [{ skip_pre_upgrade: [false], wasm_memory_persistence: [] }] };
  const arg = new Uint8Array(IDL.encode([], []));
  await cluster.replica.callManagement({ method: 'install_chunked_code', arg: { mode, target_canister: canister, store_canister: [], chunk_hashes_list: hashes, wasm_module_hash: sha256(wasm), arg, sender_canister_version: [] }, sender: sender, effectiveCanisterId: canister });
}

/** The manager upgraded as a deployer does it: stop (waits for open call contexts), upgrade with the same Wasm, start. */
export async function upgradeManager(cluster: CanisterCluster): Promise<void> {
  await stopCanister(cluster, cluster.manager);
  await upgradeWithSameWasm(cluster, cluster.manager);
  await cluster.replica.startCanister({ canisterId: cluster.manager, sender: cluster.deployer.getPrincipal() });
}

/** Asks the manager for the migration (a split of `source`, or a merge of `source` into a neighbour) and returns its id once planned. */
async function request(cluster: CanisterCluster, kind: MigrationCase, source: Principal): Promise<void> {
  const r = kind === 'merge'
    ? await cluster.managerActor.merge_shard({ shard: source, into: [] })
    : await cluster.managerActor.split_shard({ shard: source, method: [kind] });
  if ('err' in r) throw new Error(`${kind} request: ${r.err.message}`);
}

export async function runMigration(cluster: CanisterCluster, options: { kind: MigrationCase; source: Principal; faults: AimedFault[] }): Promise<RunResult> {
  const { replica, manager } = cluster;
  const sender = cluster.deployer.getPrincipal();
  const steps = STEPS[options.kind];
  const before = await status(cluster);
  const others = shardsOf(before).filter((s) => s !== options.source.toText());
  const known = new Set(before.migrations.map((m) => m.id));
  await request(cluster, options.kind, options.source);

  const pace: FaultRule = { kind: 'delay', from: manager.toText(), ms: PACE_MS, times: 1_000_000 };
  let armed: { fault: AimedFault; rule: FaultRule; fired: () => boolean } | undefined;
  const rearm = () => {
    replica.clearFaults();
    if (armed !== undefined) replica.injectFault(armed.rule);
    replica.injectFault(pace);
  };
  rearm();
  const pending = new Map<string, AimedFault>(options.faults.map((f) => [f.phase, f]));
  const applied: AimedFault[] = [];
  const seen: Phase[] = [];
  const restarts: { canister: string; at: number }[] = [];
  let upgradeAfterReject = false;
  let driving: Promise<unknown> | undefined;
  let m: any;
  let target: string | undefined;

  const callee = (s: Step): string | undefined => {
    if (s.callee === 'management') return 'aaaaa-aa';
    if (s.callee === 'source') return options.source.toText();
    if (s.callee === 'target') return target;
    return others.find((o) => o !== target);
  };
  /** Arms the trap or reject of step `s` (now, before its call is sent). */
  const armCallFault = (s: Step, fault: AimedFault): void => {
    const to = callee(s);
    if (to === undefined) return;
    const firedBefore = { ...replica.faultsFired };
    const trap = fault.kind === 'trap';
    const rule: FaultRule = trap
      ? { kind: 'trap', canister: to, method: s.method, message: `injected trap at ${s.phase}` }
      : { kind: 'reject', from: manager.toText(), to, method: s.method, times: fault.kind === 'upgrade-manager' ? 3 : 1 };
    armed = { fault, rule, fired: () => (trap ? replica.faultsFired.trap > firedBefore.trap : replica.faultsFired.reject > firedBefore.reject) };
    upgradeAfterReject = fault.kind === 'upgrade-manager';
    rearm();
  };

  for (let n = 0; n < MAX_ADVANCES; n++) {
    const s = await status(cluster);
    m = s.migrations.find((x) => !known.has(x.id));
    if (m !== undefined) {
      target ??= m.target[0]?.toText();
      if (seen[seen.length - 1] !== m.state) {
        seen.push(m.state);
        trace(`${m.id} ${m.state}${m.last_error[0] === undefined ? '' : ` (${String(m.last_error[0]).slice(0, 120)})`}`);
      }
      if (['done', 'rolled-back'].includes(m.state) && driving === undefined) break;
    }
    // A call fault fired: note it; after a reject aimed for the upgrade the manager's tick has ended: upgrade it now.
    if (armed?.fired()) {
      if (upgradeAfterReject) {
        // Now, before the step's retry is due (the rule rejects it twice more meanwhile): the
        // manager's tick ended with the reject, so the stop completes at once.
        await upgradeManager(cluster);
        upgradeAfterReject = false;
      }
      applied.push(armed.fault);
      trace(`fired ${armed.fault.kind} at ${armed.fault.phase}`);
      armed = undefined;
      rearm();
    }
    const phase: Phase = m?.state ?? steps[0].phase;
    const i = steps.findIndex((x) => x.phase === phase);
    // Aim the next step's call fault now, while this step's call is the one in flight.
    const next = steps[i + 1];
    const upcoming = m === undefined ? steps[0] : next;
    const aimed = upcoming === undefined ? undefined : pending.get(upcoming.phase);
    if (aimed !== undefined && upcoming !== undefined && armed === undefined && ['trap', 'reject', 'upgrade-manager'].includes(aimed.kind)) {
      pending.delete(upcoming.phase);
      armCallFault(upcoming, aimed);
    }
    // A stop happens while the step's own phase is current.
    const here = m === undefined ? undefined : pending.get(phase);
    if (here !== undefined && ['stop-source', 'stop-target', 'upgrade-source', 'upgrade-target'].includes(here.kind)) {
      const who = here.kind.endsWith('-source') ? options.source.toText() : target;
      pending.delete(phase);
      if (who !== undefined && live(replica, who)) {
        await stopCanister(cluster, principal(who));
        if (here.kind.startsWith('upgrade')) {
          // A shard upgraded as a deployer does it: stopped, upgraded with the same Wasm, started.
          await upgradeWithSameWasm(cluster, principal(who));
          await replica.startCanister({ canisterId: principal(who), sender });
        } else restarts.push({ canister: who, at: n + STOPPED_ADVANCES });
        applied.push(here);
        trace(`${here.kind} ${who} at ${phase}`);
      }
    }
    for (const r of restarts.filter((x) => x.at <= n)) {
      restarts.splice(restarts.indexOf(r), 1);
      if (live(replica, r.canister)) await replica.startCanister({ canisterId: principal(r.canister), sender }).catch(() => undefined);
    }
    driving ??= cluster.managerActor.drive().catch(() => undefined).finally(() => (driving = undefined));
    await advance(cluster);
  }
  for (const r of restarts) if (live(replica, r.canister)) await replica.startCanister({ canisterId: principal(r.canister), sender }).catch(() => undefined);
  replica.clearFaults();
  await whileAdvancing(cluster, driving ?? Promise.resolve());
  await cluster.settle(); // a tick after the end: shards that missed the announcement get the map
  if (m === undefined || !['done', 'rolled-back'].includes(m.state)) throw new Error(`migration did not finish in ${MAX_ADVANCES} advances: ${JSON.stringify(m)} (seen ${seen.join(' → ')})`);
  return { id: m.id, phase: m.state, seen, applied, lastError: m.last_error[0] };
}

/** SHARDORM_TRACE=1 prints every phase as the run sees it (jest buffers console output; stderr is live). */
function trace(line: string): void {
  if (process.env.SHARDORM_TRACE === '1') process.stderr.write(`[fault-run] ${line}\n`);
}

function live(replica: CanisterCluster['replica'], id: string): boolean {
  const c = replica.canister(principal(id));
  return c !== undefined && !c.deleted;
}

function principal(text: string): Principal {
  return Principal.fromText(text);
}
