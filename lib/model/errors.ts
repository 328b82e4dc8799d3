// The one error root of ShardORM (ShardOrmError) and the typed errors of the model, repository,
// shard and client layers. Every message names the collection/class and field involved and says
// what to do next; `code` is stable so errors survive a trip between canisters (a shard answers
// with { code, message } and the caller rebuilds the same class). This file imports nothing, so
// every layer (partition included) can extend the root without an import cycle.

export type ShardOrmErrorCode =
  | 'VALIDATION'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNKNOWN_COLLECTION'
  | 'DECLARATION'
  | 'ROUTING'
  | 'ACCESS_DENIED'
  | 'UNAVAILABLE'
  | 'UNKNOWN_OUTCOME'
  | 'FORBIDDEN';

export abstract class ShardOrmError extends Error {
  /** A ShardOrmErrorCode, or a PartitionError's own code (lib/partition/errors.ts). */
  abstract readonly code: string;
}

/** A value does not match its Candid schema, a key field is missing, or a key has the wrong type. */
export class ValidationError extends ShardOrmError {
  readonly code = 'VALIDATION' as const;
  override readonly name = 'ValidationError';
}

/** insert of an existing key, or an @Version mismatch (someone else wrote first). */
export class ConflictError extends ShardOrmError {
  readonly code = 'CONFLICT' as const;
  override readonly name = 'ConflictError';
}

/** The encoded entity is larger than the configured limit (default 1.5 MiB: one IC message). */
export class PayloadTooLargeError extends ShardOrmError {
  readonly code = 'PAYLOAD_TOO_LARGE' as const;
  override readonly name = 'PayloadTooLargeError';
}

/** A request names a collection this node has no entity class registered for. */
export class UnknownCollectionError extends ShardOrmError {
  readonly code = 'UNKNOWN_COLLECTION' as const;
  override readonly name = 'UnknownCollectionError';
}

/** A mistake in an entity class declaration (thrown when the class is defined or registered). */
export class DeclarationError extends ShardOrmError {
  readonly code = 'DECLARATION' as const;
  override readonly name = 'DeclarationError';
}

/** Routing could not reach the owner within the hop/retry limits (maps disagree for too long). */
export class RoutingError extends ShardOrmError {
  readonly code = 'ROUTING' as const;
  override readonly name = 'RoutingError';
}

/** A collection's access policy refused the caller (see `access` in @ShardedCollection). */
export class AccessDeniedError extends ShardOrmError {
  readonly code = 'ACCESS_DENIED' as const;
  override readonly name = 'AccessDeniedError';
}

/**
 * The shard could not run the op now and did not run it (writes fenced for a split's cutover,
 * canister stopped for a snapshot, queue full): safe to retry. Clients retry these with backoff
 * and surface this error once their retry budget is spent.
 */
export class UnavailableError extends ShardOrmError {
  readonly code = 'UNAVAILABLE' as const;
  override readonly name = 'UnavailableError';
}

/**
 * The call may or may not have executed (the reply was lost, or the replica answered with an
 * error that does not say). Never re-sent automatically: read the key to find out.
 */
export class UnknownOutcomeError extends ShardOrmError {
  readonly code = 'UNKNOWN_OUTCOME' as const;
  override readonly name = 'UnknownOutcomeError';
}

/** A housekeeping or admin method called by someone who is not the manager, a member or a controller. */
export class ForbiddenError extends ShardOrmError {
  readonly code = 'FORBIDDEN' as const;
  override readonly name = 'ForbiddenError';
}

const BY_CODE: Record<ShardOrmErrorCode, new (message: string) => ShardOrmError> = {
  VALIDATION: ValidationError,
  CONFLICT: ConflictError,
  PAYLOAD_TOO_LARGE: PayloadTooLargeError,
  UNKNOWN_COLLECTION: UnknownCollectionError,
  DECLARATION: DeclarationError,
  ROUTING: RoutingError,
  ACCESS_DENIED: AccessDeniedError,
  UNAVAILABLE: UnavailableError,
  UNKNOWN_OUTCOME: UnknownOutcomeError,
  FORBIDDEN: ForbiddenError,
};

/** Rebuilds errors of other layers whose codes are not ShardOrmErrorCodes (PartitionError registers here). */
const foreignCodes = new Map<string, (code: string, message: string) => ShardOrmError>();

export function registerWireErrorCodes(codes: readonly string[], rebuild: (code: string, message: string) => ShardOrmError): void {
  for (const c of codes) foreignCodes.set(c, rebuild);
}

/** Plain form of an error for a response payload (Candid-friendly: two texts). */
export interface WireError {
  code: string;
  message: string;
}

export function toWireError(error: unknown): WireError {
  if (error instanceof ShardOrmError) return { code: error.code, message: error.message };
  throw error; // Not ours: a bug or a trap, which must not be turned into an ordinary answer.
}

export function fromWireError(wire: WireError): ShardOrmError {
  const ctor = BY_CODE[wire.code as ShardOrmErrorCode];
  if (ctor !== undefined) return new ctor(wire.message);
  const foreign = foreignCodes.get(wire.code);
  if (foreign !== undefined) return foreign(wire.code, wire.message);
  return new RoutingError(`unknown error code ${String(wire.code)}: ${wire.message}`);
}
