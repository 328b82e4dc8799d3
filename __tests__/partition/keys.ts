// Test keys: realistic shard-key hashes (XXH64 of 'key-<i>'), computed once per test file.
import { hashShardKey, type Partitioner, type ShardId } from '../../lib/partition/index.js';

const enc = new TextEncoder();

/** Runs more seeds / bigger inputs under `npm run test:long`. */
export const LONG = !!process.env.SHARDORM_LONG;

export function keyHashes(count: number, prefix = 'key'): bigint[] {
  return Array.from({ length: count }, (_, i) => hashShardKey(enc.encode(`${prefix}-${i}`)));
}

export function assign(p: Partitioner, hashes: readonly bigint[]): ShardId[] {
  return hashes.map((h) => p.shardFor(h));
}

export function loads(owners: readonly ShardId[]): Map<ShardId, number> {
  const m = new Map<ShardId, number>();
  for (const s of owners) m.set(s, (m.get(s) ?? 0) + 1);
  return m;
}

/** max load / mean load over `shards` (shards with no key count as load 0). */
export function maxOverMean(owners: readonly ShardId[], shards: readonly ShardId[]): number {
  const m = loads(owners);
  const max = Math.max(...shards.map((s) => m.get(s) ?? 0));
  return max / (owners.length / shards.length);
}
