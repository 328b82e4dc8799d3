// A strict CBOR decoder for request bodies (RFC 8949, the subset the IC's request format uses:
// unsigned integers, byte and text strings, arrays, maps with text keys, the self-describe tag
// 55799). @dfinity/cbor's decoder is lenient where a server must not be: it ignores bytes after
// the first item (so two envelopes in one body passed as one), reads past the end of a truncated
// string without noticing, and reports a float as "Unrecognized simple type: 11001". This one
// refuses each with a 400 that says what is wrong, and bounds nesting so a body cannot exhaust
// the stack.
import { badRequest } from './errors.js';

/** Deepest nesting of arrays and maps accepted (read_state paths need 3; the agent sends at most 5). */
export const MAX_CBOR_DEPTH = 32;
const SELF_DESCRIBE_TAG = 55799;

export type CborValue = number | bigint | string | Uint8Array | boolean | null | undefined | CborValue[] | { [key: string]: CborValue };

/** Decodes exactly one CBOR item filling all of `bytes`, or throws a 400 naming the fault. */
export function decodeCbor(bytes: Uint8Array): CborValue {
  const reader = new Reader(bytes);
  const value = reader.item(0);
  if (reader.offset !== bytes.length) {
    throw badRequest(`${bytes.length - reader.offset} bytes follow the CBOR request envelope (at byte ${reader.offset}); send exactly one envelope per request.`);
  }
  return value;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function utf8(bytes: Uint8Array, at: number): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw badRequest(`CBOR text string at byte ${at} is not valid UTF-8.`);
  }
}

class Reader {
  offset = 0;
  readonly #view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  item(depth: number): CborValue {
    if (depth > MAX_CBOR_DEPTH) throw badRequest(`CBOR nesting deeper than ${MAX_CBOR_DEPTH} levels at byte ${this.offset}.`);
    const at = this.offset;
    const initial = this.#take(1)[0];
    const [major, info] = [initial >> 5, initial & 31];
    switch (major) {
      case 0:
        return this.#argument(info, at);
      case 1:
        throw badRequest(`CBOR negative integer at byte ${at}: the IC's request format has only natural numbers.`);
      case 2:
        return this.#string(info, at, 2);
      case 3:
        return utf8(this.#string(info, at, 3), at);
      case 4:
        return this.#array(info, at, depth);
      case 5:
        return this.#map(info, at, depth);
      case 6: {
        const tag = this.#argument(info, at);
        if (tag !== SELF_DESCRIBE_TAG) throw badRequest(`Unsupported CBOR tag ${tag} at byte ${at}; only the self-describe tag 55799 is allowed.`);
        return this.item(depth);
      }
      default:
        return this.#simple(info, at);
    }
  }

  #simple(info: number, at: number): CborValue {
    if (info === 20) return false;
    if (info === 21) return true;
    if (info === 22) return null;
    if (info === 23) return undefined;
    if (info >= 25 && info <= 27) {
      throw badRequest(`CBOR floating-point number at byte ${at}: the IC's request format has no floats; encode numbers (e.g. ingress_expiry) as unsigned integers.`);
    }
    if (info === 31) throw badRequest(`Unexpected CBOR "break" at byte ${at}.`);
    throw badRequest(`Unsupported CBOR simple value ${info} at byte ${at}.`);
  }

  #array(info: number, at: number, depth: number): CborValue[] {
    const items: CborValue[] = [];
    if (info === 31) {
      while (!this.#atBreak()) items.push(this.item(depth + 1));
      return items;
    }
    const count = this.#length(info, at);
    for (let i = 0; i < count; i++) items.push(this.item(depth + 1));
    return items;
  }

  #map(info: number, at: number, depth: number): { [key: string]: CborValue } {
    // No prototype: a key "__proto__" is data, not a way to change the object's prototype.
    const map = Object.create(null) as { [key: string]: CborValue };
    const entry = (): void => {
      const keyAt = this.offset;
      const key = this.item(depth + 1);
      if (typeof key !== 'string') throw badRequest(`CBOR map key at byte ${keyAt} is not a text string.`);
      if (Object.hasOwn(map, key)) throw badRequest(`CBOR map has the key "${key}" twice (byte ${keyAt}).`);
      map[key] = this.item(depth + 1);
    };
    if (info === 31) {
      while (!this.#atBreak()) entry();
      return map;
    }
    const count = this.#length(info, at);
    for (let i = 0; i < count; i++) entry();
    return map;
  }

  /** A byte or text string, definite or made of definite chunks of the same major type. */
  #string(info: number, at: number, major: number): Uint8Array {
    if (info !== 31) return this.#take(this.#length(info, at)).slice();
    const chunks: Uint8Array[] = [];
    while (!this.#atBreak()) {
      const chunkAt = this.offset;
      const initial = this.#take(1)[0];
      if (initial >> 5 !== major || (initial & 31) === 31) throw badRequest(`Malformed chunk of an indefinite-length CBOR string at byte ${chunkAt}.`);
      chunks.push(this.#take(this.#length(initial & 31, chunkAt)));
    }
    return Buffer.concat(chunks);
  }

  #atBreak(): boolean {
    if (this.offset >= this.bytes.length) throw badRequest('CBOR body ends inside an indefinite-length item.');
    if (this.bytes[this.offset] !== 0xff) return false;
    this.offset++;
    return true;
  }

  /** A length that must fit in the bytes left (a count of items needs at least a byte each). */
  #length(info: number, at: number): number {
    const length = this.#argument(info, at);
    if (typeof length === 'bigint' || length > this.bytes.length - this.offset) {
      throw badRequest(`CBOR item at byte ${at} declares length ${length}, more than the ${this.bytes.length - this.offset} bytes left.`);
    }
    return length;
  }

  #argument(info: number, at: number): number | bigint {
    if (info < 24) return info;
    if (info === 24) return this.#take(1)[0];
    if (info === 25) return this.#view.getUint16(this.#skip(2));
    if (info === 26) return this.#view.getUint32(this.#skip(4));
    if (info === 27) {
      const value = this.#view.getBigUint64(this.#skip(8));
      return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
    }
    throw badRequest(`Malformed CBOR: additional information ${info} at byte ${at}.`);
  }

  #take(count: number): Uint8Array {
    return this.bytes.subarray(this.#skip(count), this.offset);
  }

  /** Advances by `count` bytes and returns where they start; throws when the body is too short. */
  #skip(count: number): number {
    const start = this.offset;
    if (start + count > this.bytes.length) throw badRequest(`CBOR body is truncated: needs ${count} more bytes at byte ${start}, has ${this.bytes.length - start}.`);
    this.offset += count;
    return start;
  }
}
