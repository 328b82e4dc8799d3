// Entity metadata: what the decorators record (a draft per class, kept on the class's decorator
// metadata object) and the validated, frozen EntityMetadata built from it by @ShardedCollection.
import { IDL } from '@dfinity/candid';
import type { Principal } from '@dfinity/principal';
import { DeclarationError } from './errors.js';
import { assertKeyType } from './keys.js';

/** Newest entity version the storage header can carry. */
export const MAX_ENTITY_VERSION = 0xffff;
/** Collection and index names: also the byte prefix of every storage key (no 0x00 inside). */
export const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EntityClass<T = any> = abstract new (...args: any[]) => T;

/** Transforms a record written by an older entity version into the current shape. */
export type UpgradeHook = (record: Record<string, unknown>, fromVersion: number) => Record<string, unknown>;

/**
 * Who may read or write a collection through the generic data methods, checked on the owning shard
 * against the original caller: 'controllers' (of the cluster: the deploying identity and the
 * manager), 'anyone', or a function of the caller, the entity being written (undefined for reads
 * and deletes) and the stored entity (undefined when absent).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AccessRule<T = any> = 'controllers' | 'anyone' | ((caller: Principal, next: T | undefined, stored: T | undefined) => boolean);

export interface AccessPolicy<T = unknown> {
  read?: AccessRule<T>;
  write?: AccessRule<T>;
}

export interface CollectionOptions {
  name: string;
  /** Default: only controllers of the cluster may read or write. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  access?: AccessPolicy<any>;
  /** Schema version of this class (default 1); stored with every record. */
  version?: number;
  /** Rolling-upgrade hook applied to records written by an older version. */
  upgrade?: UpgradeHook;
}

export interface FieldOptions<V = unknown> {
  /** Used when the value is undefined on write, and for records written before the field existed. */
  default?: V | (() => V);
}

export interface FieldMeta {
  readonly name: string;
  readonly type: IDL.Type;
  /** Top-level `opt`: the JS property is `T | undefined` instead of `[] | [T]`. */
  readonly optional: boolean;
  readonly hasDefault: boolean;
  readonly defaultValue: () => unknown;
}

export interface IndexMeta {
  readonly name: string;
  readonly field: FieldMeta;
  /** The key-encodable type indexed: the field's type, or T for an `opt T` field (absent = not indexed). */
  readonly valueType: IDL.Type;
}

export interface EntityMetadata<T = unknown> {
  readonly ctor: EntityClass<T>;
  readonly className: string;
  readonly name: string;
  readonly version: number;
  readonly upgrade?: UpgradeHook;
  readonly fields: readonly FieldMeta[];
  readonly fieldByName: ReadonlyMap<string, FieldMeta>;
  readonly shardKey: FieldMeta;
  readonly primaryKey: readonly FieldMeta[];
  /** Shard key first, then primary-key fields that are not the shard key: the key of an entity. */
  readonly keyFields: readonly FieldMeta[];
  readonly indexes: readonly IndexMeta[];
  readonly versionField?: FieldMeta;
  readonly access: { readonly read: AccessRule; readonly write: AccessRule };
}

/** An @Version value in its field's JS type: a number for nat8..nat32, a bigint for nat64 and nat. */
export function versionValue(field: FieldMeta, n: bigint): number | bigint {
  return field.type instanceof IDL.FixedNatClass && field.type._bits <= 32 ? Number(n) : n;
}

/** What field decorators record before the class decorator validates it. */
export interface FieldDraft {
  type?: IDL.Type;
  options?: FieldOptions;
  shardKey?: boolean;
  primaryKey?: boolean;
  index?: string;
  version?: boolean;
  /** Number of @ShardKey applications on this field (twice on one field is a mistake too). */
  shardKeyCount?: number;
}

export interface EntityDraft {
  fields: Map<string, FieldDraft>;
}

const DRAFT = Symbol.for('shardorm.entityDraft');
const built = new WeakMap<EntityClass, EntityMetadata>();

/** The draft on a decorator metadata object, created (inheriting the parent class's) on first use. */
export function draftOf(metadata: object): EntityDraft {
  const bag = metadata as Record<symbol, EntityDraft | undefined>;
  if (!Object.prototype.hasOwnProperty.call(bag, DRAFT)) {
    const inherited = bag[DRAFT];
    const fields = new Map<string, FieldDraft>();
    inherited?.fields.forEach((f, k) => fields.set(k, { ...f }));
    Object.defineProperty(bag, DRAFT, { value: { fields }, enumerable: false });
  }
  return bag[DRAFT] as EntityDraft;
}

export function fieldDraft(metadata: object, field: string): FieldDraft {
  const draft = draftOf(metadata);
  let f = draft.fields.get(field);
  if (f === undefined) {
    f = {};
    draft.fields.set(field, f);
  }
  return f;
}

