// A shard's part of a rolling upgrade (lib/manager/rollout.ts drives it): after the new module is
// installed, `upgrade_rows` rewrites rows written by an older entity version with the entity's
// upgrade hook (lib/shard/executor.ts upgradeRows), a bounded batch per call behind a cursor the
// manager keeps; and post_upgrade refuses a module that no longer declares a collection this
// shard still stores (those rows would become unreadable), which traps the upgrade so the IC
// keeps the old module and its state.
import { ValidationError } from '../model/errors.js';
import type { EntityRegistry } from '../model/registry.js';
import { MAX_COLLECTIONS } from '../model/registry.js';
import type { OrderedKv } from '../repository/store.js';
import { upgradeRows, type ShardContext } from '../shard/executor.js';
import type { RewriteCursor } from '../manager/rollout.js';

/** Rows one `upgrade_rows` call looks at (each rewritten one costs a decode and an encode). */
export const UPGRADE_ROWS_PER_CALL = 256;

export type { RewriteCursor };

/**
 * One bounded step of the schema rewrite over every collection, in name order: at most one page
 * of UPGRADE_ROWS_PER_CALL rows of one collection. An empty `after` starts a collection from its
 * first row; `next` undefined: every collection is done.
 */
export function upgradeRowsStep(ctx: ShardContext, registry: EntityRegistry, cursor: RewriteCursor | undefined): { next?: RewriteCursor; rewritten: number } {
  const names = registry.names().sort();
  const i = cursor === undefined ? 0 : names.indexOf(cursor.collection);
  if (i < 0) throw new ValidationError(`upgrade_rows: this module has no collection "${cursor!.collection}" to continue in; start again without a cursor`);
  const after = cursor === undefined || cursor.after.length === 0 ? undefined : cursor.after;
  const step = upgradeRows(ctx, registry.get(names[i]), after, UPGRADE_ROWS_PER_CALL);
  if (step.next !== undefined) return { next: { collection: names[i], after: step.next }, rewritten: step.rewritten };
  return i + 1 < names.length ? { next: { collection: names[i + 1], after: new Uint8Array(0) }, rewritten: step.rewritten } : { rewritten: step.rewritten };
}

/** The collections this store holds keys of (one seek per collection: keys start with `name 0x00`). */
export function storedCollections(kv: OrderedKv): string[] {
  const names: string[] = [];
  let lo = new Uint8Array(0);
  const hi = Uint8Array.of(0xff);
  for (let n = 0; n <= MAX_COLLECTIONS; n++) {
    const [first] = kv.range(lo, hi, 1);
    if (first === undefined) return names;
    const end = first[0].indexOf(0);
    if (end <= 0) throw new Error(`storedCollections: a storage key without a collection name (${first[0].length} bytes)`);
    names.push(String.fromCharCode(...first[0].subarray(0, end)));
    lo = Uint8Array.of(...first[0].subarray(0, end), 0x01); // past every key of that collection
  }
  throw new Error(`storedCollections: more than ${MAX_COLLECTIONS} collections in one store`);
}

/** Traps the upgrade (post_upgrade) when the new module would orphan stored rows. */
export function assertCollectionsDeclared(kv: OrderedKv, registry: EntityRegistry): void {
  const orphaned = storedCollections(kv).filter((name) => registry.find(name) === undefined);
  if (orphaned.length > 0) {
    throw new ValidationError(
      `this shard stores rows of ${orphaned.map((n) => `"${n}"`).join(', ')}, which the new module does not declare: ` +
        'keep the entity class in shardCanister({ entities }) (or delete its rows first); the upgrade was refused and the shard keeps its old module',
    );
  }
}
