// The sequential specification the checker holds a history against: one key of a ShardORM
// collection is a register that is absent or holds one record. These rules restate the
// repository's documented semantics (lib/repository/repository.ts, executor.ts) on recorded JSON:
// insert conflicts when present; update of an absent key returns undefined and changes nothing;
// with @Version, insert stores 1, every write adds 1, an upsert with a non-zero version and an
// update whose patch carries the version must match the stored one or conflict.
import type { CollectionInfo } from './history.js';
import { bigIntToJson, jsonToBigInt, type Json, type JsonObject } from './values.js';

/** A single-key operation as the model sees it (inputs only; the checker compares the outputs). */
export type RegisterOp =
  | { kind: 'get' }
  | { kind: 'delete' }
  | { kind: 'insert'; entity: JsonObject }
  | { kind: 'upsert'; entity: JsonObject }
  | { kind: 'update'; patch: Patch };

/** A recorded patch: fields set, and optional fields cleared (set to undefined). */
export interface Patch {
  set: JsonObject;
  unset: string[];
}

export type RegisterState = JsonObject | null;

/** What one op does in one state: a conflict (nothing changes), or a next state and the return value. */
export type Step = { conflict: true } | { conflict: false; next: RegisterState; result: Json };

export function applyRegisterOp(info: CollectionInfo, state: RegisterState, op: RegisterOp): Step {
  const vf = info.versionField;
  const version = (rec: JsonObject | null): bigint => (rec === null || vf === undefined ? 0n : jsonToBigInt(rec[vf.name]));
  const stamp = (rec: JsonObject, n: bigint): JsonObject => (vf === undefined ? rec : { ...rec, [vf.name]: bigIntToJson(n, vf.bigint) });
  switch (op.kind) {
    case 'get':
      return { conflict: false, next: state, result: state };
    case 'delete':
      return { conflict: false, next: null, result: state !== null };
    case 'insert': {
      if (state !== null) return { conflict: true };
      const next = stamp(op.entity, 1n);
      return { conflict: false, next, result: next };
    }
    case 'upsert': {
      const supplied = version(op.entity);
      if (state !== null && supplied !== 0n && supplied !== version(state)) return { conflict: true };
      const next = stamp(op.entity, version(state) + 1n);
      return { conflict: false, next, result: next };
    }
    case 'update': {
      if (state === null) return { conflict: false, next: null, result: null };
      if (vf !== undefined && vf.name in op.patch.set && jsonToBigInt(op.patch.set[vf.name]) !== version(state)) return { conflict: true };
      const merged: JsonObject = { ...state, ...op.patch.set };
      for (const f of op.patch.unset) delete merged[f];
      const next = stamp(merged, version(state) + 1n);
      return { conflict: false, next, result: next };
    }
  }
}

