// The SimulationTarget adapter for MemoryCluster. It uses only the cluster's public methods
// (repository, split, merge, shards), so it keeps working while the cluster's internals change;
// split and merge are awaited, so a migration that takes many steps runs concurrently with the
// clients' in-flight requests.
// MemoryCluster has no fault API of its own: the faults simulate() injects on it are the
// client-side ones (lost requests, lost replies, reordering), plus forced splits and merges.
import type { MemoryCluster } from '../cluster/memory-cluster.js';
import type { EntityClass } from '../model/metadata.js';
import { randomBelow } from '../random/prng.js';
import { digestOf } from './digest.js';
import type { SimulatedRepository, SimulationTarget } from './simulation-target.js';

/** Microtask turns one settle() gives in-flight in-process calls. */
export const MEMORY_SETTLE_TURNS = 8;

export function memoryClusterTarget(cluster: MemoryCluster): SimulationTarget {
  return {
    name: 'MemoryCluster',
    repository: <T extends object>(ctor: EntityClass<T>): SimulatedRepository<T> => cluster.repository(ctor),
    split: async ({ random }) => {
      const candidates = cluster.shards().filter((s) => s.entries >= 2);
      if (candidates.length === 0) return false;
      return (await cluster.split(candidates[randomBelow(random, candidates.length)].id)) !== undefined;
    },
    merge: async ({ random }) => {
      const shards = cluster.shards();
      if (shards.length < 2) return false;
      const from = shards[randomBelow(random, shards.length)].id;
      try {
        await cluster.merge(from);
        return true;
      } catch (error) {
        // A migration may roll back cleanly (that is part of the protocol): the shard is still
        // there and the run goes on; the data checks at the end judge it. Anything else is a bug.
        if (cluster.shards().some((s) => s.id === from)) return false;
        throw error;
      }
    },
    settle: async () => {
      for (let i = 0; i < MEMORY_SETTLE_TURNS; i++) await Promise.resolve();
    },
    digest: () => digestOf(cluster.shards()),
  };
}
