// The Candid of a shard's part in a rolling upgrade (`upgrade_rows`, served by every shard and
// driven by the manager, lib/manager/rollout.ts). Its own file, importing only IDL, so both the
// shard interface (candid.ts) and the manager's (manager-candid.ts) can use it without a cycle.
import { IDL } from '@dfinity/candid';

/** Where a shard's schema rewrite continues: a collection and the last row key rewritten (empty: its first row). */
export const RewriteCursorIdl = IDL.Record({ collection: IDL.Text, after: IDL.Vec(IDL.Nat8) });
/** What one `upgrade_rows` call did: rows rewritten by the upgrade hooks, and where to continue (none: done). */
export const RewriteProgressIdl = IDL.Record({ next: IDL.Opt(RewriteCursorIdl), rewritten: IDL.Nat32 });
