import { IDL } from '@dfinity/candid';
import {
  DeclarationError,
  EntityRegistry,
  Field,
  getEntityMetadata,
  Index,
  MAX_COLLECTIONS,
  PrimaryKey,
  ShardedCollection,
  ShardKey,
  Version,
} from 'shardorm';

describe('standard (TC39) decorators', () => {
  @ShardedCollection({ name: 'dec_snippets', version: 2 })
  class Snippet {
    @ShardKey @Field(IDL.Text) pageId!: string;
    @PrimaryKey() @Field(IDL.Text) id!: string;
    @Index @Field(IDL.Text) author!: string;
    @Field(IDL.Opt(IDL.Nat64)) editedAt?: bigint;
    @Version @Field(IDL.Nat64) version!: bigint;
    @Field(IDL.Text, { default: 'untitled' }) title!: string;
  }

  it('records shard key, primary key, index, version and options', () => {
    const m = getEntityMetadata(Snippet);
    expect(m.name).toBe('dec_snippets');
    expect(m.className).toBe('Snippet');
    expect(m.version).toBe(2);
    expect(m.shardKey.name).toBe('pageId');
    expect(m.primaryKey.map((f) => f.name)).toEqual(['id']);
    expect(m.keyFields.map((f) => f.name)).toEqual(['pageId', 'id']);
    expect(m.indexes.map((i) => [i.name, i.field.name])).toEqual([['author', 'author']]);
    expect(m.versionField?.name).toBe('version');
    expect(m.fieldByName.get('editedAt')?.optional).toBe(true);
    expect(m.fieldByName.get('title')?.hasDefault).toBe(true);
    expect(m.fieldByName.get('title')?.defaultValue()).toBe('untitled');
  });

  it('supports composite primary keys, and the shard key alone as the key', () => {
    @ShardedCollection({ name: 'dec_composite' })
    class Msg {
      @ShardKey() @Field(IDL.Principal) chat!: unknown;
      @PrimaryKey @Field(IDL.Nat64) day!: bigint;
      @PrimaryKey @Field(IDL.Nat32) seq!: number;
      @Index('byTag') @Field(IDL.Text) tag!: string;
    }
    @ShardedCollection({ name: 'dec_user' })
    class User {
      @ShardKey @Field(IDL.Text) userId!: string;
      @Field(IDL.Text) name!: string;
    }
    expect(getEntityMetadata(Msg).keyFields.map((f) => f.name)).toEqual(['chat', 'day', 'seq']);
    expect(getEntityMetadata(Msg).indexes[0].name).toBe('byTag');
    expect(getEntityMetadata(User).keyFields.map((f) => f.name)).toEqual(['userId']);
  });

  it('subclasses inherit the parent fields', () => {
    class Base {
      @ShardKey @Field(IDL.Text) tenant!: string;
    }
    @ShardedCollection({ name: 'dec_child' })
    class Child extends Base {
      @PrimaryKey @Field(IDL.Nat32) n!: number;
    }
    expect(getEntityMetadata(Child).keyFields.map((f) => f.name)).toEqual(['tenant', 'n']);
  });
});

