// `shardorm clone <dir|cluster> --as <name>`: the "clone()" the IC forum asks for. From a backup
// directory, or from a recorded cluster (backed up first into .shardorm/backups/), restore every
// canister onto fresh canisters, so the clone runs beside the original under its own ids. A
// cluster clone then needs its map rewritten to the new ids (rewriteClusterMap, cluster-map.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Principal } from '@dfinity/principal';
import { MANIFEST_FILE } from './backup-manifest.js';
import { runBackup } from './backup.js';
import { assertClusterName, findCluster } from './clusters.js';
import { CliError } from './errors.js';
import { type CliIo, progressBar } from './output.js';
import { restoreCommand, type RestoreResult } from './restore.js';
import { type CommonOptions, openSession } from './session.js';

export interface CloneCommandOptions extends CommonOptions {
  as: string;
}

export async function cloneCommand(source: string, options: CloneCommandOptions, io: CliIo): Promise<RestoreResult> {
  assertClusterName(options.as);
  let dir = join(io.cwd, source);
  if (!existsSync(join(dir, MANIFEST_FILE)) && existsSync(join(source, MANIFEST_FILE))) dir = source;
  if (!existsSync(join(dir, MANIFEST_FILE))) {
    const session = await openSession(options, io);
    const record = findCluster({ cwd: io.cwd, network: session.network.name, name: source });
    dir = join(io.cwd, '.shardorm', 'backups', `${record.name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    const bar = progressBar(io, `backup ${record.name}`, 'bytes');
    try {
      await runBackup({
        agent: session.agent,
        dir,
        network: session.network.name,
        cluster: { name: record.name, manager: Principal.fromText(record.manager), entry: Principal.fromText(record.entry) },
        onProgress: (d, t, s) => bar.update(d, t, s),
      });
    } catch (error) {
      throw new CliError(session.explain(error));
    } finally {
      bar.stop();
    }
  }
  return restoreCommand(dir, { ...options, fresh: true, as: options.as }, io);
}
