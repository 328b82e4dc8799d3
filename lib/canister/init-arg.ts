// The install (and upgrade) argument of a ShardORM canister, and the shard state it starts from.
//
//   opt record {
//     role: variant { shard; manager };
//     map: text;                 // PartitionerJSON of the cluster (RangePartitioner or AnchorHash)
//     manager: opt principal;    // the manager canister, trusted for housekeeping
//     settings: record { max_shard_bytes: nat64; max_shard_memory_bytes: nat64; min_shard_bytes: nat64 };
//   }
//
// Absent (`null` / no argument bytes at all): a single-shard cluster — this canister owns the whole
// hash range, has no manager, and never asks for splits. On upgrade the persisted state wins: the
// argument's map is ignored (maps only move forward through cutover and adopt_map), its
// settings and manager replace the stored ones when given.
import { IDL } from '@dfinity/candid';
import type { Principal } from '@dfinity/principal';
import { ValidationError } from '../model/errors.js';
import { partitionerFromJSON, RangePartitioner, type ShardId } from '../partition/index.js';
import { parseMap } from '../protocol/candid.js';
import { InitArgIdl, RoleIdl } from '../protocol/manager-candid.js';
import type { ShardSettings, ShardState } from '../shard/state.js';

export { InitArgIdl, RoleIdl };

export interface SettingsCandid {
  max_shard_bytes: bigint;
  max_shard_memory_bytes: bigint;
  min_shard_bytes: bigint;
}

export interface InitArgCandid {
  role: { shard: null } | { manager: null };
  map: string;
  manager: [] | [Principal];
  settings: SettingsCandid;
}

/** The install argument from raw bytes: none, `()` and `(null)` all mean "absent". Bad bytes trap the install. */
export function decodeInitArg(bytes: Uint8Array): InitArgCandid | undefined {
  if (bytes.length === 0) return undefined;
  let decoded: unknown[];
  try {
    decoded = IDL.decode([InitArgIdl], bytes);
  } catch (e) {
    if (IDL.decode([], bytes).length === 0) return undefined; // `()`: no argument at all
    throw e;
  }
  return (decoded[0] as [] | [InitArgCandid])[0];
}

/** Settings of a canister installed without an argument: never split or merge on its own. */
export const NO_TRIGGERS: ShardSettings = { maxShardBytes: 0, maxShardMemoryBytes: 0, minShardBytes: 0 };

export function settingsFromCandid(s: SettingsCandid): ShardSettings {
  const n = (v: bigint, name: string): number => {
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ValidationError(`${name} ${v} is above 2^53 - 1 bytes: pass a smaller limit`);
    return Number(v);
  };
  return { maxShardBytes: n(s.max_shard_bytes, 'max_shard_bytes'), maxShardMemoryBytes: n(s.max_shard_memory_bytes, 'max_shard_memory_bytes'), minShardBytes: n(s.min_shard_bytes, 'min_shard_bytes') };
}

export function settingsToCandid(s: ShardSettings): SettingsCandid {
  return { max_shard_bytes: BigInt(s.maxShardBytes), max_shard_memory_bytes: BigInt(s.maxShardMemoryBytes), min_shard_bytes: BigInt(s.minShardBytes) };
}

/**
 * The state a fresh shard `self` starts from. The map need not name `self`: the target of a split
 * or merge is installed with the current map and owns nothing until its cutover.
 */
export function initialState(self: ShardId, arg: InitArgCandid | undefined): ShardState {
  if (arg === undefined) return { map: RangePartitioner.even([self]).toJSON(), settings: NO_TRIGGERS };
  if ('manager' in arg.role) throw new ValidationError('a manager has no shard state: initialState is for the shard role');
  const map = parseMap(arg.map);
  partitionerFromJSON(map); // validates the whole structure
  const manager = arg.manager[0]?.toText();
  return { map, settings: settingsFromCandid(arg.settings), ...(manager === undefined ? {} : { manager }) };
}
