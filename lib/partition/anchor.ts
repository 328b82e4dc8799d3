/**
 * AnchorHashPartitioner: AnchorHash (Mendelson, Vargaftik, Barabash, Lorenz, Keslassy, Orda,
 * "AnchorHash: A Scalable Consistent Hash", arXiv 1812.09674), Algorithm 3 (minimal memory:
 * arrays A, K, W, L and the removed-bucket stack R over a fixed anchor of `capacity` buckets).
 *
 * Guarantees (tested in __tests__/partition/anchor.test.ts): adding a shard moves keys only to it;
 * removing one moves only its keys; shards may be added and removed in any order; every node
 * that applies the same change log to the same creation gets the same lookups. A new shard takes
 * the most recently freed bucket (the paper's LIFO stack), so the log fixes the bucket numbers.
 *
 * Hash functions (all deterministic, pure 32-bit integer arithmetic, identical in V8 and QuickJS):
 * - first bucket: b = floor(hi * capacity / 2^32), hi = the top 32 bits of the 64-bit key hash;
 * - per-bucket hash h_b(k) = fmix32(lo ^ fmix32(hi ^ imul(b + 1, 0x9E3779B1))), where fmix32 is
 *   MurmurHash3's 32-bit finalizer and lo the low 32 bits; reduced to [0, A[b]) the same way,
 *   floor(h * A[b] / 2^32). Seeding by b keeps h_b independent across buckets, as the paper needs.
 */
import { check, checkShardId, PartitionError } from './errors.js';
import { checkHash } from './hash.js';
import type { AnchorPartitionerJSON, PartitionChange, Partitioner, ShardId } from './types.js';

/** Upper bound on the anchor size: 4 Uint32Arrays of this length = 1 MiB. */
export const MAX_ANCHOR_CAPACITY = 65_536;
/** Upper bound on the change log (it is shipped whole in toJSON; ~40 bytes an entry). */
export const MAX_ANCHOR_CHANGES = 10_000;

const TWO_32 = 4294967296;

/** The paper's state. Mutated only while building a new partitioner, never after. */
interface AnchorState {
  A: Uint32Array; // 0 if bucket b works, else the size of the working set just after b's removal
  K: Uint32Array; // successor of a removed bucket (the bucket that replaced it in W)
  W: Uint32Array; // working buckets in W[0..N)
  L: Uint32Array; // last position of each bucket in W
  R: number[]; // removed buckets, LIFO
  N: number; // number of working buckets
  owner: (ShardId | undefined)[]; // shard of each working bucket
  bucketOf: Map<ShardId, number>;
}

export class AnchorHashPartitioner implements Partitioner {
  readonly kind = 'anchor' as const;
  readonly epoch: number;

  private constructor(
    readonly capacity: number,
    private readonly initialShards: readonly ShardId[],
    private readonly log: readonly PartitionChange[],
    private readonly s: AnchorState,
  ) {
    this.epoch = log.length;
  }

  /** `shards[i]` takes bucket i; buckets shards.length..capacity-1 start removed (free). */
  static create(opts: { capacity: number; shards: ShardId[] }): AnchorHashPartitioner {
    const { capacity, shards } = opts ?? ({} as { capacity: number; shards: ShardId[] });
    check(Number.isInteger(capacity) && capacity >= 1 && capacity <= MAX_ANCHOR_CAPACITY, 'invalid-argument', () =>
      `capacity ${capacity} must be an integer in [1, ${MAX_ANCHOR_CAPACITY}]: pick the most shards the cluster may ever have (e.g. 4x today)`);
    check(Array.isArray(shards) && shards.length >= 1 && shards.length <= capacity, 'invalid-argument', () =>
      `need between 1 and capacity (${capacity}) initial shards, got ${Array.isArray(shards) ? shards.length : typeof shards}`);
    const s = initialState(capacity, shards);
    return new AnchorHashPartitioner(capacity, [...shards], [], s);
  }

