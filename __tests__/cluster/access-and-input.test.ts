// Access policies evaluated on the owning shard against the original caller (also when a shard
// forwards), and bad input answered with typed errors that change nothing.
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { AccessDeniedError, Field, getEntityMetadata, MemoryCluster, PartitionError, PrimaryKey, rowAddress, ShardedCollection, ShardKey, ValidationError, type AccessRule } from 'shardorm';

const alice = Principal.fromUint8Array(new Uint8Array([1])).toText();
const bob = Principal.fromUint8Array(new Uint8Array([2])).toText();

const ownerOnly: AccessRule<Note> = (caller, next, stored) =>
  (stored === undefined || stored.owner.toText() === caller.toText()) && (next === undefined || next.owner.toText() === caller.toText());

@ShardedCollection({ name: 'ai_notes', access: { read: 'anyone', write: ownerOnly } })
class Note {
  @ShardKey @Field(IDL.Text) page!: string;
  @PrimaryKey @Field(IDL.Text) id!: string;
  @Field(IDL.Principal) owner!: Principal;
  @Field(IDL.Text) body!: string;
}

@ShardedCollection({ name: 'ai_secrets' })
class Secret {
  @ShardKey @Field(IDL.Text) id!: string;
  @Field(IDL.Text) value!: string;
}

const note = (id: string, owner: string, body = 'hi') => Object.assign(new Note(), { page: `p${id}`, id, owner: Principal.fromText(owner), body });

describe('access policies', () => {
  it('owner-only writes are enforced on the owning shard, also for requests entering elsewhere', async () => {
    const cluster = MemoryCluster.create({ shards: 4, entry: 'random', seed: 3 });
    const asAlice = cluster.repository(Note, { caller: alice });
    const asBob = cluster.repository(Note, { caller: bob });
    for (let i = 0; i < 20; i++) await asAlice.insert(note(`n${i}`, alice));
    for (let i = 0; i < 20; i++) {
      await expect(asBob.update({ page: `pn${i}`, id: `n${i}` }, { body: 'mine now' })).rejects.toThrow(AccessDeniedError);
      await expect(asBob.delete({ page: `pn${i}`, id: `n${i}` })).rejects.toThrow(/may not write Note/);
      await expect(asBob.upsert(note(`n${i}`, bob))).rejects.toThrow(AccessDeniedError);
      expect((await asBob.get({ page: `pn${i}`, id: `n${i}` }))?.body).toBe('hi'); // reads are open, nothing changed
    }
    expect(cluster.shardNodes().reduce((n, s) => n + s.stats.forwarded, 0)).toBeGreaterThan(0);
    await expect(asBob.insert(note('x', alice))).rejects.toThrow(AccessDeniedError); // cannot write in someone else's name
    expect((await asAlice.update({ page: 'pn1', id: 'n1' }, { body: 'edited' }))?.body).toBe('edited');
  });

  it("a collection without a policy is for the cluster's controllers only", async () => {
    const cluster = MemoryCluster.create();
    await cluster.repository(Secret).insert(Object.assign(new Secret(), { id: 'k', value: 'v' }));
    const stranger = cluster.repository(Secret, { caller: bob });
    await expect(stranger.get('k')).rejects.toThrow(/may not read Secret/);
    await expect(stranger.count()).rejects.toThrow(/only controllers/);
    await expect(stranger.insert(Object.assign(new Secret(), { id: 'z', value: 'v' }))).rejects.toThrow(AccessDeniedError);
    expect(await cluster.repository(Secret).count()).toBe(1);
  });
});

describe('bad input', () => {
  it('text with a lone surrogate is refused before it is stored or used as a key', async () => {
    const cluster = MemoryCluster.create();
    const repo = cluster.repository(Secret);
    await expect(repo.insert(Object.assign(new Secret(), { id: 'a\uD800', value: 'v' }))).rejects.toThrow(ValidationError);
    await expect(repo.insert(Object.assign(new Secret(), { id: 'ok', value: 'x\uDC00y' }))).rejects.toThrow(/lone UTF-16 surrogate/);
    await repo.insert(Object.assign(new Secret(), { id: 'a\uFFFD', value: 'v' })); // the character it would alias with
    await expect(repo.get('a\uD800')).rejects.toThrow(ValidationError);
    await repo.insert(Object.assign(new Secret(), { id: 'pair\uD83D\uDE00', value: 'ok' })); // a proper pair is fine
    expect(await repo.count()).toBe(2);
  });

  it('an op with a hash outside [0, 2^64) gets a typed error, not a trap', async () => {
    const cluster = MemoryCluster.create({ shards: 2 });
    cluster.repository(Secret);
    const addr = rowAddress(getEntityMetadata(Secret), 'k');
    const node = cluster.shardNodes()[0];
    const res = await node.handle({ ops: [{ kind: 'get', collection: 'ai_secrets', hash: 1n << 64n, key: addr.key }, { kind: 'get', collection: 'ai_secrets', hash: -1n, key: addr.key }], hops: 0 }, 'aaaaa-aa');
    expect(res.results.map((r) => r.kind === 'error' && r.error.code)).toEqual(['hash-out-of-range', 'hash-out-of-range']);
    expect(new PartitionError('hash-out-of-range', 'x')).toBeInstanceOf(Error);
  });
});
