// `shardorm backup --out <dir>`: for every canister of a cluster (its manager and every shard, from
// `client.status()`) or for the canisters named with --canister: stop it, take a snapshot, start it
// again (downtime is the snapshot only), then download the snapshot in 1 MiB chunks and write a
// manifest with the SHA-256 of every chunk. A cluster backup names its epoch and is taken only
// between migrations: if the epoch moves while snapshots are taken, they are retaken.
import type { Agent } from '@dfinity/agent';
import { Principal } from '@dfinity/principal';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type ClusterStatus, ShardedClient } from '../client/client.js';
import { managementCanister } from '../client/management.js';
import { type BackupManifest, type CanisterEntry, MANIFEST_FILE, MANIFEST_FORMAT, SNAPSHOT_CHUNK_BYTES } from './backup-manifest.js';
import { findCluster } from './clusters.js';
import { CliError } from './errors.js';
import { emit, progressBar } from './output.js';
import { type CommonOptions, openSession } from './session.js';
import { downloadSnapshot, snapshotBytes } from './snapshot-transfer.js';

/** Times the snapshots are retaken when the cluster's epoch moved while they were taken. */
export const MAX_BACKUP_ATTEMPTS = 3;
/** Canisters one backup takes (a cluster's manager and shards). */
export const MAX_BACKUP_CANISTERS = 1024;
const ACTIVE_PHASES_DONE = new Set(['done', 'rolled-back']);

export interface BackupTarget {
  canisterId: Principal;
  role: CanisterEntry['role'];
}

export interface RunBackupOptions {
  agent: Agent;
  dir: string;
  network: string;
  /** The canisters to back up (the cluster's, when `cluster` is given). */
  targets?: BackupTarget[];
  cluster?: { name?: string; manager: Principal; entry: Principal };
  keepSnapshots?: boolean;
  onProgress?: (done: number, total: number, step: string) => void;
}

export interface BackupResult {
  dir: string;
  epoch?: number;
  canisters: { canisterId: string; role: string; snapshotId: string; bytes: number; sha256: string }[];
  bytes: number;
  seconds: number;
  mibPerSecond: number;
}

export async function runBackup(options: RunBackupOptions): Promise<BackupResult> {
  const { agent } = options;
  const management = managementCanister(agent);
  const dir = resolve(options.dir);
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length > 0) throw new CliError(`backup directory ${dir} is not empty; pass a new --out directory`);
  const progress = options.onProgress ?? (() => undefined);
  const started = performance.now();

  let status: ClusterStatus | undefined;
  let targets = options.targets ?? [];
  let snapshots: Uint8Array[] = [];
  const client = options.cluster ? await ShardedClient.connect({ agent, entry: options.cluster.manager }) : undefined;
  for (let attempt = 1; ; attempt++) {
    if (client) {
      status = await client.status();
      const busy = status.migrations.find((m) => !ACTIVE_PHASES_DONE.has(m.state));
      if (busy) throw new CliError(`migration ${busy.id} (${busy.kind} of ${busy.source}) is in progress (${busy.state}); back up once it is done`);
      targets = [{ canisterId: client.manager, role: 'manager' }, ...status.shards.map((s) => ({ canisterId: Principal.fromText(s.canisterId), role: 'shard' as const }))];
    }
    if (targets.length === 0) throw new CliError('nothing to back up: name a --cluster or one or more --canister ids');
    if (targets.length > MAX_BACKUP_CANISTERS) throw new CliError(`${targets.length} canisters is over the ${MAX_BACKUP_CANISTERS} one backup takes`);
    snapshots = [];
    for (const [i, t] of targets.entries()) {
      progress(i, targets.length, `snapshot ${t.canisterId.toText()}`);
      snapshots.push(await snapshotStopped(management, t.canisterId));
    }
    if (!client || (await client.status()).epoch === status!.epoch) break;
    await Promise.all(targets.map((t, i) => management.delete_canister_snapshot({ canister_id: t.canisterId, snapshot_id: snapshots[i] })));
    if (attempt >= MAX_BACKUP_ATTEMPTS) throw new CliError(`the cluster's epoch moved during each of ${MAX_BACKUP_ATTEMPTS} attempts; back up when no split or merge is running`);
  }

  const sizes = await Promise.all(targets.map((t, i) => snapshotBytes({ management, canisterId: t.canisterId, snapshotId: snapshots[i] })));
  const total = sizes.reduce((a, b) => a + b, 0);
  let done = 0;
  const entries: CanisterEntry[] = [];
  for (const [i, t] of targets.entries()) {
    const step = `download ${t.canisterId.toText()}`;
    entries.push(await downloadSnapshot({ management, canisterId: t.canisterId, snapshotId: snapshots[i], role: t.role, dir, onBytes: (n) => progress((done += n), total, step) }));
    if (!options.keepSnapshots) await management.delete_canister_snapshot({ canister_id: t.canisterId, snapshot_id: snapshots[i] });
  }
  const manifest: BackupManifest = {
    format: MANIFEST_FORMAT,
    created: new Date().toISOString(),
    network: options.network,
    chunkBytes: SNAPSHOT_CHUNK_BYTES,
    cluster: status && options.cluster
      ? {
          name: options.cluster.name,
          manager: options.cluster.manager.toText(),
          entry: options.cluster.entry.toText(),
          epoch: status.epoch,
          shards: status.shards.map((s) => ({ canisterId: s.canisterId, range: [s.range[0].toString(), s.range[1].toString()], entities: s.entities, memoryBytes: s.memoryBytes })),
        }
      : undefined,
    canisters: entries,
  };
  await writeFile(join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
  const seconds = (performance.now() - started) / 1000;
  return {
    dir,
    epoch: status?.epoch,
    canisters: entries.map((e, i) => ({ canisterId: e.canisterId, role: e.role, snapshotId: e.snapshotId, bytes: sizes[i], sha256: e.sha256 })),
    bytes: total,
    seconds,
    mibPerSecond: total / (1024 * 1024) / seconds,
  };
}

