// The hook a cluster clone needs once its canisters are restored under new ids: the restored
// manager's journal and every restored shard's copy of the partition map still name the ORIGINAL
// canisters (snapshots copy memory as it was). `rebind_cluster` on the clone's manager (its
// controllers only: the identity that created the fresh canisters) renames them in its map and
// journal, then gives every shard the renamed map and itself as manager (`rebind_shard`, which a
// shard accepts only from its controllers — never from the manager its restored state names, the
// original's). Retried a few times: a shard that has not started answering yet is reached next time.
// Plain (non-cluster) canisters need no rewrite.
import { Actor, type ActorSubclass, type Agent } from '@dfinity/agent';
import { Principal } from '@dfinity/principal';
import { fromWireError, type WireError } from '../model/errors.js';
import { managerIdlFactory } from '../protocol/manager-candid.js';
import type { BackupManifest } from './backup-manifest.js';
import { CliError } from './errors.js';

/** Calls of rebind_cluster before the clone is reported as not rebound (each is idempotent). */
export const MAX_REBIND_ATTEMPTS = 5;
/** Pause between attempts. */
export const REBIND_RETRY_MS = 1_000;

export interface RewriteClusterMapOptions {
  agent: Agent;
  manifest: BackupManifest;
  /** Old canister id (text) → the fresh canister its snapshot was loaded onto. */
  renames: Map<string, Principal>;
}

type Rebind = ActorSubclass<{ rebind_cluster(r: { from: Principal; to: Principal }[]): Promise<{ ok: Principal[] } | { err: WireError }> }>;

/** Returns the shards rebound (none for plain canisters). */
export async function rewriteClusterMap(options: RewriteClusterMapOptions): Promise<string[]> {
  const cluster = options.manifest.cluster;
  if (cluster === undefined) return [];
  const manager = options.renames.get(cluster.manager);
  if (manager === undefined) throw new CliError(`the backup names manager ${cluster.manager} but it was not restored; restore the whole backup`);
  const actor = Actor.createActor(managerIdlFactory, { agent: options.agent, canisterId: manager }) as Rebind;
  const renames = [...options.renames].filter(([from]) => from !== cluster.manager).map(([from, to]) => ({ from: Principal.fromText(from), to }));
  let last = '';
  for (let attempt = 1; attempt <= MAX_REBIND_ATTEMPTS; attempt++) {
    const reply = await actor.rebind_cluster(renames);
    if ('ok' in reply) return reply.ok.map((p) => p.toText());
    const error = fromWireError(reply.err);
    if (error.code !== 'UNAVAILABLE') throw new CliError(`the clone's manager ${manager.toText()} refused its new ids: ${error.message}`);
    last = error.message;
    await new Promise((r) => setTimeout(r, REBIND_RETRY_MS));
  }
  throw new CliError(`the clone's manager ${manager.toText()} could not rebind every shard (${last}); run \`shardorm clone\` again or call rebind_cluster on it`);
}
