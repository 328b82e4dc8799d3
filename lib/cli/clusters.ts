// `.shardorm/<network>.json`: the clusters deployed on a network from this directory, by name, so
// later commands find a cluster with `--cluster <name>` (default: the only one, else the last one
// recorded). Written by deploy, restore and clone; read by every cluster-facing command.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from './errors.js';

/** A cluster name is a short identifier (it appears in file names and commands). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export interface ClusterRecord {
  manager: string;
  entry: string;
  /** SHA-256 of the shard Wasm deployed, hex. */
  wasmHash: string;
  /** ISO time the record was written. */
  created: string;
  /** The split limit it was deployed with (status draws memory bars against it). */
  maxShardBytes?: number;
  /** What made it: deploy, restore or clone (with the backup it came from). */
  origin?: string;
}

export interface ClusterFile {
  last?: string;
  clusters: Record<string, ClusterRecord>;
}

/** File name for a network: its name, with URLs reduced to safe characters. */
export function clusterFilePath(cwd: string, network: string): string {
  return join(cwd, '.shardorm', `${network.replace(/^https?:\/\//, '').replace(/[^A-Za-z0-9_.-]+/g, '_')}.json`);
}

export function readClusters(cwd: string, network: string): ClusterFile {
  const path = clusterFilePath(cwd, network);
  if (!existsSync(path)) return { clusters: {} };
  const file = JSON.parse(readFileSync(path, 'utf8')) as ClusterFile;
  if (typeof file.clusters !== 'object' || file.clusters === null) throw new CliError(`${path} is not a cluster record file (no "clusters"); move it aside and redeploy or restore`);
  return file;
}

export function recordCluster(options: { cwd: string; network: string; name: string; record: ClusterRecord }): void {
  assertClusterName(options.name);
  const file = readClusters(options.cwd, options.network);
  file.clusters[options.name] = options.record;
  file.last = options.name;
  const path = clusterFilePath(options.cwd, options.network);
  mkdirSync(join(options.cwd, '.shardorm'), { recursive: true });
  writeFileSync(path + '.tmp', JSON.stringify(file, null, 2) + '\n');
  renameSync(path + '.tmp', path);
}

/** The cluster a command acts on: `--cluster <name>`, else the only one, else the last recorded. */
export function findCluster(options: { cwd: string; network: string; name?: string }): ClusterRecord & { name: string } {
  const file = readClusters(options.cwd, options.network);
  const names = Object.keys(file.clusters);
  if (names.length === 0) throw new CliError(`no cluster recorded for network ${options.network} in ${clusterFilePath(options.cwd, options.network)}; run \`shardorm deploy\` first`);
  const name = options.name ?? (names.length === 1 ? names[0] : file.last ?? names[names.length - 1]);
  const record = file.clusters[name];
  if (record === undefined) throw new CliError(`no cluster named "${name}" on network ${options.network}; known: ${names.join(', ')}`);
  return { ...record, name };
}

export function assertClusterName(name: string): void {
  if (!NAME.test(name)) throw new CliError(`cluster name "${name}" must be 1-64 letters, digits, "_", "." or "-", starting with a letter or digit`);
}
