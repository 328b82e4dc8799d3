// The model layer: decorators, metadata, Candid codecs, keys, hydration, typed errors.
import './symbol-metadata.js'; // first: Symbol.metadata must exist before any entity class is defined
export { ShardedCollection, ShardKey, PrimaryKey, Field, Index, Version } from './decorators.js';
export type { FieldDecorator, EntityClassDecorator } from './decorators.js';
export { getEntityMetadata, MAX_ENTITY_VERSION, NAME_PATTERN } from './metadata.js';
export type { EntityClass, EntityMetadata, FieldMeta, IndexMeta, CollectionOptions, FieldOptions, UpgradeHook, AccessRule, AccessPolicy } from './metadata.js';
export { EntityCodec, codecFor, DEFAULT_MAX_ENTITY_BYTES } from './codec.js';
export type { PlainRecord, DecodedValue } from './codec.js';
export { EntityRegistry, MAX_COLLECTIONS } from './registry.js';
export { hydrate, toRecord } from './hydrate.js';
export { rowAddress, keyRecord, rowPrefix, shardKeyRowPrefix, indexEntryKey, indexValuePrefix } from './entity-keys.js';
export type { RowAddress } from './entity-keys.js';
export { compareBytes, hashOfStorageKey, keyspacePrefix, encodeKeyComponent, prefixEnd, MAX_BIG_KEY_BYTES, MAX_STORAGE_KEY_BYTES } from './keys.js';
export {
  ShardOrmError,
  ValidationError,
  ConflictError,
  PayloadTooLargeError,
  UnknownCollectionError,
  DeclarationError,
  RoutingError,
  AccessDeniedError,
  UnavailableError,
  UnknownOutcomeError,
  ForbiddenError,
  toWireError,
  fromWireError,
} from './errors.js';
export type { ShardOrmErrorCode, WireError } from './errors.js';
