// What simulate() needs from the system under test: fresh client repositories, topology changes,
// faults, a way to let in-flight work progress, and a digest of its own state or trace for replay
// comparison. MemoryCluster has an adapter (memory-target.ts); the canister cluster on the local
// replica plugs in through the same interface (its `fault` kinds are the replica's fault API:
// traps, rejects, stopped canisters, delayed messages, a manager upgrade).
import type { EntityClass } from '../model/metadata.js';
import type { Random } from '../random/prng.js';

/** The Repository methods simulate() calls; a client, in-canister or MemoryCluster repository has them all. */
export interface SimulatedRepository<T> {
  get(key: unknown): Promise<T | undefined>;
  getMany(keys: readonly unknown[]): Promise<(T | undefined)[]>;
  insert(entity: T): Promise<T>;
  upsert(entity: T): Promise<T>;
  update(key: unknown, patch: Partial<T>): Promise<T | undefined>;
  delete(key: unknown): Promise<boolean>;
  scan(options?: { shardKey?: unknown; after?: string; limit?: number }): Promise<{ items: T[]; cursor?: string }>;
  count(): Promise<number>;
}

export interface SimulationTarget {
  /** Shown in reports ("MemoryCluster", "replica cluster"). */
  readonly name: string;
  /** A fresh client of the entity's collection (its own routing cache, like a separate process). */
  repository<T extends object>(ctor: EntityClass<T>): SimulatedRepository<T>;
  /** Splits one shard, chosen with `random`; false when no shard can split now. */
  split?(options: { random: Random }): Promise<boolean> | boolean;
  /** Merges one shard into a neighbour, chosen with `random`; false when none can merge now. */
  merge?(options: { random: Random }): Promise<boolean> | boolean;
  /** Fault kinds `fault` accepts (target-specific); simulate() picks among them. */
  readonly faultKinds?: readonly string[];
  fault?(options: { kind: string; random: Random }): Promise<void> | void;
  /** Lets in-flight work make progress (one microtask turn in memory; some rounds on a replica). */
  settle(): Promise<void>;
  /** Digest of the target's state or trace: equal seeds must give equal digests. */
  digest(): Promise<string> | string;
}
