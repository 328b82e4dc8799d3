/**
 * Typed errors of the partitioning layer. Every message says what the caller should do next;
 * `code` lets callers branch without parsing text. PartitionError is a ShardOrmError (one error
 * root for the library) and survives a trip between canisters like the others.
 */
import { registerWireErrorCodes, ShardOrmError } from '../model/errors.js';

export type PartitionErrorCode =
  | 'unknown-shard' // a shard id that the partitioner does not know
  | 'duplicate-shard' // a shard id that is already in use
  | 'bad-split-point' // split point outside the shard's range (or on its edge)
  | 'not-neighbours' // merge of two ranges that do not touch
  | 'capacity-full' // AnchorHash: no free bucket left
  | 'last-shard' // removing/merging away the only shard
  | 'too-many-shards' // above a named limit
  | 'change-log-full' // AnchorHash change log above its limit
  | 'hash-out-of-range' // a lookup with a value outside [0, 2^64)
  | 'invalid-argument' // a malformed argument (wrong type, bad capacity, ...)
  | 'invalid-json'; // a persisted/shipped partitioner that does not validate

const PARTITION_ERROR_CODES: readonly PartitionErrorCode[] = [
  'unknown-shard', 'duplicate-shard', 'bad-split-point', 'not-neighbours', 'capacity-full', 'last-shard',
  'too-many-shards', 'change-log-full', 'hash-out-of-range', 'invalid-argument', 'invalid-json',
];

export class PartitionError extends ShardOrmError {
  override readonly name = 'PartitionError';
  constructor(
    readonly code: PartitionErrorCode,
    message: string,
  ) {
    super(message);
  }
}

registerWireErrorCodes(PARTITION_ERROR_CODES, (code, message) => new PartitionError(code as PartitionErrorCode, message));

/** Throws a PartitionError when `condition` is false (invariant and argument checks). */
export function check(condition: boolean, code: PartitionErrorCode, message: () => string): asserts condition {
  if (!condition) throw new PartitionError(code, message());
}

/** Upper bound on a shard id's length (a principal's text form is at most 63 characters). */
export const MAX_SHARD_ID_LENGTH = 128;

export function checkShardId(id: string): void {
  check(typeof id === 'string' && id.length >= 1 && id.length <= MAX_SHARD_ID_LENGTH, 'invalid-argument', () =>
    `shard id ${JSON.stringify(id)} must be a non-empty string of at most ${MAX_SHARD_ID_LENGTH} characters (a principal's text form)`);
}
