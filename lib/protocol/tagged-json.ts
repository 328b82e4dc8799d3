// JSON that keeps bigints and byte arrays: what shards and the manager persist in their stable
// cells (small records saved whole). `{ "$n": "123" }` is a bigint, `{ "$b": "0a1b" }` bytes.
import { bytesToHex, hexToBytes } from '@noble/hashes/utils';

export function toTaggedJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => {
    if (typeof v === 'bigint') return { $n: v.toString() };
    if (v instanceof Uint8Array) return { $b: bytesToHex(v) };
    return v;
  });
}

export function fromTaggedJson<T>(text: string): T {
  return JSON.parse(text, (_k, v) => {
    if (v !== null && typeof v === 'object') {
      if (typeof v.$n === 'string') return BigInt(v.$n);
      if (typeof v.$b === 'string') return hexToBytes(v.$b);
    }
    return v;
  }) as T;
}