describe('declaration mistakes name the class and field', () => {
  it('no shard key', () => {
    expect(() => {
      @ShardedCollection({ name: 'dec_err1' })
      class NoShardKey {
        @PrimaryKey @Field(IDL.Text) id!: string;
      }
      return NoShardKey;
    }).toThrow(/NoShardKey: no @ShardKey field/);
  });

  it('two shard keys', () => {
    expect(() => {
      @ShardedCollection({ name: 'dec_err2' })
      class TwoKeys {
        @ShardKey @Field(IDL.Text) a!: string;
        @ShardKey @Field(IDL.Text) b!: string;
      }
      return TwoKeys;
    }).toThrow(/TwoKeys: two shard keys, "a" and "b"/);
  });

  it('a key field without a Candid type', () => {
    const attempt = () => {
      @ShardedCollection({ name: 'dec_err3' })
      class Untyped {
        @ShardKey @Field(IDL.Text) a!: string;
        @PrimaryKey id!: string;
      }
      return Untyped;
    };
    expect(attempt).toThrow(DeclarationError);
    expect(attempt).toThrow(/Untyped: field "id" has @PrimaryKey but no Candid type/);
  });

  it('a key field of a type that cannot be a key', () => {
    expect(() => {
      @ShardedCollection({ name: 'dec_err4' })
      class FloatKey {
        @ShardKey @Field(IDL.Float64) x!: number;
      }
      return FloatKey;
    }).toThrow(/FloatKey\.x: a shard key field cannot have Candid type float64/);
  });

  it('duplicate collection names at registration', () => {
    @ShardedCollection({ name: 'dec_dup' })
    class First {
      @ShardKey @Field(IDL.Text) a!: string;
    }
    @ShardedCollection({ name: 'dec_dup' })
    class Second {
      @ShardKey @Field(IDL.Text) a!: string;
    }
    const registry = new EntityRegistry([First]);
    expect(registry.register(First)).toBe(getEntityMetadata(First)); // idempotent
    expect(() => registry.register(Second)).toThrow(/duplicate collection name "dec_dup": classes First and Second/);
  });

  it('at most MAX_COLLECTIONS collections, whether added by register() or upgrade()', () => {
    const entity = (name: string) => {
      @ShardedCollection({ name })
      class E {
        @ShardKey @Field(IDL.Text) a!: string;
      }
      return E;
    };
    const registry = new EntityRegistry(Array.from({ length: MAX_COLLECTIONS }, (_, i) => entity(`dec_many_${i}`)));
    expect(registry.names()).toHaveLength(MAX_COLLECTIONS);
    expect(() => registry.register(entity('dec_many_x'))).toThrow(/more than MAX_COLLECTIONS \(256\) collections/);
    expect(() => registry.upgrade(entity('dec_many_y'))).toThrow(/more than MAX_COLLECTIONS \(256\) collections/);
    expect(registry.find('dec_many_y')).toBeUndefined();
  });

  it('bad collection names and undecorated classes', () => {
    expect(() => {
      @ShardedCollection({ name: 'has space' })
      class Bad {
        @ShardKey @Field(IDL.Text) a!: string;
      }
      return Bad;
    }).toThrow(/Bad: collection name "has space"/);
    class Plain {}
    expect(() => getEntityMetadata(Plain)).toThrow(/Plain is not an entity/);
  });
});

describe('legacy experimentalDecorators call form', () => {
  it('builds the same metadata when decorators are called as (prototype, key) and (ctor)', () => {
    class Legacy {
      tenant!: string;
      id!: bigint;
      rev!: bigint;
      note?: string;
      hello(): string {
        return `hi ${this.tenant}`;
      }
    }
    const proto = Legacy.prototype;
    // What tsc emits with experimentalDecorators: __decorate([ShardKey, Field(...)], proto, 'tenant').
    Field(IDL.Text)(proto, 'tenant');
    ShardKey(proto, 'tenant');
    Field(IDL.Nat)(proto, 'id');
    PrimaryKey()(proto, 'id');
    Field(IDL.Nat64)(proto, 'rev');
    Version(proto, 'rev');
    Field(IDL.Opt(IDL.Text))(proto, 'note');
    Index('byNote')(proto, 'note');
    expect(() => getEntityMetadata(Legacy)).toThrow(/not an entity/);
    ShardedCollection({ name: 'dec_legacy' })(Legacy);
    const m = getEntityMetadata(Legacy);
    expect(m.keyFields.map((f) => f.name)).toEqual(['tenant', 'id']);
    expect(m.versionField?.name).toBe('rev');
    expect(m.indexes[0]).toMatchObject({ name: 'byNote' });
    expect(m.fieldByName.get('note')?.optional).toBe(true);
  });

  it('reports legacy declaration mistakes with class and field', () => {
    class LegacyBad {
      a!: string;
    }
    PrimaryKey(LegacyBad.prototype, 'a');
    expect(() => ShardedCollection({ name: 'dec_legacy_bad' })(LegacyBad)).toThrow(/LegacyBad: field "a" has @PrimaryKey but no Candid type/);
  });
});
