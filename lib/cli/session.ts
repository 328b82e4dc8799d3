// What every cluster-facing command starts from: the options all commands share (--network,
// --identity, --json), resolved once into a network, a signing identity and an agent. `local`
// means the embedded replica that `shardorm replica start` serves from this directory (it records
// its URL in .shardorm/replica.json); one-shot commands do not start a replica of their own, since
// its state would end with the command.
import { HttpAgent } from '@dfinity/agent';
import type { Principal } from '@dfinity/principal';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, explainFailure } from './errors.js';
import { type LoadedIdentity, resolveIdentity } from './identity.js';
import { type Network, resolveNetwork } from './network.js';
import type { CliIo } from './output.js';

/** How long the CLI waits for a network's /api/v2/status before calling it unreachable. */
export const NETWORK_PROBE_TIMEOUT_MS = 5_000;

export interface CommonOptions {
  network?: string;
  identity?: string;
  json?: boolean;
}

export interface Session {
  network: Network;
  host: string;
  identity: LoadedIdentity;
  principal: Principal;
  agent: HttpAgent;
  json: boolean;
  io: CliIo;
  /** One line for a failure, naming this session's principal and network. */
  explain(error: unknown): string;
}

/** The file `replica start` writes while it serves, so `--network local` finds it. */
export function replicaRecordPath(cwd: string): string {
  return join(cwd, '.shardorm', 'replica.json');
}

export function localReplicaUrl(cwd: string): string {
  const path = replicaRecordPath(cwd);
  if (!existsSync(path)) throw new CliError('no embedded replica is running here: start one with `shardorm replica start` (another terminal), or pass --network dfx|ic|<url>');
  const record = JSON.parse(readFileSync(path, 'utf8')) as { url?: unknown; pid?: unknown };
  if (typeof record.url !== 'string') throw new CliError(`${path} names no replica URL; restart \`shardorm replica start\``);
  if (typeof record.pid === 'number' && !alive(record.pid)) throw new CliError(`the embedded replica recorded in ${path} (pid ${record.pid}) is not running; start it again with \`shardorm replica start\``);
  return record.url;
}

export async function openSession(options: CommonOptions, io: CliIo): Promise<Session> {
  const network = resolveNetwork(options.network ?? io.env.SHARDORM_NETWORK ?? 'local');
  const identity = resolveIdentity({ file: options.identity, env: io.env });
  const host = network.host ?? localReplicaUrl(io.cwd);
  const principal = identity.identity.getPrincipal();
  const explain = (error: unknown) => explainFailure(error, { principal: principal.toText(), network: `${network.name} (${host})` });
  let agent: HttpAgent;
  try {
    agent = await HttpAgent.create({ host, identity: identity.identity, shouldFetchRootKey: network.fetchRootKey, verifyQuerySignatures: true });
  } catch (error) {
    throw new CliError(`cannot reach network ${network.name} at ${host}: ${explain(error)}`);
  }
  return { network, host, identity, principal, agent, json: options.json === true, io, explain };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
