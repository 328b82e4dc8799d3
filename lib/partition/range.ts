/**
 * RangePartitioner: the default. Each shard owns one contiguous slice [start, end) of the 64-bit
 * hash space; the slices are sorted, contiguous and cover [0, 2^64). A full shard is split at a
 * chosen point (normally the median hash of its keys), so only that shard's keys move, and only
 * to the new shard; a small shard is merged into a neighbour. Values are immutable: every change
 * returns a new partitioner with epoch + 1.
 */
import { check, checkShardId, PartitionError } from './errors.js';
import { checkHash, HASH_SPACE } from './hash.js';
import type { Partitioner, RangePartitionerJSON, ShardId, ShardRange } from './types.js';

/** Upper bound on shards of one partitioner (keeps the map shippable in one message). */
export const MAX_RANGE_SHARDS = 65_536;

export class RangePartitioner implements Partitioner {
  readonly kind = 'range' as const;
  /** Position of each shard in `starts`/`owners`. */
  private readonly index = new Map<ShardId, number>();

  /** `starts[i]` is where `owners[i]`'s range begins; it ends where the next begins (or at 2^64). */
  private constructor(
    readonly epoch: number,
    private readonly starts: readonly bigint[],
    private readonly owners: readonly ShardId[],
  ) {
    check(Number.isSafeInteger(epoch) && epoch >= 0, 'invalid-argument', () => `epoch ${epoch} must be a non-negative integer`);
    check(owners.length >= 1 && owners.length === starts.length, 'invalid-argument', () => 'a range partitioner needs at least one shard');
    check(owners.length <= MAX_RANGE_SHARDS, 'too-many-shards', () =>
      `${owners.length} shards is above MAX_RANGE_SHARDS (${MAX_RANGE_SHARDS}): merge small shards before splitting more`);
    check(starts[0] === 0n, 'invalid-argument', () => 'the first range must start at 0');
    for (let i = 0; i < owners.length; i++) {
      checkShardId(owners[i]);
      check(!this.index.has(owners[i]), 'duplicate-shard', () => `shard '${owners[i]}' owns two ranges: give every shard its own id`);
      this.index.set(owners[i], i);
      if (i > 0) check(starts[i - 1] < starts[i], 'invalid-argument', () => `ranges must be sorted, non-empty: ${starts[i - 1]} ≥ ${starts[i]}`);
    }
    check(starts[starts.length - 1] < HASH_SPACE, 'invalid-argument', () => 'range starts must be below 2^64');
  }

  /** One shard owns the whole hash space; epoch 0. */
  static single(shard: ShardId): RangePartitioner {
    return new RangePartitioner(0, [0n], [shard]);
  }

  /** `shards.length` equal-width ranges in the given order; epoch 0. For clusters created at a size. */
  static even(shards: ShardId[]): RangePartitioner {
    check(Array.isArray(shards) && shards.length >= 1, 'invalid-argument', () => 'RangePartitioner.even needs at least one shard id');
    const n = BigInt(shards.length);
    const starts = shards.map((_, i) => (BigInt(i) * HASH_SPACE) / n);
    return new RangePartitioner(0, starts, [...shards]);
  }

  static fromJSON(json: RangePartitionerJSON): RangePartitioner {
    const j = json as Partial<RangePartitionerJSON> | null;
    check(!!j && j.kind === 'range' && j.version === 1 && Array.isArray(j.ranges) && j.ranges.length >= 1, 'invalid-json', () =>
      "not a RangePartitioner JSON (expected { kind: 'range', version: 1, epoch, ranges: [...] }): pass the output of toJSON()");
    const ranges = j.ranges!;
    const starts: bigint[] = [];
    let expected = 0n;
    for (const r of ranges) {
      const start = parseBig(r?.start, 'start'), end = parseBig(r?.end, 'end');
      check(start === expected && start < end && end <= HASH_SPACE, 'invalid-json', () =>
        `range [${r.start}, ${r.end}) of '${r.shard}' breaks contiguity at ${expected}: ranges must be sorted, contiguous and cover [0, 2^64)`);
      starts.push(start);
      expected = end;
    }
    check(expected === HASH_SPACE, 'invalid-json', () => `ranges end at ${expected}, not 2^64: the JSON is truncated`);
    try {
      return new RangePartitioner(j.epoch as number, starts, ranges.map((r) => r.shard));
    } catch (e) {
      throw e instanceof PartitionError ? new PartitionError('invalid-json', `invalid RangePartitioner JSON: ${e.message}`) : e;
    }
  }

