// `shardorm status`: one line per shard (canister id, hash range, entities, a bar of the shard's
// logical bytes against the split limit, its canister memory, cycles), then the epoch, the migrations in progress and
// the last rolling upgrade (one line per shard while it runs or after it failed). `--watch` redraws every
// WATCH_INTERVAL_MS until Ctrl-C (with --json: one JSON document per line per refresh).
import type { ClusterStatus } from '../client/client.js';
import { ShardedClient } from '../client/client.js';
import { findCluster } from './clusters.js';
import { CliError } from './errors.js';
import { type CliIo, emit } from './output.js';
import { type CommonOptions, openSession } from './session.js';
import { formatRollout } from './upgrade.js';
import { type RolloutStatus, rolloutStatus } from './upgrade-run.js';
import { Principal } from '@dfinity/principal';

export const WATCH_INTERVAL_MS = 1_000;
/** Characters of the memory bar. */
export const BAR_WIDTH = 20;
const HASH_DIGITS = 16;

export interface StatusCommandOptions extends CommonOptions {
  cluster?: string;
  watch?: boolean;
}

/** The status as JSON (the documented shape: bigints as decimal strings). */
export function statusToJSON(status: ClusterStatus, limitBytes?: number, upgrade?: RolloutStatus): unknown {
  return {
    epoch: status.epoch,
    limitBytes: limitBytes ?? null,
    shards: status.shards.map((s) => ({ ...s, range: [s.range[0].toString(), s.range[1].toString()], cycles: s.cycles.toString() })),
    migrations: status.migrations,
    upgrade: upgrade ?? null,
  };
}

/** The human table: pure, so tests check it without a cluster. */
export function formatStatus(status: ClusterStatus, limitBytes?: number): string[] {
  // The split limit (maxShardBytes) is on logical bytes; canister memory is shown beside it.
  const limit = limitBytes ?? Math.max(1, ...status.shards.map((s) => s.logicalBytes));
  const active = status.migrations.filter((m) => m.state !== 'done' && m.state !== 'rolled-back');
  const lines = [`epoch ${status.epoch}, ${status.shards.length} shard(s)${limitBytes === undefined ? '' : `, split limit ${mib(limitBytes)}`}`];
  for (const s of status.shards) {
    const fill = Math.min(BAR_WIDTH, Math.round((s.logicalBytes / limit) * BAR_WIDTH));
    const range = `[${hex(s.range[0])}, ${hex(s.range[1])})`;
    lines.push(`  ${s.canisterId.padEnd(27)} ${range}  ${String(s.entities).padStart(8)} entities  [${'#'.repeat(fill)}${'.'.repeat(BAR_WIDTH - fill)}] ${mib(s.logicalBytes).padStart(10)} data, ${mib(s.memoryBytes).padStart(10)} memory  ${tc(s.cycles)} cycles`);
  }
  lines.push(active.length === 0 ? 'migrations: none in progress' : `migrations in progress: ${active.length}`);
  for (const m of active) lines.push(`  ${m.id} ${m.kind} ${m.source}${m.target ? ` → ${m.target}` : ''}: ${m.state}${m.lastError ? ` (last error: ${m.lastError})` : ''}`);
  return lines;
}

function hex(n: bigint): string {
  return n.toString(16).padStart(HASH_DIGITS, '0');
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

function tc(cycles: bigint): string {
  return `${(Number(cycles) / 1e12).toFixed(2)} T`;
}

/** `until` ends a --watch (default: Ctrl-C). */
export async function statusCommand(options: StatusCommandOptions, io: CliIo, until?: Promise<void>): Promise<void> {
  const session = await openSession(options, io);
  const record = findCluster({ cwd: io.cwd, network: session.network.name, name: options.cluster });
  let stop = false;
  const end = options.watch ? (until ?? interrupted()) : new Promise<void>(() => undefined);
  void end.then(() => (stop = true));
  try {
    const client = await ShardedClient.connect({ agent: session.agent, entry: record.manager });
    do {
      const status = await client.status();
      const upgrade = await rolloutStatus({ agent: session.agent, manager: Principal.fromText(record.manager) });
      const json = statusToJSON(status, record.maxShardBytes, upgrade);
      if (options.watch && session.json) io.stdout(JSON.stringify(json) + '\n');
      else {
        if (options.watch && io.interactive) io.stdout('\x1b[H\x1b[2J');
        const rollout = upgrade === undefined || upgrade.state === 'done' ? [] : formatRollout(upgrade);
        emit(io, session.json, json, () => [`cluster ${record.name} (manager ${record.manager})`, ...formatStatus(status, record.maxShardBytes), ...rollout]);
      }
      if (options.watch) await Promise.race([end, new Promise((r) => setTimeout(r, WATCH_INTERVAL_MS))]);
    } while (options.watch && !stop);
  } catch (error) {
    throw new CliError(session.explain(error));
  }
}

/** Resolves on the first SIGINT (the watch loop's end). */
export function interrupted(): Promise<void> {
  return new Promise((resolve) => process.once('SIGINT', () => resolve()));
}
