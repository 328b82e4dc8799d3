// JSON-safe, canonical form of the values a history carries (entities, keys, patches, results).
// A history must survive JSON.stringify → file → JSON.parse and be re-checked offline, and the
// checker compares values by their canonical text, so: bigints, Principals and byte arrays get
// tagged objects, object keys are sorted, `undefined` properties are dropped (an absent optional
// field and a missing one are the same stored value). Pure: runs in Node, browsers and canisters.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Tags of the non-JSON values (a field name starting with `$` is therefore not allowed). */
export const TAG_BIGINT = '$bigint';
export const TAG_BYTES = '$bytes';
export const TAG_PRINCIPAL = '$principal';
export const TAG_NUMBER = '$number';
export const TAG_TYPED = '$typed';
/** Nesting depth limit of an encoded value (a cycle or a runaway structure stops here). */
export const MAX_VALUE_DEPTH = 64;

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

function isPrincipal(v: object): v is { toText(): string } {
  return (v as { _isPrincipal?: unknown })._isPrincipal === true && typeof (v as { toText?: unknown }).toText === 'function';
}

/** The JSON-safe form of any value an entity field, key or result holds. */
export function toJson(value: unknown, depth = 0): Json {
  if (depth > MAX_VALUE_DEPTH) throw new RangeError(`value nests deeper than ${MAX_VALUE_DEPTH} levels (a cycle?)`);
  switch (typeof value) {
    case 'undefined':
      return null;
    case 'boolean':
    case 'string':
      return value;
    case 'number':
      if (Number.isFinite(value)) return Object.is(value, -0) ? 0 : value;
      return { [TAG_NUMBER]: String(value) };
    case 'bigint':
      return { [TAG_BIGINT]: value.toString() };
    case 'object':
      break;
    default:
      throw new TypeError(`cannot record a ${typeof value} in a history`);
  }
  if (value === null) return null;
  if (value instanceof Uint8Array) return { [TAG_BYTES]: hex(value) };
  if (ArrayBuffer.isView(value)) {
    const items = Array.from(value as unknown as ArrayLike<number | bigint>, (x) => toJson(x, depth + 1));
    return { [TAG_TYPED]: value.constructor.name, values: items };
  }
  if (Array.isArray(value)) return value.map((x) => toJson(x, depth + 1));
  if (isPrincipal(value)) return { [TAG_PRINCIPAL]: value.toText() };
  const out: JsonObject = {};
  for (const k of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = toJson(v, depth + 1);
  }
  return out;
}

/** Stable text of a JSON value: object keys sorted at every level (equal values, equal text). */
export function canonical(value: Json): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
}

/** A bigint from a recorded number-like value (`number`, `{ $bigint }`, absent = 0). */
export function jsonToBigInt(value: Json | undefined): bigint {
  if (value === undefined || value === null) return 0n;
  if (typeof value === 'number') return BigInt(value);
  if (typeof value === 'object' && !Array.isArray(value) && typeof value[TAG_BIGINT] === 'string') return BigInt(value[TAG_BIGINT] as string);
  throw new TypeError(`expected a number or ${TAG_BIGINT}, got ${canonical(value)}`);
}

export function bigIntToJson(n: bigint, asBigInt: boolean): Json {
  return asBigInt ? { [TAG_BIGINT]: n.toString() } : Number(n);
}

/** Short readable form for counterexamples: bigints as `12n`, bytes as `0x…`, long strings and text cut. */
export function show(value: Json | undefined, maxChars = 160): string {
  const text = value === undefined ? 'undefined' : render(value);
  return text.length <= maxChars ? text : `${text.slice(0, maxChars - 1)}…`;
}

/** Strings longer than this are shown as their start and their length. */
export const SHOW_STRING_CHARS = 32;

function render(value: Json): string {
  if (value === null) return 'absent';
  if (typeof value === 'string' && value.length > SHOW_STRING_CHARS) return `${JSON.stringify(value.slice(0, SHOW_STRING_CHARS - 8))}…(${value.length} chars)`;
  if (typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(render).join(', ')}]`;
  if (typeof value[TAG_BIGINT] === 'string') return `${value[TAG_BIGINT]}n`;
  if (typeof value[TAG_BYTES] === 'string') return `0x${value[TAG_BYTES]}`;
  if (typeof value[TAG_PRINCIPAL] === 'string') return `principal "${value[TAG_PRINCIPAL]}"`;
  const keys = Object.keys(value).sort();
  return `{ ${keys.map((k) => `${k}: ${render(value[k])}`).join(', ')} }`;
}
