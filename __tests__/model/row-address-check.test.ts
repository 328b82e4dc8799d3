// isRowAddressOf (the shard's check that a value belongs under its key) says yes exactly when
// rowAddress gives that key and hash, for text, principal and blob keys (NULs and non-ASCII
// included), and leaves other key types to rowAddress.
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import fc from 'fast-check';
import { Field, getEntityMetadata, PrimaryKey, rowAddress, ShardedCollection, ShardKey } from 'shardorm';
import { isRowAddressOf, MAX_REMEMBERED_SHARD_KEYS } from '../../lib/model/row-address-check.js';
import { rowPrefix } from '../../lib/model/entity-keys.js';

@ShardedCollection({ name: 'keyed' })
class Keyed {
  @ShardKey @Field(IDL.Text) page!: string;
  @PrimaryKey @Field(IDL.Principal) who!: Principal;
  @PrimaryKey @Field(IDL.Vec(IDL.Nat8)) tag!: Uint8Array;
}
@ShardedCollection({ name: 'numbered' })
class Numbered {
  @ShardKey @Field(IDL.Text) page!: string;
  @PrimaryKey @Field(IDL.Nat64) n!: bigint;
}

const text = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.constantFrom('', '\u0000', 'a\u0000b', 'ÿ\u00ff', '😀'));
const record = fc.record({ page: text, who: fc.uint8Array({ maxLength: 29 }).map((b) => Principal.fromUint8Array(b)), tag: fc.uint8Array({ maxLength: 6 }) });

test('yes for the key and hash rowAddress gives, no for any other key or hash', () => {
  const meta = getEntityMetadata(Keyed);
  fc.assert(
    fc.property(record, record, fc.nat(), (rec, other, flip) => {
      const { key, hash } = rowAddress(meta, rec);
      expect(isRowAddressOf(meta, rec, key, hash)).toBe(true);
      expect(isRowAddressOf(meta, rec, key.slice(), hash ^ 1n)).toBe(false);
      const wrong = key.slice();
      wrong[flip % wrong.length] ^= 0x01;
      expect(isRowAddressOf(meta, rec, wrong, hash)).toBe(false);
      const theirs = rowAddress(meta, other);
      const same = theirs.hash === hash && theirs.key.length === key.length && theirs.key.every((b, i) => b === key[i]);
      expect(isRowAddressOf(meta, rec, theirs.key, theirs.hash)).toBe(same);
    }),
    { numRuns: 500 },
  );
});

test('key types it does not cover, and values of the wrong type, are left to rowAddress', () => {
  const meta = getEntityMetadata(Numbered);
  const { key, hash } = rowAddress(meta, { page: 'p', n: 5n });
  expect(isRowAddressOf(meta, { page: 'p', n: 5n }, key, hash)).toBeUndefined();
  expect(isRowAddressOf(getEntityMetadata(Keyed), { page: 5, who: Principal.anonymous(), tag: new Uint8Array() }, key, hash)).toBeUndefined();
  expect(isRowAddressOf(getEntityMetadata(Keyed), { page: '\uD800', who: Principal.anonymous(), tag: new Uint8Array() }, key, hash)).toBeUndefined();
});

test('a shard key whose hash was computed before is not trusted with another hash', () => {
  const meta = getEntityMetadata(Keyed);
  const rec = { page: 'remembered', who: Principal.anonymous(), tag: new Uint8Array([1]) };
  const { key, hash } = rowAddress(meta, rec);
  expect(isRowAddressOf(meta, rec, key, hash)).toBe(true); // hashed, and remembered
  const prefixBytes = rowPrefix(meta).length;
  for (const wrong of [hash ^ 1n, hash ^ (1n << 63n), 0n]) {
    const forged = key.slice();
    new DataView(forged.buffer).setBigUint64(prefixBytes, wrong, false); // key and op agree on the wrong hash
    expect(isRowAddressOf(meta, rec, forged, wrong)).toBe(false);
  }
  const sibling = { ...rec, tag: new Uint8Array([2]) }; // same page: the remembered hash serves it
  const theirs = rowAddress(meta, sibling);
  expect(isRowAddressOf(meta, sibling, theirs.key, theirs.hash)).toBe(true);
  // Past its bound the memo starts again; answers stay the same.
  for (let i = 0; i <= MAX_REMEMBERED_SHARD_KEYS; i++) {
    const other = { ...rec, page: `page ${i}` };
    const at = rowAddress(meta, other);
    expect(isRowAddressOf(meta, other, at.key, at.hash)).toBe(true);
  }
  expect(isRowAddressOf(meta, rec, key, hash)).toBe(true);
});
