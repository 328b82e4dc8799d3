// Access policies (`access` in @ShardedCollection), evaluated on the owning shard against the
// original caller — the immediate caller for a direct call, the forwarded origin when a cluster
// member forwards. Kept apart from the executor so the rule is read in one place.
import { Principal } from '@dfinity/principal';
import { AccessDeniedError } from '../model/errors.js';
import { hydrate } from '../model/hydrate.js';
import type { PlainRecord } from '../model/codec.js';
import type { AccessRule, EntityMetadata } from '../model/metadata.js';

/** Who a shard is serving: the original caller and whether it controls the cluster. */
export interface RequestCaller {
  principal: string;
  controller: boolean;
}

function allowed(rule: AccessRule, meta: EntityMetadata, caller: RequestCaller, next: PlainRecord | undefined, stored: PlainRecord | undefined): boolean {
  if (rule === 'anyone') return true;
  if (rule === 'controllers') return caller.controller;
  if (caller.controller) return true; // controllers of the cluster may always administer the data
  const entity = (r: PlainRecord | undefined) => (r === undefined ? undefined : hydrate(meta, r));
  return rule(Principal.fromText(caller.principal), entity(next), entity(stored)) === true;
}

/** Throws AccessDeniedError unless `caller` may write `next` over `stored` (either may be absent). */
export function authorizeWrite(meta: EntityMetadata, caller: RequestCaller, next: PlainRecord | undefined, stored: PlainRecord | undefined): void {
  if (!allowed(meta.access.write, meta, caller, next, stored)) {
    throw new AccessDeniedError(`${caller.principal} may not write ${meta.className} here: its access.write rule refused (ask a controller of the cluster)`);
  }
}

/** Throws AccessDeniedError unless `caller` may read `stored`. */
export function authorizeRead(meta: EntityMetadata, caller: RequestCaller, stored: PlainRecord | undefined): void {
  if (!allowed(meta.access.read, meta, caller, undefined, stored)) {
    throw new AccessDeniedError(`${caller.principal} may not read ${meta.className}: its access.read rule refused (ask a controller of the cluster)`);
  }
}

/** Scans and counts cover many rows: a per-row read rule is not evaluated row by row. */
export function authorizeBulkRead(meta: EntityMetadata, caller: RequestCaller): void {
  const rule = meta.access.read;
  if (rule === 'anyone' || caller.controller) return;
  if (rule === 'controllers') throw new AccessDeniedError(`${caller.principal} may not read ${meta.className}: only controllers of the cluster may (access.read)`);
  throw new AccessDeniedError(`${meta.className} has a per-row access.read rule: scans, finds and counts are for controllers; read rows with get()`);
}

/** Whether a rule needs the stored row decoded (functions do; fixed rules don't). */
export function needsRows(rule: AccessRule): boolean {
  return typeof rule === 'function';
}
