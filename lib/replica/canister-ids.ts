// Canister ids of the replica's one subnet: `<u64 big-endian>·0x01·0x01`, the shape of the IC's
// canister id ranges. Ids outside this range have no route (a call to one is rejected with code 3).
import { Principal } from '@dfinity/principal';

const ID_BYTES = 10;

const texts = new WeakMap<Principal, string>();

/** A principal's text form, computed once per Principal object: toText runs base32 and a CRC every time, and the engine asks per message. */
export function idText(id: Principal): string {
  let text = texts.get(id);
  if (text === undefined) texts.set(id, (text = id.toText()));
  return text;
}

/** The `index`-th canister id of the subnet's range. */
export function canisterIdAt(index: bigint): Principal {
  const bytes = new Uint8Array(ID_BYTES);
  new DataView(bytes.buffer).setBigUint64(0, index);
  bytes[8] = 1;
  bytes[9] = 1;
  return Principal.fromUint8Array(bytes);
}

/** Whether the subnet's canister range holds `id`. */
export function inSubnetRange(id: Principal): boolean {
  const bytes = id.toUint8Array();
  return bytes.length === ID_BYTES && bytes[8] === 1 && bytes[9] === 1;
}
