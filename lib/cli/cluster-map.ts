// The hook a cluster clone needs once its canisters are restored under new ids: the restored
// manager's journal and every restored shard's copy of the partition map still name the ORIGINAL
// canisters (snapshots copy memory as it was). Until they are told the new ids, the clone would
// route to, and housekeep, the original cluster.
//
// FOR THE LEAD: the manager has no method to rename shards in its map yet (manager-candid.ts has
// split/merge/settings/drive). When it gains one (e.g. `adopt_clone({ renames: vec record { old;
// new } })`, which rewrites its map and journal, then announces the map to every shard and sets
// each shard's manager id), call it here. Plain (non-cluster) canisters need no rewrite.
import type { Agent } from '@dfinity/agent';
import type { Principal } from '@dfinity/principal';
import type { BackupManifest } from './backup-manifest.js';
import { CliError } from './errors.js';

export interface RewriteClusterMapOptions {
  agent: Agent;
  manifest: BackupManifest;
  /** Old canister id (text) → the fresh canister its snapshot was loaded onto. */
  renames: Map<string, Principal>;
}

export async function rewriteClusterMap(options: RewriteClusterMapOptions): Promise<void> {
  if (options.manifest.cluster === undefined) return;
  const manager = options.renames.get(options.manifest.cluster.manager);
  throw new CliError(
    `the canisters are restored under new ids (manager ${manager?.toText() ?? '?'}), but the manager cannot yet be told its new shard ids ` +
      '(rewriteClusterMap in lib/cli/cluster-map.ts awaits a manager method); the clone is not usable as a cluster until then — delete its canisters or restore onto the original ids',
  );
}
