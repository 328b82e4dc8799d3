// The two small stable structures a shard keeps beside its rows: the delta log of a migration
// source and the shard's state cell (map, migration, settings). Both are raw-bytes
// StableBTreeMaps (stableByteMap), so they survive upgrades and snapshot loads exactly as the
// rows do, and a snapshot clone carries them to the target.
//
// Memory ids (inside ShardORM's reserved 200–219, see stable-store.ts; the rows use 200–203):
//   210  delta log   be64(seq) → entry
//   211  state cell  [0] → UTF-8 JSON of encodeState(ShardState)
import type { DeltaEntry } from '../protocol/housekeeping.js';
import type { DeltaLogStore } from '../shard/delta-log.js';
import { decodeState, encodeState, type ShardState, type StateCell } from '../shard/state.js';
import { stableByteMap } from './stable-store.js';

export const DELTA_LOG_MEMORY_ID = 210;
export const STATE_CELL_MEMORY_ID = 211;

const STATE_KEY = Uint8Array.of(0);
const TOMBSTONE = 0;
const VALUE = 1;

function seqKey(seq: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, seq);
  return out;
}

/** Entry bytes: be32(key length) ‖ key ‖ flag (0 tombstone, 1 value) ‖ value. */
export function encodeDeltaEntry(e: DeltaEntry): Uint8Array {
  const value = e.value ?? new Uint8Array(0);
  const out = new Uint8Array(4 + e.key.length + 1 + value.length);
  new DataView(out.buffer).setUint32(0, e.key.length);
  out.set(e.key, 4);
  out[4 + e.key.length] = e.value === undefined ? TOMBSTONE : VALUE;
  out.set(value, 5 + e.key.length);
  return out;
}

export function decodeDeltaEntry(seq: bigint, bytes: Uint8Array): DeltaEntry {
  const keyLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  const key = bytes.slice(4, 4 + keyLength);
  const flag = bytes[4 + keyLength];
  if (flag !== VALUE && flag !== TOMBSTONE) throw new Error(`delta log entry ${seq} is corrupted (flag ${flag})`);
  return flag === VALUE ? { seq, key, value: bytes.slice(5 + keyLength) } : { seq, key };
}

/** The delta log in stable memory. Call once per canister (at module load). */
export function stableDeltaLog(memoryId = DELTA_LOG_MEMORY_ID): DeltaLogStore {
  const map = stableByteMap(memoryId);
  return {
    get: (seq) => {
      const bytes = map.get(seqKey(seq));
      return bytes === undefined ? undefined : decodeDeltaEntry(seq, bytes);
    },
    put: (entry) => void map.insert(seqKey(entry.seq), encodeDeltaEntry(entry)),
    delete: (seq) => void map.remove(seqKey(seq)),
  };
}

/** The shard state cell in stable memory. Call once per canister (at module load). */
export function stableStateCell(memoryId = STATE_CELL_MEMORY_ID): StateCell {
  const map = stableByteMap(memoryId);
  return {
    load: (): ShardState | undefined => {
      const bytes = map.get(STATE_KEY);
      return bytes === undefined ? undefined : decodeState(new TextDecoder().decode(bytes));
    },
    save: (state) => void map.insert(STATE_KEY, new TextEncoder().encode(encodeState(state))),
  };
}
