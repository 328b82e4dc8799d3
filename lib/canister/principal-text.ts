// A principal's text form costs ~810,000 instructions to compute in QuickJS (CRC-32 and base32 in
// JS: Principal.toText) and parsing one ~1,300,000 (Principal.fromText re-encodes to check the
// checksum), and a shard converts the same few principals on every message: its caller (to serve
// and to ask is_controller), the owner of every row an access rule reads. Installed in a canister,
// this keeps both conversions in a bounded cache keyed by the exact bytes or text, so each distinct
// principal is converted once. Results are the same functions' results; a full cache is emptied.
import { Principal } from '@dfinity/principal';

/** Distinct principals remembered per direction before the cache is emptied. */
export const MAX_CACHED_PRINCIPALS = 1024;

type PrincipalStatics = { fromText(text: string): Principal };

/** Replaces Principal.prototype.toText and Principal.fromText with cached forms (in a canister; once). */
export function installPrincipalTextCache(target: typeof Principal = Principal): void {
  const proto = target.prototype as { toText(): string; shardormCached?: boolean };
  if (proto.shardormCached) return;
  const toText = proto.toText;
  const fromText = (target as unknown as PrincipalStatics).fromText;
  const texts = new Map<string, string>();
  const parsed = new Map<string, Uint8Array>();
  Object.defineProperty(proto, 'shardormCached', { value: true });
  proto.toText = function cachedToText(this: Principal): string {
    const bytes = this.toUint8Array();
    const key = String.fromCharCode.apply(null, bytes as unknown as number[]);
    let text = texts.get(key);
    if (text === undefined) {
      text = toText.call(this);
      if (texts.size >= MAX_CACHED_PRINCIPALS) texts.clear();
      texts.set(key, text);
    }
    return text;
  };
  (target as unknown as PrincipalStatics).fromText = function cachedFromText(text: string): Principal {
    let bytes = typeof text === 'string' ? parsed.get(text) : undefined;
    if (bytes === undefined) {
      const p = fromText.call(target, text); // throws on a malformed text, as before
      if (typeof text !== 'string') return p;
      bytes = p.toUint8Array().slice();
      if (parsed.size >= MAX_CACHED_PRINCIPALS) parsed.clear();
      parsed.set(text, bytes);
    }
    return target.fromUint8Array(bytes.slice()); // a fresh array: callers may not share ours
  };
}
