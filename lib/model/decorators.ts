// Entity decorators. Each one works in both call shapes:
// - TC39 standard decorators (what Azle 0.33 and TS 5 without experimentalDecorators emit):
//   field: (undefined, { kind: 'field', name, metadata }), class: (ctor, { kind: 'class', metadata }).
// - legacy `experimentalDecorators` (Angular/NestJS clients sharing the model file):
//   property: (prototype, propertyKey), class: (ctor).
// Both write the same draft onto the class's decorator metadata object (`ctor[Symbol.metadata]`;
// for the legacy form we create that object ourselves, inheriting the parent class's as TC39
// does), and @ShardedCollection validates the draft into EntityMetadata.
import './symbol-metadata.js';
import type { IDL } from '@dfinity/candid';
import { DeclarationError } from './errors.js';
import { buildMetadata, draftOf, fieldDraft, storeMetadata } from './metadata.js';
import type { CollectionOptions, EntityClass, FieldDraft, FieldOptions } from './metadata.js';

/** A field decorator usable in the standard and the legacy form. */
export interface FieldDecorator {
  (value: undefined, context: ClassFieldDecoratorContext): void;
  (target: object, propertyKey: string | symbol): void;
}

/** A class decorator usable in the standard and the legacy form. */
export interface EntityClassDecorator {
  <C extends EntityClass>(value: C, context: ClassDecoratorContext<C>): void;
  <C extends EntityClass>(target: C): void;
}

type Mark = (draft: FieldDraft, className: string, field: string) => void;

function isStandardContext(x: unknown): x is DecoratorContext {
  return typeof x === 'object' && x !== null && typeof (x as { kind?: unknown }).kind === 'string';
}

/** `ctor[Symbol.metadata]`, created for the legacy form the way TC39 would. */
function legacyMetadata(ctor: EntityClass): object {
  const key = Symbol.metadata as symbol;
  if (!Object.prototype.hasOwnProperty.call(ctor, key)) {
    const parent = (Object.getPrototypeOf(ctor) as Record<symbol, object | undefined> | null)?.[key];
    Object.defineProperty(ctor, key, { value: Object.create(parent ?? null), enumerable: false, configurable: true });
  }
  return (ctor as unknown as Record<symbol, object>)[key];
}

function applyField(decorator: string, args: unknown[], mark: Mark): void {
  const [target, ctx] = args;
  if (isStandardContext(ctx)) {
    const context = ctx as ClassFieldDecoratorContext;
    if (context.kind !== 'field' && context.kind !== 'accessor') {
      throw new DeclarationError(`${decorator} decorates fields, not a ${context.kind} ("${String(context.name)}")`);
    }
    if (typeof context.name !== 'string' || context.static || context.private) {
      throw new DeclarationError(`${decorator} on "${String(context.name)}": entity fields must be public, non-static, named by a string`);
    }
    if (context.metadata === undefined) {
      throw new DeclarationError(`${decorator}: Symbol.metadata is missing; import 'shardorm' before declaring entities`);
    }
    mark(fieldDraft(context.metadata, context.name), '(class being defined)', context.name);
    return;
  }
  if (typeof target === 'object' && target !== null && (typeof ctx === 'string' || typeof ctx === 'symbol')) {
    const ctor = (target as { constructor: EntityClass }).constructor;
    if (typeof target === 'function' || typeof ctx !== 'string') {
      throw new DeclarationError(`${decorator} on ${ctor?.name}.${String(ctx)}: entity fields must be non-static and named by a string`);
    }
    mark(fieldDraft(legacyMetadata(ctor), ctx), ctor.name, ctx);
    return;
  }
  throw new DeclarationError(`${decorator} was called with unexpected arguments: use it as a property decorator`);
}

/** Builds a decorator usable bare (`@X`) and called (`@X()`): called with no args returns itself. */
function flagDecorator(decorator: string, mark: Mark) {
  function decorate(): FieldDecorator;
  function decorate(value: undefined, context: ClassFieldDecoratorContext): void;
  function decorate(target: object, propertyKey: string | symbol): void;
  function decorate(...args: unknown[]): FieldDecorator | void {
    if (args.length === 0) return ((...inner: unknown[]) => applyField(decorator, inner, mark)) as FieldDecorator;
    applyField(decorator, args, mark);
  }
  return decorate;
}

/** Marks the field whose value decides placement: equal shard keys live on the same shard. */
export const ShardKey = flagDecorator('@ShardKey', (d) => {
  d.shardKey = true;
  d.shardKeyCount = (d.shardKeyCount ?? 0) + 1;
});

/** Marks a primary-key field (several fields make a composite key, in declaration order). */
export const PrimaryKey = flagDecorator('@PrimaryKey', (d) => {
  d.primaryKey = true;
});

/** Marks the optimistic-concurrency counter: writes check it and increment it. */
export const Version = flagDecorator('@Version', (d) => {
  d.version = true;
});

/** Declares a field's Candid type (required on every stored field). */
export function Field<V = unknown>(type: IDL.Type, options?: FieldOptions<V>): FieldDecorator {
  if (type === undefined || type === null || typeof (type as { display?: unknown }).display !== 'function') {
    throw new DeclarationError(`@Field needs a Candid type such as IDL.Text (got ${String(type)}); import { IDL } from '@dfinity/candid'`);
  }
  return ((...args: unknown[]) =>
    applyField('@Field', args, (d, cls, field) => {
      if (d.type !== undefined) throw new DeclarationError(`${cls}.${field}: @Field applied twice; keep one`);
      d.type = type;
      d.options = options as FieldOptions | undefined;
    })) as FieldDecorator;
}

/** A secondary index, local to a shard key: `find(name, value, { shardKey })`. Default name: the field. */
export function Index(): FieldDecorator;
export function Index(name: string): FieldDecorator;
export function Index(value: undefined, context: ClassFieldDecoratorContext): void;
export function Index(target: object, propertyKey: string | symbol): void;
export function Index(...args: unknown[]): FieldDecorator | void {
  const named = (name: string | undefined): Mark => (d, _cls, field) => {
    d.index = name ?? field;
  };
  if (args.length === 0 || (args.length === 1 && typeof args[0] === 'string')) {
    const name = args[0] as string | undefined;
    return ((...inner: unknown[]) => applyField('@Index', inner, named(name))) as FieldDecorator;
  }
  applyField('@Index', args, named(undefined));
}

/** Declares an entity class stored in the named collection. */
export function ShardedCollection(options: CollectionOptions): EntityClassDecorator {
  return ((...args: unknown[]) => {
    const [ctor, ctx] = args as [EntityClass, unknown];
    if (typeof ctor !== 'function') throw new DeclarationError('@ShardedCollection decorates a class');
    let metadata: object;
    if (isStandardContext(ctx)) {
      if (ctx.kind !== 'class') throw new DeclarationError(`@ShardedCollection decorates a class, not a ${ctx.kind}`);
      if (ctx.metadata === undefined) {
        throw new DeclarationError(`@ShardedCollection on ${ctor.name}: Symbol.metadata is missing; import 'shardorm' before declaring entities`);
      }
      metadata = ctx.metadata;
    } else {
      metadata = legacyMetadata(ctor);
    }
    storeMetadata(ctor, buildMetadata(ctor, options, draftOf(metadata)));
  }) as EntityClassDecorator;
}