  static fromJSON(json: AnchorPartitionerJSON): AnchorHashPartitioner {
    const j = json as Partial<AnchorPartitionerJSON> | null;
    check(!!j && j.kind === 'anchor' && j.version === 1 && Array.isArray(j.initialShards) && Array.isArray(j.changes), 'invalid-json', () =>
      "not an AnchorHashPartitioner JSON (expected { kind: 'anchor', version: 1, epoch, capacity, initialShards, changes }): pass the output of toJSON()");
    check(j.epoch === j.changes!.length, 'invalid-json', () => `epoch ${j.epoch} disagrees with ${j.changes!.length} logged changes: the JSON is corrupt or truncated`);
    try {
      const created = AnchorHashPartitioner.create({ capacity: j.capacity!, shards: j.initialShards! });
      return created.applyAll(j.changes!);
    } catch (e) {
      throw e instanceof PartitionError ? new PartitionError('invalid-json', `invalid AnchorHashPartitioner JSON: ${e.message}`) : e;
    }
  }

  /** Expected O(1 + ln(capacity / shards)) steps. */
  shardFor(hash: bigint): ShardId {
    checkHash(hash);
    const hi = Number(hash >> 32n), lo = Number(hash & 0xffffffffn);
    const { A, K } = this.s;
    let b = Math.floor((hi * this.capacity) / TWO_32);
    // Sound state: b's A strictly falls each outer step, h's A each K-hop; so each loop runs < capacity times.
    for (let outer = 0; A[b] > 0; outer++) {
      let h = Math.floor((bucketHash(hi, lo, b) * A[b]) / TWO_32);
      for (let hops = 0; A[h] >= A[b]; hops++) {
        if (hops >= this.capacity) corrupt();
        h = K[h]; // h was removed before b: follow to the bucket that replaced it
      }
      if (outer >= this.capacity) corrupt();
      b = h;
    }
    return this.s.owner[b]!;
  }

  /** Working shards, in the anchor's working-set order. */
  shards(): ShardId[] {
    const out: ShardId[] = [];
    for (let i = 0; i < this.s.N; i++) out.push(this.s.owner[this.s.W[i]]!);
    return out;
  }

  /** Puts `id` on the most recently freed bucket; keys move only to it. */
  addShard(id: ShardId): AnchorHashPartitioner {
    return this.applyAll([{ op: 'add', shard: id }]);
  }

  /** Frees `id`'s bucket; only its keys move, spread over the remaining shards. */
  removeShard(id: ShardId): AnchorHashPartitioner {
    return this.applyAll([{ op: 'remove', shard: id }]);
  }

  /** Changes since create(); replaying them on the same create() yields an identical partitioner. */
  changeLog(): PartitionChange[] {
    return this.log.map((c) => ({ ...c }));
  }

  toJSON(): AnchorPartitionerJSON {
    return { kind: 'anchor', version: 1, epoch: this.epoch, capacity: this.capacity, initialShards: [...this.initialShards], changes: this.changeLog() };
  }

  private applyAll(changes: readonly PartitionChange[]): AnchorHashPartitioner {
    check(this.log.length + changes.length <= MAX_ANCHOR_CHANGES, 'change-log-full', () =>
      `the change log would exceed MAX_ANCHOR_CHANGES (${MAX_ANCHOR_CHANGES}): create a fresh partitioner from shards() and migrate keys to it`);
    const s = cloneState(this.s);
    for (const c of changes) {
      if (c?.op === 'add') addBucket(s, c.shard, this.capacity);
      else if (c?.op === 'remove') removeShard(s, c.shard);
      else throw new PartitionError('invalid-argument', `unknown change ${JSON.stringify(c)}: changes are { op: 'add' | 'remove', shard }`);
    }
    assertState(s, this.capacity);
    const log = [...this.log, ...changes.map((c) => ({ op: c.op, shard: c.shard }) as PartitionChange)];
    return new AnchorHashPartitioner(this.capacity, this.initialShards, log, s);
  }
}