/** Stops the canister, snapshots it and starts it again whatever happened. */
async function snapshotStopped(management: ReturnType<typeof managementCanister>, canisterId: Principal): Promise<Uint8Array> {
  await management.stop_canister({ canister_id: canisterId });
  try {
    const snapshot = await management.take_canister_snapshot({ canister_id: canisterId, replace_snapshot: [] });
    return Uint8Array.from(snapshot.id);
  } finally {
    await management.start_canister({ canister_id: canisterId });
  }
}

export interface BackupCommandOptions extends CommonOptions {
  out: string;
  canister?: string[];
  cluster?: string;
  keepSnapshots?: boolean;
}

export async function backupCommand(options: BackupCommandOptions, io: import('./output.js').CliIo): Promise<void> {
  const session = await openSession(options, io);
  const bar = progressBar(io, 'backup', 'bytes');
  try {
    const targets = options.canister?.map((id) => ({ canisterId: parsePrincipal(id), role: 'canister' as const }));
    const record = targets === undefined ? findCluster({ cwd: io.cwd, network: session.network.name, name: options.cluster }) : undefined;
    const cluster = record && { name: record.name, manager: Principal.fromText(record.manager), entry: Principal.fromText(record.entry) };
    const result = await runBackup({ agent: session.agent, dir: options.out, network: session.network.name, targets, cluster, keepSnapshots: options.keepSnapshots, onProgress: (d, t, s) => bar.update(d, t, s) });
    bar.stop();
    emit(io, session.json, result, () => [
      `backup of ${result.canisters.length} canister(s)${result.epoch === undefined ? '' : ` at epoch ${result.epoch}`} in ${result.dir}`,
      ...result.canisters.map((c) => `  ${c.canisterId}  ${c.role.padEnd(8)} ${(c.bytes / 1048576).toFixed(1).padStart(8)} MiB  sha256 ${c.sha256.slice(0, 16)}…`),
      `${(result.bytes / 1048576).toFixed(1)} MiB in ${result.seconds.toFixed(1)} s (${result.mibPerSecond.toFixed(1)} MiB/s)`,
    ]);
  } catch (error) {
    bar.stop();
    throw new CliError(session.explain(error));
  }
}

export function parsePrincipal(text: string): Principal {
  try {
    return Principal.fromText(text);
  } catch {
    throw new CliError(`"${text}" is not a canister id (expected the textual form, e.g. rrkah-fqaaa-aaaaa-aaaaq-cai)`);
  }
}
