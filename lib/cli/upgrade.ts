// `shardorm upgrade [dfx canister name]`: a rolling upgrade of every shard through the manager.
// Builds the canister with Azle, uploads it into the manager's chunk store (beside the Wasm new
// shards come from), and lets the manager roll it out one shard at a time — module check, stop,
// upgrade, start, schema upgrade hooks — with one progress bar per shard. A shard that fails stops the roll-out:
// it is named on stderr with its error and the exit code is 1; the others keep serving. Once
// every shard is done the manager upgrades too. Controllers of the manager only.
import { bytesToHex } from '@noble/hashes/utils';
import { sha256 } from '@noble/hashes/sha2';
import { Principal } from '@dfinity/principal';
import { buildAzleCanister } from '../build/azle.js';
import { ShardOrmError } from '../model/errors.js';
import { findCluster, recordCluster } from './clusters.js';
import { DEFAULT_CANISTER, projectRootFor } from './deploy-command.js';
import { CliError } from './errors.js';
import { type CliIo, emit, progressBar, progressBars } from './output.js';
import { type CommonOptions, openSession } from './session.js';
import { runUpgrade, type RolloutStatus, type UpgradeResult } from './upgrade-run.js';

export interface UpgradeCommandOptions extends CommonOptions {
  cluster?: string;
  /** Leave the manager on its module. */
  skipManager?: boolean;
}

/** Bar position of each step of a shard's upgrade (of STEPS_PER_SHARD). */
const STEP_INDEX: Record<string, number> = { pending: 0, checked: 1, stopped: 2, installed: 3, rewriting: 4, restarting: 4, done: 5, failed: 5 };
const STEPS_PER_SHARD = 5;

export interface UpgradeCommandResult extends UpgradeResult {
  cluster: string;
}

/** The human lines: one per shard. Pure, so tests check it without a cluster. */
export function formatRollout(r: RolloutStatus): string[] {
  const done = r.shards.filter((s) => s.state === 'done').length;
  return [
    `upgrade ${r.id} to ${r.wasmHash.slice(0, 16)}…: ${r.state}, ${done} of ${r.shards.length} shard(s) done`,
    ...r.shards.map((s) => `  ${s.canisterId.padEnd(27)} ${s.state.padEnd(9)}${s.state === 'upgrading' ? ` (${s.step})` : ''} ${s.rewritten} row(s) rewritten${s.error ? `: ${s.error}` : ''}`),
  ];
}

export async function upgradeCommand(canister: string | undefined, options: UpgradeCommandOptions, io: CliIo): Promise<UpgradeCommandResult> {
  const name = canister ?? DEFAULT_CANISTER;
  const session = await openSession(options, io);
  const record = findCluster({ cwd: io.cwd, network: session.network.name, name: options.cluster });
  const upload = progressBar(io, 'upload', 'chunks');
  const bars = progressBars(io, 'steps');
  let result: UpgradeResult;
  try {
    const built = await buildAzleCanister({ root: projectRootFor(name, io.cwd), name });
    result = await runUpgrade({
      agent: session.agent,
      manager: Principal.fromText(record.manager),
      wasm: built.wasm,
      skipManager: options.skipManager,
      onUpload: (d, t) => upload.update(d, t, `into manager ${record.manager}`),
      onStatus: (s) => s.shards.forEach((x) => bars.bar(x.canisterId).update(STEP_INDEX[x.step] ?? 0, STEPS_PER_SHARD, x.error ?? x.state)),
    });
    if (result.state === 'done') recordCluster({ cwd: io.cwd, network: session.network.name, name: record.name, record: { ...record, wasmHash: bytesToHex(sha256(built.wasm)) } });
  } catch (error) {
    if (error instanceof ShardOrmError) throw new CliError(`the manager refused the upgrade: ${error.message}`);
    throw new CliError(session.explain(error));
  } finally {
    upload.stop();
    bars.stop();
  }
  const out = { cluster: record.name, ...result };
  emit(io, session.json, out, () => [...formatRollout(result), `manager ${record.manager}: ${result.manager}`]);
  if (result.failedShard !== undefined) {
    const failed = result.shards.find((s) => s.canisterId === result.failedShard)!;
    const done = result.shards.filter((s) => s.state === 'done').length;
    throw new CliError(`upgrade stopped at shard ${failed.canisterId}: ${failed.error}; ${done} of ${result.shards.length} shard(s) upgraded, the rest keep serving on their old module`);
  }
  return out;
}