/** Validates a draft and freezes it into EntityMetadata (called by @ShardedCollection). */
export function buildMetadata<T>(ctor: EntityClass<T>, options: CollectionOptions, draft: EntityDraft | undefined): EntityMetadata<T> {
  const className = ctor.name || '(anonymous class)';
  const fail = (msg: string): never => {
    throw new DeclarationError(`${className}: ${msg}`);
  };
  if (typeof options?.name !== 'string' || !NAME_PATTERN.test(options.name)) {
    fail(`collection name ${JSON.stringify(options?.name)} must match ${NAME_PATTERN} (it prefixes every storage key)`);
  }
  const version = options.version ?? 1;
  if (!Number.isInteger(version) || version < 1 || version > MAX_ENTITY_VERSION) {
    fail(`version ${version} must be an integer in [1, ${MAX_ENTITY_VERSION}]`);
  }
  const fields: FieldMeta[] = [];
  const indexes: IndexMeta[] = [];
  let shardKey: FieldMeta | undefined;
  const primaryKey: FieldMeta[] = [];
  let versionField: FieldMeta | undefined;
  for (const [name, d] of draft?.fields ?? []) {
    const roles = [d.shardKey && '@ShardKey', d.primaryKey && '@PrimaryKey', d.index !== undefined && '@Index', d.version && '@Version']
      .filter(Boolean)
      .join(', ');
    if (d.type === undefined) fail(`field "${name}" has ${roles || 'decorators'} but no Candid type: add @Field(IDL.<Type>) to it`);
    const type = d.type as IDL.Type;
    const optional = type instanceof IDL.OptClass;
    const dflt = d.options?.default;
    const field: FieldMeta = Object.freeze({
      name,
      type,
      optional,
      hasDefault: d.options !== undefined && 'default' in d.options,
      defaultValue: typeof dflt === 'function' ? (dflt as () => unknown) : () => dflt,
    });
    fields.push(field);
    if ((d.shardKeyCount ?? 0) > 1) fail(`field "${name}" has @ShardKey twice: keep one`);
    if (d.shardKey) {
      if (shardKey !== undefined) fail(`two shard keys, "${shardKey.name}" and "${name}": an entity has exactly one @ShardKey field`);
      assertKeyType(type, className, name, 'shard key');
      shardKey = field;
    }
    if (d.primaryKey) {
      assertKeyType(type, className, name, 'primary key');
      primaryKey.push(field);
    }
    if (d.index !== undefined) {
      if (!NAME_PATTERN.test(d.index)) fail(`index name ${JSON.stringify(d.index)} on field "${name}" must match ${NAME_PATTERN}`);
      if (indexes.some((i) => i.name === d.index)) fail(`two indexes named "${d.index}" (field "${name}"): give one another name`);
      const valueType = optional ? (type as IDL.OptClass<unknown>)._type : type;
      assertKeyType(valueType, className, name, 'index');
      indexes.push({ name: d.index, field, valueType });
    }
    if (d.version) {
      if (versionField !== undefined) fail(`two @Version fields, "${versionField.name}" and "${name}": keep one`);
      if (!(type instanceof IDL.NatClass || type instanceof IDL.FixedNatClass)) {
        fail(`@Version field "${name}" must be a nat type (IDL.Nat64, IDL.Nat32 or IDL.Nat), not ${type.display()}`);
      }
      if (d.shardKey || d.primaryKey) fail(`@Version field "${name}" cannot also be a key field`);
      versionField = field;
    }
  }
  if (shardKey === undefined) fail('no @ShardKey field: mark the field that decides placement (e.g. the tenant or user id)');
  const sk = shardKey as FieldMeta;
  if (primaryKey.length === 0) primaryKey.push(sk);
  const keyFields = [sk, ...primaryKey.filter((f) => f !== sk)];
  return Object.freeze({
    ctor,
    className,
    name: options.name,
    version,
    upgrade: options.upgrade,
    fields: Object.freeze(fields),
    fieldByName: new Map(fields.map((f) => [f.name, f])),
    shardKey: sk,
    primaryKey: Object.freeze(primaryKey),
    keyFields: Object.freeze(keyFields),
    indexes: Object.freeze(indexes),
    versionField,
    access: Object.freeze({ read: accessRule(options.access?.read, 'read', fail), write: accessRule(options.access?.write, 'write', fail) }),
  });
}

function accessRule(rule: unknown, what: string, fail: (message: string) => never): AccessRule {
  if (rule === undefined) return 'controllers';
  if (rule === 'controllers' || rule === 'anyone' || typeof rule === 'function') return rule as AccessRule;
  return fail(`access.${what} must be 'controllers', 'anyone' or a function (caller, next, stored) => boolean, not ${JSON.stringify(rule)}`);
}

export function storeMetadata(ctor: EntityClass, meta: EntityMetadata): void {
  built.set(ctor, meta);
}

/** The metadata of a class decorated with @ShardedCollection; throws if it is not an entity. */
export function getEntityMetadata<T>(ctor: EntityClass<T>): EntityMetadata<T> {
  const meta = built.get(ctor);
  if (meta === undefined) {
    throw new DeclarationError(
      `${ctor?.name ?? String(ctor)} is not an entity: decorate it with @ShardedCollection({ name }) and mark a @ShardKey field`,
    );
  }
  return meta as EntityMetadata<T>;
}
