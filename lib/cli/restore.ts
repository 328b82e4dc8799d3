// `shardorm restore <dir>`: puts a backup back. Every chunk of every canister is checked against
// the manifest's SHA-256 before the first byte is sent (a tampered or truncated backup is refused
// and nothing changes); then each snapshot is uploaded, the canister stopped, the snapshot loaded
// and the canister started. `--fresh` restores onto new canisters (what `clone` uses).
import type { Agent } from '@dfinity/agent';
import { Principal } from '@dfinity/principal';
import { resolve } from 'node:path';
import { managementCanister } from '../client/management.js';
import { type BackupManifest, readManifest, REGIONS } from './backup-manifest.js';
import { rewriteClusterMap } from './cluster-map.js';
import { assertClusterName, recordCluster } from './clusters.js';
import { createCanister } from './deploy.js';
import { CliError } from './errors.js';
import { type CliIo, emit, progressBar } from './output.js';
import { type CommonOptions, openSession } from './session.js';
import { uploadSnapshot, verifyCanisterFiles } from './snapshot-transfer.js';

export interface RunRestoreOptions {
  agent: Agent;
  dir: string;
  /** 'same': onto the canisters the backup was taken from; 'fresh': onto new canisters. */
  onto: 'same' | 'fresh';
  /** Mainnet cannot create canisters with provisional cycles. */
  isMainnet?: boolean;
  onProgress?: (done: number, total: number, step: string) => void;
}

export interface RestoreResult {
  dir: string;
  epoch?: number;
  /** Backed-up canister id → the canister it was restored onto. */
  canisters: { from: string; to: string; role: string; bytes: number }[];
  /** The restored cluster's manager and entry, when the backup was of a cluster. */
  cluster?: { manager: string; entry: string };
  bytes: number;
  seconds: number;
  mibPerSecond: number;
}

export async function runRestore(options: RunRestoreOptions): Promise<RestoreResult> {
  const dir = resolve(options.dir);
  const manifest = readManifest(dir);
  const management = managementCanister(options.agent);
  const progress = options.onProgress ?? (() => undefined);
  const started = performance.now();
  const bytesOf = (e: BackupManifest['canisters'][number]) => REGIONS.reduce((n, r) => n + e.regions[r].bytes, 0);
  const total = manifest.canisters.reduce((n, e) => n + bytesOf(e), 0);

  let verified = 0;
  for (const entry of manifest.canisters) await verifyCanisterFiles({ dir, entry, onBytes: (n) => progress((verified += n), total, `verify ${entry.canisterId}`) });

  const renames = await chooseTargets({ manifest, agent: options.agent, onto: options.onto, isMainnet: options.isMainnet === true });
  let uploaded = 0;
  for (const entry of manifest.canisters) {
    const target = renames.get(entry.canisterId)!;
    const step = `restore ${entry.canisterId}${target.toText() === entry.canisterId ? '' : ` → ${target.toText()}`}`;
    const snapshotId = await uploadSnapshot({ management, canisterId: target, dir, entry, onBytes: (n) => progress((uploaded += n), total, step) });
    await management.stop_canister({ canister_id: target });
    try {
      await management.load_canister_snapshot({ canister_id: target, snapshot_id: snapshotId, sender_canister_version: [] });
    } finally {
      await management.start_canister({ canister_id: target });
    }
    await management.delete_canister_snapshot({ canister_id: target, snapshot_id: snapshotId });
  }
  if (options.onto === 'fresh') await rewriteClusterMap({ agent: options.agent, manifest, renames });
  const seconds = (performance.now() - started) / 1000;
  const c = manifest.cluster;
  return {
    dir,
    epoch: c?.epoch,
    canisters: manifest.canisters.map((e) => ({ from: e.canisterId, to: renames.get(e.canisterId)!.toText(), role: e.role, bytes: bytesOf(e) })),
    cluster: c && { manager: renames.get(c.manager)?.toText() ?? c.manager, entry: renames.get(c.entry)?.toText() ?? c.entry },
    bytes: total,
    seconds,
    mibPerSecond: total / (1024 * 1024) / seconds,
  };
}

/** Same ids, or new canisters: a cluster's manager first, then shards it co-controls. */
async function chooseTargets(options: { manifest: BackupManifest; agent: Agent; onto: 'same' | 'fresh'; isMainnet: boolean }): Promise<Map<string, Principal>> {
  const renames = new Map<string, Principal>();
  if (options.onto === 'same') {
    for (const e of options.manifest.canisters) renames.set(e.canisterId, Principal.fromText(e.canisterId));
    return renames;
  }
  if (options.isMainnet) throw new CliError('restoring onto fresh canisters on mainnet needs canisters created with cycles from your wallet; restore onto the same canisters instead');
  const management = managementCanister(options.agent);
  const me = await options.agent.getPrincipal();
  const manager = options.manifest.canisters.find((e) => e.role === 'manager');
  if (manager) renames.set(manager.canisterId, await createCanister(management, [me]));
  const controllers = manager ? [me, renames.get(manager.canisterId)!] : [me];
  for (const e of options.manifest.canisters) if (!renames.has(e.canisterId)) renames.set(e.canisterId, await createCanister(management, controllers));
  return renames;
}

export interface RestoreCommandOptions extends CommonOptions {
  fresh?: boolean;
  /** Record the restored cluster under this name. */
  as?: string;
}

export async function restoreCommand(dir: string, options: RestoreCommandOptions, io: CliIo): Promise<RestoreResult> {
  if (options.as !== undefined) assertClusterName(options.as);
  const session = await openSession(options, io);
  const bar = progressBar(io, 'restore', 'bytes');
  let result: RestoreResult;
  try {
    result = await runRestore({ agent: session.agent, dir, onto: options.fresh ? 'fresh' : 'same', isMainnet: session.network.isMainnet, onProgress: (d, t, s) => bar.update(d, t, s) });
  } catch (error) {
    throw new CliError(session.explain(error));
  } finally {
    bar.stop();
  }
  const manifest = readManifest(result.dir);
  const name = options.as ?? manifest.cluster?.name;
  if (result.cluster && name !== undefined) {
    const shard = manifest.canisters.find((c) => c.role === 'shard');
    const wasmHash = shard?.regions.wasm_module.sha256 ?? '';
    recordCluster({ cwd: io.cwd, network: session.network.name, name, record: { ...result.cluster, wasmHash, created: new Date().toISOString(), origin: `${options.fresh ? 'clone' : 'restore'} of ${result.dir}` } });
  }
  emit(io, session.json, result, () => [
    `restored ${result.canisters.length} canister(s)${result.epoch === undefined ? '' : ` of epoch ${result.epoch}`} from ${result.dir} (every chunk's SHA-256 verified first)`,
    ...result.canisters.map((c) => `  ${c.from} → ${c.to}  ${c.role}`),
    `${(result.bytes / 1048576).toFixed(1)} MiB in ${result.seconds.toFixed(1)} s (${result.mibPerSecond.toFixed(1)} MiB/s)`,
  ]);
  return result;
}
