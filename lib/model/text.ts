// Candid text is UTF-8, and a JS string with a lone surrogate has no UTF-8 form: TextEncoder
// silently writes U+FFFD instead, so two distinct keys would alias and a stored value would differ
// from what was written. Strings are checked before they are encoded, and refused.
import { IDL } from '@dfinity/candid';
import { ValidationError } from './errors.js';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const nativeWellFormed = (String.prototype as { isWellFormed?: () => boolean }).isWellFormed;

/**
 * Whether `s` has no lone surrogate. String.prototype.isWellFormed where the engine has it
 * (Node 20, Azle's QuickJS: native), else the regular expression (~550 instructions per
 * character in QuickJS, which is why it is not the first choice).
 */
export function isWellFormedText(s: string): boolean {
  return nativeWellFormed !== undefined ? nativeWellFormed.call(s) : !LONE_SURROGATE.test(s);
}

/**
 * `bytes` as a string of one code unit per byte (a "binary string"): one native call, so keys and
 * headers compare as strings rather than in a byte loop. For inputs within the engine's argument
 * bound (a few thousand bytes; lib/canister/utf8.ts chunks longer ones).
 */
export function binaryString(bytes: Uint8Array): string {
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}

// TextEncoder/TextDecoder are looked up when used, not when a module loads: a canister replaces
// the globals (lib/canister/utf8.ts) after some of our modules have loaded, and Azle's own pair
// costs ~14,000 instructions per character.
let encoderOf: { ctor: unknown; encoder: TextEncoder } | undefined;
let decoderOf: { ctor: unknown; decoder: TextDecoder } | undefined;

/** The current global TextEncoder (one instance per constructor). */
export function utf8Encoder(): TextEncoder {
  if (encoderOf?.ctor !== globalThis.TextEncoder) encoderOf = { ctor: globalThis.TextEncoder, encoder: new TextEncoder() };
  return encoderOf.encoder;
}

/** The current global TextDecoder in fatal mode: invalid UTF-8 throws a TypeError. */
export function utf8FatalDecoder(): TextDecoder {
  if (decoderOf?.ctor !== globalThis.TextDecoder) decoderOf = { ctor: globalThis.TextDecoder, decoder: new TextDecoder('utf-8', { fatal: true }) };
  return decoderOf.decoder;
}

export function assertWellFormed(s: string, where: string): void {
  if (!isWellFormedText(s)) {
    throw new ValidationError(`${where} contains a lone UTF-16 surrogate, which Candid text cannot carry: fix the string (it would be stored as U+FFFD)`);
  }
}

/** Whether values of `type` can contain text (only those are walked). */
export function containsText(type: IDL.Type, seen = new Set<IDL.Type>()): boolean {
  if (seen.has(type)) return false;
  seen.add(type);
  if (type instanceof IDL.TextClass) return true;
  if (type instanceof IDL.OptClass || type instanceof IDL.VecClass) return containsText(type._type, seen);
  if (type instanceof IDL.RecClass) return recInner(type) !== undefined && containsText(recInner(type)!, seen);
  if (type instanceof IDL.RecordClass || type instanceof IDL.VariantClass) return type._fields.some(([, t]) => containsText(t, seen));
  return false;
}

/** Checks every string inside a Candid value of `type` (a value that does not fit is left to the encoder). */
export function assertTextWellFormed(type: IDL.Type, value: unknown, where: string): void {
  if (typeof value === 'string') return assertWellFormed(value, where);
  if (value === null || typeof value !== 'object') return;
  if (type instanceof IDL.RecClass && recInner(type) !== undefined) return assertTextWellFormed(recInner(type)!, value, where);
  if ((type instanceof IDL.OptClass || type instanceof IDL.VecClass) && Array.isArray(value)) {
    for (const v of value) assertTextWellFormed(type._type, v, where);
    return;
  }
  if (type instanceof IDL.TupleClass && Array.isArray(value)) {
    (type as unknown as { _components: IDL.Type[] })._components.forEach((t, i) => assertTextWellFormed(t, value[i], where));
    return;
  }
  if (type instanceof IDL.RecordClass || type instanceof IDL.VariantClass) {
    for (const [name, t] of type._fields) {
      const v = (value as Record<string, unknown>)[name];
      if (v !== undefined) assertTextWellFormed(t, v, `${where}.${name}`);
    }
  }
}

/** The type a recursive type was filled with (kept private by @dfinity/candid). */
function recInner(type: IDL.RecClass): IDL.Type | undefined {
  return (type as unknown as { _type?: IDL.Type })._type;
}
