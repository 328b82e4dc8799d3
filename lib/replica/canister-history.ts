// A canister's history, as the IC keeps it for `canister_info`: every creation, code deployment,
// uninstall, controllers change and snapshot load, with who made it and the canister version after
// it. Only the most recent MAX_HISTORY_CHANGES are kept; the total count goes on.
import type { Principal } from '@dfinity/principal';

/** Changes kept per canister (the IC keeps 20). */
export const MAX_HISTORY_CHANGES = 20;
/** Bytes a change is accounted as in canister_status (a fixed part plus its principals and hashes). */
const CHANGE_BASE_BYTES = 64;
const PRINCIPAL_BYTES = 29;

export type ChangeOrigin = { kind: 'user'; id: Principal } | { kind: 'canister'; id: Principal; version?: bigint };

export type ChangeDetails =
  | { kind: 'creation'; controllers: Principal[] }
  | { kind: 'code_uninstall' }
  | { kind: 'code_deployment'; mode: 'install' | 'reinstall' | 'upgrade'; moduleHash: Uint8Array }
  | { kind: 'load_snapshot'; canisterVersion: bigint; snapshotId: Uint8Array; takenAt: bigint }
  | { kind: 'controllers_change'; controllers: Principal[] };

export interface CanisterChange {
  timestampNanos: bigint;
  /** The canister's version after the change. */
  canisterVersion: bigint;
  origin: ChangeOrigin;
  details: ChangeDetails;
}

export class CanisterHistory {
  #total = 0n;
  #recent: CanisterChange[] = [];
  #bytes = 0;

  add(change: CanisterChange): void {
    this.#total++;
    this.#recent.push(change);
    this.#bytes += changeBytes(change);
    if (this.#recent.length > MAX_HISTORY_CHANGES) this.#bytes -= changeBytes(this.#recent.shift()!);
  }

  get totalChanges(): bigint {
    return this.#total;
  }

  /** The most recent `n` changes, oldest first. */
  recent(n: number): CanisterChange[] {
    return n <= 0 ? [] : this.#recent.slice(-n);
  }

  /** What canister_status counts as canister_history_size. */
  get memoryBytes(): number {
    return this.#bytes;
  }
}

function changeBytes(change: CanisterChange): number {
  const d = change.details;
  const extra = d.kind === 'creation' || d.kind === 'controllers_change' ? d.controllers.length * PRINCIPAL_BYTES : d.kind === 'code_deployment' ? d.moduleHash.length : d.kind === 'load_snapshot' ? d.snapshotId.length + 16 : 0;
  return CHANGE_BASE_BYTES + PRINCIPAL_BYTES + extra;
}

/** The change as the management canister's `change` Candid record. */
export function changeRecord(change: CanisterChange): Record<string, unknown> {
  const o = change.origin;
  const origin = o.kind === 'user' ? { from_user: { user_id: o.id } } : { from_canister: { canister_id: o.id, canister_version: o.version === undefined ? [] : [o.version] } };
  const d = change.details;
  const details =
    d.kind === 'creation'
      ? { creation: { controllers: d.controllers, environment_variables_hash: [] } }
      : d.kind === 'code_uninstall'
        ? { code_uninstall: null }
        : d.kind === 'code_deployment'
          ? { code_deployment: { mode: { [d.mode]: null }, module_hash: d.moduleHash } }
          : d.kind === 'load_snapshot'
            ? { load_snapshot: { canister_version: d.canisterVersion, snapshot_id: d.snapshotId, taken_at_timestamp: d.takenAt, source: { taken_from_canister: null }, from_canister_id: [] } }
            : { controllers_change: { controllers: d.controllers } };
  return { timestamp_nanos: change.timestampNanos, canister_version: change.canisterVersion, origin, details };
}
