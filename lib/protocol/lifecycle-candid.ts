// The Candid of a shard's part in its cluster's lifecycle beyond migrations: a rolling upgrade
// (`upgrade_rows`, driven by the manager, lib/manager/rollout.ts) and a clone's rebinding
// (`rebind_shard`, lib/canister/rebind.ts). Its own file, importing only IDL, so both the shard
// interface (candid.ts) and the manager's (manager-candid.ts) can use it without a cycle.
import { IDL } from '@dfinity/candid';

/** Where a shard's schema rewrite continues: a collection and the last row key rewritten (empty: its first row). */
export const RewriteCursorIdl = IDL.Record({ collection: IDL.Text, after: IDL.Vec(IDL.Nat8) });
/** What one `upgrade_rows` call did: rows rewritten by the upgrade hooks, and where to continue (none: done). */
export const RewriteProgressIdl = IDL.Record({ next: IDL.Opt(RewriteCursorIdl), rewritten: IDL.Nat32 });

/** A restored shard's new identity in its clone: the map with every shard id renamed, and the clone's manager. */
export const RebindShardIdl = IDL.Record({ map: IDL.Text, manager: IDL.Principal });
/** Old canister id → the fresh canister its snapshot was restored onto. */
export const RenamesIdl = IDL.Vec(IDL.Record({ from: IDL.Principal, to: IDL.Principal }));
