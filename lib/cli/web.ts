// `shardorm web`: serves the sample dapp page on localhost until Ctrl-C. With a recorded cluster the
// page talks to it directly (shard map from the manager's status, snippets through ShardedClient,
// signed by an identity created in the browser); `--memory` serves an in-process stand-in cluster
// instead (no replica needed).
import { findCluster } from './clusters.js';
import { CliError } from './errors.js';
import { resolveNetwork } from './network.js';
import type { CliIo } from './output.js';
import { type CommonOptions, localReplicaUrl } from './session.js';
import { interrupted } from './status.js';
import { startWebServer, type WebConfig } from './web-server.js';

export interface WebCommandOptions extends CommonOptions {
  port?: string;
  cluster?: string;
  memory?: boolean;
}

export async function webCommand(options: WebCommandOptions, io: CliIo, until: Promise<void> = interrupted()): Promise<void> {
  const port = Number(options.port ?? 8090);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be an integer in 0..65535, got "${options.port}"`);
  let config: WebConfig = { mode: 'memory' };
  if (!options.memory) {
    const network = resolveNetwork(options.network ?? io.env.SHARDORM_NETWORK ?? 'local');
    const record = findCluster({ cwd: io.cwd, network: network.name, name: options.cluster });
    config = { mode: 'cluster', host: network.host ?? localReplicaUrl(io.cwd), entry: record.manager, limitBytes: record.maxShardBytes };
  }
  const server = await startWebServer({ port, config });
  io.stdout(options.json ? JSON.stringify({ url: server.url, mode: config.mode }) + '\n' : `serving the snippets board (${config.mode}) at ${server.url} — Ctrl-C to stop\n`);
  await until;
  await server.close();
}
