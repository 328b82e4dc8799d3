// Azle 0.33 gives canisters the TextEncoder/TextDecoder of @sinonjs/text-encoding, a literal port
// of the WHATWG streaming algorithm: in QuickJS it costs about 14,000 instructions per character
// (bench: cluster-upsert, 57 M instructions to encode a 4,096-character string). Every Candid
// text value goes through them (@dfinity/candid calls `new TextEncoder()` per value), so on a
// shard they were most of the cost of a write. This module installs a direct UTF-8 encoder and
// decoder with the same results (WHATWG Encoding: lone surrogates encode as U+FFFD, each maximal
// invalid subpart decodes as one U+FFFD or, with `fatal`, throws a TypeError; a leading BOM is
// dropped unless `ignoreBOM`). Other labels and streaming decodes go to the decoder it replaced.
// A loop over characters costs ~2,700 instructions per character in QuickJS, so the common cases
// are native calls: a string of more than NATIVE_ENCODE_MIN_UNITS code units is encoded by Azle's
// own Candid encoder (Rust) from a Candid text literal built by JSON.stringify; ASCII bytes become
// text by String.fromCharCode and are recognised by one anchored regular expression; other bytes
// of a fatal decode go through decodeURIComponent(escape(...)), which refuses exactly the
// ill-formed sequences the WHATWG decoder refuses.

/** Code units turned into a string per String.fromCharCode call (bounded argument count). */
const CHUNK_UNITS = 4096;
const UTF8_LABELS = new Set(['utf-8', 'utf8', 'unicode-1-1-utf-8', 'unicode11utf8', 'unicode20utf8', 'x-unicode20utf8']);

const ALL_ASCII = /^[\x00-\x7f]*$/;
/** Shorter strings are encoded by the JS loop (a native call costs about as much as 13 characters). */
export const NATIVE_ENCODE_MIN_UNITS = 16;
/** What Azle's candidEncode writes before a lone text argument's length: "DIDL", no type table, one arg, text. */
const TEXT_ARG_PREFIX = [0x44, 0x49, 0x44, 0x4c, 0x00, 0x01, 0x71];

type CandidEncode = (candidText: string) => Uint8Array;

function nativeCandidEncode(): CandidEncode | undefined {
  const ic = (globalThis as { _azleIc?: { candidEncode?: CandidEncode } })._azleIc;
  return typeof ic?.candidEncode === 'function' ? ic.candidEncode : undefined;
}

/**
 * `s` as a Candid text literal: JSON.stringify's escapes are Candid's, except \b, \f and \uXXXX
 * (control characters, and lone surrogates, which become U+FFFD as TextEncoder writes them).
 */
export function candidTextLiteral(s: string): string {
  const json = JSON.stringify(s);
  if (json.indexOf('\\u') < 0 && json.indexOf('\\b') < 0 && json.indexOf('\\f') < 0) return json;
  return json.replace(/\\(?:u([0-9a-fA-F]{4})|([bf])|([\s\S]))/g, (whole, hex?: string, bf?: string) => {
    if (hex !== undefined) {
      const c = parseInt(hex, 16);
      return c >= 0xd800 && c <= 0xdfff ? '\\u{fffd}' : `\\u{${hex}}`;
    }
    if (bf !== undefined) return bf === 'b' ? '\\u{8}' : '\\u{c}';
    return whole;
  });
}

/** The UTF-8 of `s` by Azle's Candid encoder, or undefined outside a canister (or if its output is not as expected). */
function encodeNatively(s: string, encode: CandidEncode): Uint8Array | undefined {
  const message = encode(`(${candidTextLiteral(s)})`);
  for (let i = 0; i < TEXT_ARG_PREFIX.length; i++) if (message[i] !== TEXT_ARG_PREFIX[i]) return undefined;
  let at = TEXT_ARG_PREFIX.length;
  while (message[at] & 0x80) at++;
  return message.slice(at + 1);
}

type DecoderOptions = { fatal?: boolean; ignoreBOM?: boolean };
type DecoderClass = new (label?: string, options?: DecoderOptions) => { decode(input?: unknown, options?: { stream?: boolean }): string };

/** Bytes of the UTF-8 form of `s` (a lone surrogate counts as U+FFFD's three bytes). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Writes the UTF-8 form of `s` into `out` from 0 while it fits; returns code units read and bytes written. */
function writeUtf8(s: string, out: Uint8Array): { read: number; written: number } {
  let j = 0;
  let i = 0;
  for (; i < s.length; i++) {
    let c = s.charCodeAt(i);
    let units = 1;
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && (next & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        units = 2;
      } else c = 0xfffd;
    }
    const size = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    if (j + size > out.length) break;
    if (size === 1) out[j++] = c;
    else if (size === 2) {
      out[j++] = 0xc0 | (c >> 6);
      out[j++] = 0x80 | (c & 0x3f);
    } else if (size === 3) {
      out[j++] = 0xe0 | (c >> 12);
      out[j++] = 0x80 | ((c >> 6) & 0x3f);
      out[j++] = 0x80 | (c & 0x3f);
    } else {
      out[j++] = 0xf0 | (c >> 18);
      out[j++] = 0x80 | ((c >> 12) & 0x3f);
      out[j++] = 0x80 | ((c >> 6) & 0x3f);
      out[j++] = 0x80 | (c & 0x3f);
    }
    i += units - 1;
  }
  return { read: i, written: j };
}

export class Utf8Encoder {
  readonly encoding = 'utf-8';

