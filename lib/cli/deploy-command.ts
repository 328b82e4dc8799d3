// `shardorm deploy [dfx canister name]`: builds the shard canister with Azle (lib/build/azle.ts),
// deploys it as a cluster with deployCluster (the manager, then shard 0 created by the manager),
// prints the entry canister id and records the cluster in .shardorm/<network>.json. On mainnet,
// `--manager-canister <id>` names a canister you created and funded (dfx or icp-cli).
import { bytesToHex } from '@noble/hashes/utils';
import { sha256 } from '@noble/hashes/sha2';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAzleCanister } from '../build/azle.js';
import { deployCluster } from '../client/deploy.js';
import { parsePrincipal } from './backup.js';
import { assertClusterName, recordCluster } from './clusters.js';
import { CliError } from './errors.js';
import { type CliIo, emit, progressBar } from './output.js';
import { type CommonOptions, openSession } from './session.js';

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_CANISTER = 'shardorm_example';

export interface DeployCommandOptions extends CommonOptions {
  maxShardBytes?: string;
  minShardBytes?: string;
  managerCanister?: string;
  /** Cluster name in the record (default: the canister name). */
  as?: string;
}

export interface DeployResult {
  name: string;
  manager: string;
  entry: string;
  wasmHash: string;
  wasmBytes: number;
}

/** The dfx project that names `canister`: this directory's dfx.json if it does, else ShardORM's own. */
export function projectRootFor(canister: string, cwd: string): string {
  const local = join(cwd, 'dfx.json');
  if (existsSync(local) && JSON.parse(readFileSync(local, 'utf8')).canisters?.[canister] !== undefined) return cwd;
  return packageRoot;
}

function bytesOption(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new CliError(`--${name} must be a whole number of bytes, got "${text}"`);
  return n;
}

export async function deployCommand(canister: string | undefined, options: DeployCommandOptions, io: CliIo): Promise<DeployResult> {
  const name = canister ?? DEFAULT_CANISTER;
  const clusterName = options.as ?? name;
  assertClusterName(clusterName);
  const maxShardBytes = bytesOption('max-shard-bytes', options.maxShardBytes);
  const minShardBytes = bytesOption('min-shard-bytes', options.minShardBytes);
  const managerCanister = options.managerCanister === undefined ? undefined : parsePrincipal(options.managerCanister);
  const session = await openSession(options, io);
  if (session.network.isMainnet && managerCanister === undefined) throw new CliError('on mainnet the manager needs cycles from outside: create and fund a canister (icp canister create / dfx canister create), then pass --manager-canister <id>');
  const bar = progressBar(io, 'deploy', 'steps');
  try {
    bar.update(0, 1, `build ${name} with Azle`);
    const built = await buildAzleCanister({ root: projectRootFor(name, io.cwd), name });
    const deployed = await deployCluster({ agent: session.agent, wasm: built.wasm, maxShardBytes, minShardBytes, managerCanister, onProgress: (step, done, total) => bar.update(done, total, step) });
    bar.stop();
    const result: DeployResult = { name: clusterName, manager: deployed.manager.toText(), entry: deployed.entry.toText(), wasmHash: bytesToHex(sha256(built.wasm)), wasmBytes: built.wasm.length };
    recordCluster({ cwd: io.cwd, network: session.network.name, name: clusterName, record: { manager: result.manager, entry: result.entry, wasmHash: result.wasmHash, created: new Date().toISOString(), maxShardBytes, origin: 'deploy' } });
    emit(io, session.json, result, () => [`deployed cluster ${clusterName}: manager ${result.manager}`, `entry: ${result.entry}`]);
    return result;
  } catch (error) {
    bar.stop();
    throw new CliError(session.explain(error));
  }
}
