// The entity classes a node (canister, client, MemoryCluster) knows, by collection name. Every
// shard runs the same code, so each builds the same registry; a request naming a collection that
// is not registered gets UnknownCollectionError.
import { DeclarationError, UnknownCollectionError } from './errors.js';
import { getEntityMetadata } from './metadata.js';
import type { EntityClass, EntityMetadata } from './metadata.js';

/** Upper bound on collections per registry (each is a keyspace on every shard). */
export const MAX_COLLECTIONS = 256;

export class EntityRegistry {
  private readonly byName = new Map<string, EntityMetadata>();

  constructor(entities: readonly EntityClass[] = []) {
    for (const e of entities) this.register(e);
  }

  /** Registers an entity class; a second class with the same collection name is a mistake. */
  register<T>(ctor: EntityClass<T>): EntityMetadata<T> {
    const meta = getEntityMetadata(ctor);
    const existing = this.byName.get(meta.name);
    if (existing !== undefined) {
      if (existing === meta) return meta;
      throw new DeclarationError(
        `duplicate collection name "${meta.name}": classes ${existing.className} and ${meta.className} both use it; ` +
          'rename one, or, for a new version of the same entity, bump version and call upgrade()',
      );
    }
    if (this.byName.size >= MAX_COLLECTIONS) {
      throw new DeclarationError(`more than MAX_COLLECTIONS (${MAX_COLLECTIONS}) collections: merge some entities`);
    }
    this.byName.set(meta.name, meta);
    return meta;
  }

  /** Replaces a collection's class by a newer version of it (rolling upgrade). */
  upgrade<T>(ctor: EntityClass<T>): EntityMetadata<T> {
    const meta = getEntityMetadata(ctor);
    const existing = this.byName.get(meta.name);
    if (existing === undefined) return this.register(ctor); // a new collection counts against MAX_COLLECTIONS
    if (meta.version <= existing.version && existing !== meta) {
      throw new DeclarationError(
        `${meta.className} (version ${meta.version}) cannot upgrade "${meta.name}" from version ${existing.version}: bump version`,
      );
    }
    this.byName.set(meta.name, meta);
    return meta;
  }

  get(name: string): EntityMetadata {
    const meta = this.byName.get(name);
    if (meta === undefined) {
      throw new UnknownCollectionError(
        `unknown collection "${name}": register its entity class on every shard (same code everywhere) before using it`,
      );
    }
    return meta;
  }

  /** The registered metadata of a collection, or undefined. */
  find(name: string): EntityMetadata | undefined {
    return this.byName.get(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }
}