  encode(input: string = ''): Uint8Array {
    const s = String(input);
    const native = s.length >= NATIVE_ENCODE_MIN_UNITS ? nativeCandidEncode() : undefined;
    const bytes = native === undefined ? undefined : encodeNatively(s, native);
    if (bytes !== undefined) return bytes;
    if (ALL_ASCII.test(s)) {
      const ascii = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) ascii[i] = s.charCodeAt(i);
      return ascii;
    }
    const out = new Uint8Array(utf8Length(s));
    writeUtf8(s, out);
    return out;
  }

  encodeInto(input: string, destination: Uint8Array): { read: number; written: number } {
    return writeUtf8(String(input), destination);
  }
}

function bytesOf(input: unknown): Uint8Array {
  if (input === undefined) return new Uint8Array(0);
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  throw new TypeError('TextDecoder.decode: the input must be an ArrayBuffer or an ArrayBufferView');
}

/** Each byte as one code unit, built by native calls (a loop over bytes in QuickJS costs thousands of instructions each). */
function binaryText(bytes: Uint8Array): string {
  if (bytes.length <= CHUNK_UNITS) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  let text = '';
  for (let i = 0; i < bytes.length; i += CHUNK_UNITS) text += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK_UNITS) as unknown as number[]);
  return text;
}

/** A fatal decode of a binary text by the platform's URI decoder (native); undefined when ill-formed. */
function decodeWellFormed(binary: string, ignoreBOM: boolean): string | undefined {
  let text: string;
  try {
    text = decodeURIComponent(escape(binary));
  } catch {
    return undefined;
  }
  return !ignoreBOM && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Decodes UTF-8 as the WHATWG decoder does (one U+FFFD per maximal invalid subpart). */
export function decodeUtf8(bytes: Uint8Array, fatal: boolean, ignoreBOM: boolean): string {
  const binary = binaryText(bytes);
  if (ALL_ASCII.test(binary)) return binary; // bytes below 0x80 are their own text
  if (fatal) {
    const text = decodeWellFormed(binary, ignoreBOM);
    if (text !== undefined) return text; // else the loop below throws the decoder's TypeError
  }
  let out = '';
  const units: number[] = [];
  const fail = (): void => {
    if (fatal) throw new TypeError('The encoded data was not valid for encoding utf-8');
    units.push(0xfffd);
  };
  let i = !ignoreBOM && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < bytes.length) {
    if (units.length >= CHUNK_UNITS) {
      out += String.fromCharCode.apply(null, units);
      units.length = 0;
    }
    const b0 = bytes[i];
    if (b0 < 0x80) {
      units.push(b0);
      i++;
      continue;
    }
    let need: number;
    let cp: number;
    let lower = 0x80;
    let upper = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) (need = 1), (cp = b0 & 0x1f);
    else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2;
      cp = b0 & 0x0f;
      if (b0 === 0xe0) lower = 0xa0;
      if (b0 === 0xed) upper = 0x9f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3;
      cp = b0 & 0x07;
      if (b0 === 0xf0) lower = 0x90;
      if (b0 === 0xf4) upper = 0x8f;
    } else {
      fail();
      i++;
      continue;
    }
    let j = i + 1;
    let complete = true;
    for (let k = 0; k < need; k++, j++) {
      const b = j < bytes.length ? bytes[j] : -1;
      if (b < lower || b > upper) {
        complete = false; // the bad byte (or the end) is not consumed: it starts what comes next
        break;
      }
      cp = (cp << 6) | (b & 0x3f);
      lower = 0x80;
      upper = 0xbf;
    }
    i = j;
    if (!complete) fail();
    else if (cp < 0x10000) units.push(cp);
    else units.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
  }
  return out + String.fromCharCode.apply(null, units);
}

/** A TextDecoder class: UTF-8 whole-buffer decodes run here, anything else on `fallback`. */
export function utf8DecoderClass(fallback: DecoderClass | undefined): DecoderClass {
  return class Utf8Decoder {
    readonly encoding = 'utf-8';
    readonly fatal: boolean;
    readonly ignoreBOM: boolean;
    private readonly other?: InstanceType<DecoderClass>;
    private streaming?: InstanceType<DecoderClass>;

    constructor(label: string = 'utf-8', options: DecoderOptions = {}) {
      this.fatal = options.fatal === true;
      this.ignoreBOM = options.ignoreBOM === true;
      if (!UTF8_LABELS.has(String(label).trim().toLowerCase())) {
        if (fallback === undefined) throw new RangeError(`TextDecoder: the encoding ${label} is not supported`);
        this.other = new fallback(label, options);
      }
    }

    decode(input?: unknown, options?: { stream?: boolean }): string {
      if (this.other) return this.other.decode(input, options);
      if (options?.stream === true || this.streaming) {
        if (fallback === undefined) throw new TypeError('TextDecoder: streaming decodes are not supported');
        this.streaming ??= new fallback('utf-8', { fatal: this.fatal, ignoreBOM: this.ignoreBOM });
        const text = this.streaming.decode(input, options);
        if (options?.stream !== true) this.streaming = undefined;
        return text;
      }
      return decodeUtf8(bytesOf(input), this.fatal, this.ignoreBOM);
    }
  };
}

/** Replaces the global TextEncoder/TextDecoder with these (in a canister; once). */
export function installUtf8Codecs(target: { TextEncoder?: unknown; TextDecoder?: unknown } = globalThis as never): void {
  if ((target.TextEncoder as { shardorm?: boolean } | undefined)?.shardorm) return;
  const Decoder = utf8DecoderClass(target.TextDecoder as DecoderClass | undefined);
  Object.defineProperty(Utf8Encoder, 'shardorm', { value: true });
  target.TextEncoder = Utf8Encoder;
  target.TextDecoder = Decoder;
}
