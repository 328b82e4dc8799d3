// Typed errors of the model and repository layers. Every message names the collection/class and
// field involved and says what to do next; `code` is stable so errors survive a trip between
// canisters (a shard answers with { code, message } and the caller rebuilds the same class).

export type ShardOrmErrorCode =
  | 'VALIDATION'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNKNOWN_COLLECTION'
  | 'DECLARATION'
  | 'ROUTING';

export abstract class ShardOrmError extends Error {
  abstract readonly code: ShardOrmErrorCode;
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

const BY_CODE: Record<ShardOrmErrorCode, new (message: string) => ShardOrmError> = {
  VALIDATION: ValidationError,
  CONFLICT: ConflictError,
  PAYLOAD_TOO_LARGE: PayloadTooLargeError,
  UNKNOWN_COLLECTION: UnknownCollectionError,
  DECLARATION: DeclarationError,
  ROUTING: RoutingError,
};

/** Plain form of an error for a response payload (Candid-friendly: two texts). */
export interface WireError {
  code: ShardOrmErrorCode;
  message: string;
}

export function toWireError(error: unknown): WireError {
  if (error instanceof ShardOrmError) return { code: error.code, message: error.message };
  throw error; // Not ours: a bug or a trap, which must not be turned into an ordinary answer.
}

export function fromWireError(wire: WireError): ShardOrmError {
  const ctor = BY_CODE[wire.code];
  if (ctor === undefined) return new RoutingError(`unknown error code ${String(wire.code)}: ${wire.message}`);
  return new ctor(wire.message);
}
