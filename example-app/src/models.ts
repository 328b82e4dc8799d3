// The snippets board's data model, shared by the shard canister (example-app/src/backend), the
// client and the web page: one file, three runtimes. Snippets of a page live on one shard (pageId
// is the shard key); anyone reads, only a snippet's owner writes it.
import { IDL } from '@dfinity/candid';
import type { Principal } from '@dfinity/principal';
import { Field, PrimaryKey, ShardedCollection, ShardKey, type AccessRule } from 'shardorm';

/** Writes only by the owner: a new snippet must name its writer as owner, an existing one keeps it. */
export const ownerOnly: AccessRule<Snippet> = (caller, next, stored) =>
  (stored === undefined || stored.owner.toText() === caller.toText()) && (next === undefined || next.owner.toText() === caller.toText());

@ShardedCollection({ name: 'snippets', access: { read: 'anyone', write: ownerOnly } })
export class Snippet {
  @ShardKey @Field(IDL.Text) pageId!: string;
  @PrimaryKey @Field(IDL.Text) id!: string;
  @Field(IDL.Text) body!: string;
  @Field(IDL.Principal) owner!: Principal;
  @Field(IDL.Nat64) createdAt!: bigint;
  @Field(IDL.Opt(IDL.Nat64)) editedAt?: bigint;
}