function initialState(capacity: number, shards: readonly ShardId[]): AnchorState {
  const s: AnchorState = {
    A: new Uint32Array(capacity), K: new Uint32Array(capacity), W: new Uint32Array(capacity), L: new Uint32Array(capacity),
    R: [], N: capacity, owner: new Array<ShardId | undefined>(capacity).fill(undefined), bucketOf: new Map(),
  };
  for (let b = 0; b < capacity; b++) s.K[b] = s.L[b] = s.W[b] = b;
  for (let b = capacity - 1; b >= shards.length; b--) removeBucket(s, b);
  shards.forEach((id, b) => {
    checkShardId(id);
    check(!s.bucketOf.has(id), 'duplicate-shard', () => `shard '${id}' is listed twice: give every shard its own id`);
    s.owner[b] = id;
    s.bucketOf.set(id, b);
  });
  assertState(s, capacity);
  return s;
}

/** Cheap invariants after every transition: working + free = capacity, one shard per working bucket. */
function assertState(s: AnchorState, capacity: number): void {
  if (s.N < 1 || s.N + s.R.length !== capacity || s.bucketOf.size !== s.N || s.A[s.W[s.N - 1]] !== 0) {
    throw new Error(`AnchorHash invariant broken (N=${s.N}, free=${s.R.length}, shards=${s.bucketOf.size}, capacity=${capacity}): this is a bug, please report it`);
  }
}

function cloneState(s: AnchorState): AnchorState {
  return { A: s.A.slice(), K: s.K.slice(), W: s.W.slice(), L: s.L.slice(), R: [...s.R], N: s.N, owner: [...s.owner], bucketOf: new Map(s.bucketOf) };
}

/** ADDBUCKET(): reuse the most recently removed bucket. */
function addBucket(s: AnchorState, id: ShardId, capacity: number): void {
  checkShardId(id);
  check(!s.bucketOf.has(id), 'duplicate-shard', () => `shard '${id}' is already in the partitioner: use a fresh shard id`);
  check(s.R.length > 0, 'capacity-full', () =>
    `all ${capacity} buckets are in use: remove a shard first, or create a partitioner with a larger capacity and migrate keys to it`);
  const b = s.R.pop()!;
  s.A[b] = 0;
  s.L[s.W[s.N]] = s.N;
  s.W[s.L[b]] = b;
  s.K[b] = b;
  s.N++;
  s.owner[b] = id;
  s.bucketOf.set(id, b);
}

function removeShard(s: AnchorState, id: ShardId): void {
  const b = s.bucketOf.get(id);
  if (b === undefined) {
    throw new PartitionError('unknown-shard', `unknown shard '${id}': it is not a working shard of this partitioner; refresh the partition map and retry`);
  }
  check(s.N > 1, 'last-shard', () => `cannot remove '${id}': it is the last shard; add another shard first`);
  removeBucket(s, b);
  s.owner[b] = undefined;
  s.bucketOf.delete(id);
}

/** REMOVEBUCKET(b) */
function removeBucket(s: AnchorState, b: number): void {
  s.R.push(b);
  s.N--;
  s.A[b] = s.N;
  const last = s.W[s.N];
  s.W[s.L[b]] = last;
  s.K[b] = last;
  s.L[last] = s.L[b];
}

function corrupt(): never {
  throw new Error('AnchorHash state is corrupt (a lookup did not converge): rebuild the partitioner from its change log');
}

/** MurmurHash3 fmix32: a bijection on uint32 with full avalanche. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** h_b(k): the per-bucket seeded hash of the 64-bit key hash (hi, lo), as a uint32. */
function bucketHash(hi: number, lo: number, b: number): number {
  return fmix32((lo ^ fmix32((hi ^ Math.imul(b + 1, 0x9e3779b1)) >>> 0)) >>> 0);
}
