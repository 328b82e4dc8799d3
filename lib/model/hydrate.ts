// Plain record -> real class instance. We use Object.create(prototype) + assignment rather than
// class-transformer's plainToInstance: it does not run the constructor (entities may take
// required constructor arguments, and constructors with side effects must not run on every read),
// it adds nothing to the canister bundle (class-transformer is ~400 KB of source and wants
// reflect-metadata for nested types, which Candid already describes), and it behaves identically
// in QuickJS. Field initializers do not run either; @Field({ default }) covers defaults.
import type { EntityMetadata } from './metadata.js';
import type { PlainRecord } from './codec.js';

export function hydrate<T>(meta: EntityMetadata<T>, record: PlainRecord): T {
  const instance = Object.create(meta.ctor.prototype as object) as Record<string, unknown>;
  for (const f of meta.fields) {
    const v = record[f.name];
    if (v !== undefined || f.optional) instance[f.name] = v;
  }
  return instance as T;
}

/** The stored fields of an entity as a plain object (what codecs and patches consume). */
export function toRecord(meta: EntityMetadata, entity: object): PlainRecord {
  const src = entity as PlainRecord;
  const out: PlainRecord = {};
  for (const f of meta.fields) out[f.name] = src[f.name];
  return out;
}