  /** O(log n): binary search for the last range starting at or below `hash`. */
  shardFor(hash: bigint): ShardId {
    checkHash(hash);
    const starts = this.starts;
    let lo = 0, hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid] <= hash) lo = mid;
      else hi = mid - 1;
    }
    return this.owners[lo];
  }

  shards(): ShardId[] {
    return [...this.owners];
  }

  ranges(): ShardRange[] {
    return this.owners.map((shard, i) => this.rangeAt(i));
  }

  rangeOf(shard: ShardId): ShardRange {
    return this.rangeAt(this.indexOf(shard));
  }

  /** `newShard` takes [at, end) of `shard`'s range; `shard` keeps [start, at). */
  split(shard: ShardId, at: bigint, newShard: ShardId): RangePartitioner {
    const i = this.indexOf(shard);
    const { start, end } = this.rangeAt(i);
    check(!this.index.has(newShard), 'duplicate-shard', () =>
      `cannot split '${shard}' into '${newShard}': that id already owns a range; use a fresh shard id`);
    check(typeof at === 'bigint' && start < at && at < end, 'bad-split-point', () =>
      `split point ${String(at)} is not strictly inside '${shard}' range [${start}, ${end}): pick a point in (${start}, ${end}), e.g. the median hash of its keys`);
    const starts = [...this.starts], owners = [...this.owners];
    starts.splice(i + 1, 0, at);
    owners.splice(i + 1, 0, newShard);
    return new RangePartitioner(this.epoch + 1, starts, owners);
  }

  /** `into` absorbs `from`'s range; `from` disappears. They must be neighbours. */
  merge(from: ShardId, into: ShardId): RangePartitioner {
    const f = this.indexOf(from), t = this.indexOf(into);
    check(f !== t, 'invalid-argument', () => `cannot merge '${from}' into itself: name two neighbouring shards`);
    check(Math.abs(f - t) === 1, 'not-neighbours', () => {
      const left = f > 0 ? `'${this.owners[f - 1]}'` : 'none', right = f + 1 < this.owners.length ? `'${this.owners[f + 1]}'` : 'none';
      return `cannot merge '${from}' into '${into}': their ranges do not touch; merge into a neighbour of '${from}' (left: ${left}, right: ${right})`;
    });
    const starts = [...this.starts], owners = [...this.owners];
    // Removing `from`'s start extends its left neighbour; when `from` is left of `into`, `into` inherits `from`'s start.
    if (f < t) {
      starts.splice(t, 1);
      owners.splice(f, 1);
    } else {
      starts.splice(f, 1);
      owners.splice(f, 1);
    }
    return new RangePartitioner(this.epoch + 1, starts, owners);
  }

  toJSON(): RangePartitionerJSON {
    return {
      kind: 'range',
      version: 1,
      epoch: this.epoch,
      ranges: this.ranges().map((r) => ({ start: r.start.toString(), end: r.end.toString(), shard: r.shard })),
    };
  }

  private rangeAt(i: number): ShardRange {
    const end = i + 1 < this.starts.length ? this.starts[i + 1] : HASH_SPACE;
    return { start: this.starts[i], end, shard: this.owners[i] };
  }

  private indexOf(shard: ShardId): number {
    const i = this.index.get(shard);
    if (i === undefined) {
      throw new PartitionError('unknown-shard', `unknown shard '${shard}': known shards are ${this.owners.slice(0, 8).map((s) => `'${s}'`).join(', ')}${this.owners.length > 8 ? ', ...' : ''}; refresh the partition map (epoch ${this.epoch}) and retry`);
    }
    return i;
  }
}

function parseBig(s: unknown, what: string): bigint {
  check(typeof s === 'string' && /^(0|[1-9][0-9]{0,19})$/.test(s), 'invalid-json', () =>
    `range ${what} ${JSON.stringify(s)} is not a decimal string: bigints are shipped as decimal strings`);
  return BigInt(s as string);
}
