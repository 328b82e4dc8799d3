// Candid codecs derived from @Field types. A stored value is
//   0x01 (format) ‖ u16 big-endian entity version ‖ a full Candid message of one record.
// Keeping the whole self-describing message (type table included) is what makes schema evolution
// work by Candid's subtyping rules: a record written by version N decodes under version N+1 when
// N+1 only adds `opt` fields or fields with a default (read as `opt`, since T <: opt T), and any
// Rust/Motoko tool can read the bytes with the .did of the collection.
//
// The hot path (every write and read of a shard) does no per-message type work: the type table
// of the current version is computed once, values are written and read by functions compiled
// from the field types (candid-writer.ts, candid-reader.ts; byte-identical to IDL.encode, values
// as IDL.decode gives them), and IDL.encode/IDL.decode remain for what those do not take: older
// versions' records, other libraries' type tables, malformed bytes (for the precise error), types
// outside the compiled set. Bytes this codec encoded from immutable field values decode without
// being read again (`encoded` below): a record written in-process is not decoded twice.
import { IDL } from '@dfinity/candid';
import { Cursor, compileReader, headerText, startsWithHeader, type Reader } from './candid-reader.js';
import { ByteSink, canonicalHeader, compileWriter, ValueMismatch, type Writer } from './candid-writer.js';
import { PayloadTooLargeError, ValidationError } from './errors.js';
import { conforms, describeValue } from './keys.js';
import { assertTextWellFormed, containsText } from './text.js';
import type { EntityMetadata, FieldMeta } from './metadata.js';

export const VALUE_FORMAT = 0x01;
export const VALUE_HEADER_BYTES = 3;
/** Default entity size limit: 1.5 MiB, so one entity always fits one IC message (~2 MiB). */
export const DEFAULT_MAX_ENTITY_BYTES = 1.5 * 1024 * 1024;

export type PlainRecord = Record<string, unknown>;

export interface DecodedValue {
  record: PlainRecord;
  /** The entity version that wrote the bytes (before the upgrade hook ran). */
  storedVersion: number;
}

/** A field as the encoder and decoder walk it, with everything a call would otherwise work out. */
interface FieldPlan {
  readonly f: FieldMeta;
  readonly name: string;
  /** null is this field's value (a null or opt null field), not "absent". */
  readonly nullIsValue: boolean;
  /** Whether a JS value is exactly what decoding this field gives back (so it may be remembered). */
  readonly decodedForm: (v: unknown) => boolean;
}

/** The compiled writer and reader of the current version's record, and its canonical header. */
interface FastPath {
  writer: Writer;
  reader: Reader;
  header: Uint8Array;
  headerText: string;
}

export class EntityCodec {
  /** The record type written: every field with its declared type. */
  readonly writeType: IDL.RecordClass;
  /** The record type read: fields with a default are read as `opt` so older records decode. */
  readonly readType: IDL.RecordClass;
  /** A patch: every non-key field wrapped in one more `opt` (absent = leave unchanged). */
  readonly patchType: IDL.RecordClass;
  /** Fields whose values can hold text: checked for lone surrogates before encoding. */
  private readonly textFields: ReadonlySet<FieldMeta>;
  private readonly plan: readonly FieldPlan[];
  /** undefined: not compiled yet; null: the record type is outside the compiled set. */
  private fastPath?: FastPath | null;
  /** Records of the bytes this codec encoded, as decode would give them (see the file comment). */
  private readonly encoded = new WeakMap<Uint8Array, PlainRecord>();

  constructor(
    readonly meta: EntityMetadata,
    readonly maxEntityBytes: number = DEFAULT_MAX_ENTITY_BYTES,
  ) {
    const write: Record<string, IDL.Type> = {};
    const read: Record<string, IDL.Type> = {};
    const patch: Record<string, IDL.Type> = {};
    const keyNames = new Set(meta.keyFields.map((f) => f.name));
    for (const f of meta.fields) {
      write[f.name] = f.type;
      read[f.name] = f.hasDefault && !f.optional ? IDL.Opt(f.type) : f.type;
      if (!keyNames.has(f.name)) patch[f.name] = IDL.Opt(f.type);
    }
    this.writeType = IDL.Record(write);
    this.readType = IDL.Record(read);
    this.patchType = IDL.Record(patch);
    this.textFields = new Set(meta.fields.filter((f) => containsText(f.type)));
    this.plan = meta.fields.map((f) => {
      const inner = f.optional ? (f.type as IDL.OptClass<unknown>)._type : f.type;
      const form = decodedForm(inner);
      return { f, name: f.name, nullIsValue: inner instanceof IDL.NullClass, decodedForm: f.optional ? (v) => v === undefined || form(v) : form };
    });
  }

  private fast(): FastPath | null {
    if (this.fastPath === undefined) {
      try {
        const header = canonicalHeader([this.writeType]);
        this.fastPath = { writer: compileWriter(this.writeType, { strictText: true }), reader: compileReader(this.writeType), header, headerText: headerText(header) };
      } catch {
        this.fastPath = null;
      }
    }
    return this.fastPath;
  }

  private where(f: FieldMeta): string {
    return `${this.meta.className}.${f.name}`;
  }

  /** The Candid value of one field (top-level opt from `undefined | T`); `check` validates it. */
  private candidField(f: FieldMeta, value: unknown, check = true): unknown {
    // null means "absent" except where Candid null is the value itself (null, opt null).
    const inner = f.optional ? (f.type as IDL.OptClass<unknown>)._type : f.type;
    let v: unknown = value === null && !(inner instanceof IDL.NullClass) ? undefined : value;
    if (v === undefined && f.hasDefault) v = f.defaultValue();
    if (f.optional) v = v === undefined ? [] : [v];
    if (v === undefined) throw this.missing(f);
    if (check && !conforms(f.type, v)) {
      const shown = f.optional ? describeValue(value) : describeValue(v);
      throw new ValidationError(`${this.where(f)} expects ${f.type.display()}, got ${shown}: fix the value or the @Field type`);
    }
    return v;
  }

  /** Encodes an entity (instance or plain object) into a stored value. */
  encode(entity: object): Uint8Array {
    const src = entity as PlainRecord;
    const rec: PlainRecord = {};
    let remembered: PlainRecord | undefined = {};
    for (const p of this.plan) {
      let v = src[p.name];
      if (v === null && !p.nullIsValue) v = undefined; // null means "absent" except where null is the value
      if (v === undefined && p.f.hasDefault) v = p.f.defaultValue();
      if (p.f.optional) rec[p.name] = v === undefined ? [] : [v];
      else if (v === undefined) throw this.missing(p.f);
      else rec[p.name] = v;
      if (remembered !== undefined) {
        if (p.decodedForm(v)) remembered[p.name] = v;
        else remembered = undefined;
      }
    }
    const out = this.encodeFast(rec) ?? this.encodeWithIdl(src, rec);
    this.assertSize(out.length);
    if (remembered !== undefined) this.encoded.set(out, remembered);
    return out;
  }

  /** The stored value by the compiled writer, or undefined when it does not take this record. */
  private encodeFast(rec: PlainRecord): Uint8Array | undefined {
    const fast = this.fast();
    if (fast === null) return undefined;
    const out = new ByteSink(VALUE_HEADER_BYTES + fast.header.length + 256);
    out.byte(VALUE_FORMAT);
    out.byte(this.meta.version >> 8);
    out.byte(this.meta.version & 0xff);
    out.bytes(fast.header);
    try {
      fast.writer(out, rec);
    } catch (e) {
      if (e instanceof ValueMismatch) return undefined; // IDL's path gives the precise error (or takes it)
      throw e;
    }
    return out.finish();
  }

  /** The stored value by IDL.encode, validating every field with a message naming it. */
  private encodeWithIdl(src: PlainRecord, rec: PlainRecord): Uint8Array {
    for (const f of this.meta.fields) if (this.textFields.has(f)) assertTextWellFormed(f.type, rec[f.name], this.where(f));
    let body: Uint8Array;
    try {
      body = new Uint8Array(IDL.encode([this.writeType], [rec])); // validates the whole record once
    } catch (e) {
      // Only on failure: find the field to name (the IDL message names a path, not the class).
      for (const f of this.meta.fields) this.candidField(f, src[f.name]);
      throw new ValidationError(`${this.meta.className}: ${(e as Error).message.trim().split('\n')[0]}`);
    }
    const out = new Uint8Array(VALUE_HEADER_BYTES + body.length);
    out[0] = VALUE_FORMAT;
    out[1] = this.meta.version >> 8;
    out[2] = this.meta.version & 0xff;
    out.set(body, VALUE_HEADER_BYTES);
    return out;
  }

  private missing(f: FieldMeta): ValidationError {
    return new ValidationError(`${this.where(f)} is missing: set it to a ${f.type.display()} value${f.optional ? '' : ' (or declare the field IDL.Opt)'}`);
  }

  assertSize(bytes: number): void {
    if (bytes > this.maxEntityBytes) {
      throw new PayloadTooLargeError(
        `${this.meta.className} encodes to ${bytes} bytes, above the limit of ${this.maxEntityBytes}: ` +
          'store large blobs in several entities (chunks) or raise maxEntityBytes (at most one IC message)',
      );
    }
  }

  /** Decodes a stored value into a plain record of the current version (upgrade hook applied). */
  decode(bytes: Uint8Array, applyUpgrade = true): DecodedValue {
    const remembered = this.encoded.get(bytes);
    if (remembered !== undefined) return { record: { ...remembered }, storedVersion: this.meta.version };
    if (bytes.length < VALUE_HEADER_BYTES || bytes[0] !== VALUE_FORMAT) {
      throw new ValidationError(`${this.meta.name}: stored value has unknown format ${bytes[0]}; it was not written by ShardORM`);
    }
    const storedVersion = readStoredVersion(bytes);
    const fast = storedVersion === this.meta.version ? this.decodeFast(bytes) : undefined;
    if (fast !== undefined) return { record: fast, storedVersion };
    let raw: PlainRecord;
    try {
      // slice, not subarray: IDL.decode reads a view's whole underlying buffer, ignoring byteOffset.
      [raw] = IDL.decode([this.readType], bytes.slice(VALUE_HEADER_BYTES)) as [PlainRecord];
    } catch (e) {
      throw new ValidationError(
        `${this.meta.className}: a record written by version ${storedVersion} does not decode under version ${this.meta.version} ` +
          `(${(e as Error).message.split('\n')[0]}): either the bytes are not an entity of this collection, or a field added since is neither IDL.Opt nor has a default`,
      );
    }
    let record: PlainRecord = {};
    for (const f of this.meta.fields) {
      const v = raw[f.name];
      if (f.optional) record[f.name] = (v as unknown[]).length === 0 ? undefined : (v as unknown[])[0];
      else if (f.hasDefault) record[f.name] = (v as unknown[]).length === 0 ? f.defaultValue() : (v as unknown[])[0];
      else record[f.name] = v;
    }
    if (applyUpgrade && storedVersion < this.meta.version && this.meta.upgrade !== undefined) {
      record = this.meta.upgrade(record, storedVersion);
    }
    return { record, storedVersion };
  }

  /** The record by the compiled reader when the bytes carry the canonical type table, else undefined. */
  private decodeFast(bytes: Uint8Array): PlainRecord | undefined {
    const fast = this.fast();
    if (fast === null || !startsWithHeader(bytes, VALUE_HEADER_BYTES, fast.header, fast.headerText)) return undefined;
    const cursor = new Cursor(bytes);
    cursor.at = VALUE_HEADER_BYTES + fast.header.length;
    let raw: PlainRecord;
    try {
      raw = fast.reader(cursor) as PlainRecord;
    } catch {
      return undefined; // malformed: IDL.decode gives the precise error
    }
    if (cursor.at !== bytes.length) return undefined;
    for (const p of this.plan) {
      if (!p.f.optional) continue;
      const v = raw[p.name] as unknown[];
      raw[p.name] = v.length === 0 ? undefined : v[0];
    }
    return raw;
  }

  /** Encodes a partial update; key fields may not be patched. */
  encodePatch(patch: object): Uint8Array {
    const src = patch as PlainRecord;
    const rec: PlainRecord = {};
    for (const name of Object.keys(src)) {
      const f = this.meta.fieldByName.get(name);
      if (f === undefined) throw new ValidationError(`${this.meta.className} has no field "${name}": remove it from the patch`);
      if (this.meta.keyFields.includes(f)) {
        throw new ValidationError(`${this.where(f)} is a key field and cannot be updated: delete and insert under the new key`);
      }
    }
    for (const f of this.meta.fields) {
      if (this.meta.keyFields.includes(f)) continue;
      rec[f.name] = Object.prototype.hasOwnProperty.call(src, f.name) ? [this.candidField(f, src[f.name])] : [];
      if (this.textFields.has(f)) assertTextWellFormed(IDL.Opt(f.type), rec[f.name], this.where(f));
    }
    return new Uint8Array(IDL.encode([this.patchType], [rec]));
  }

  /** Decodes a patch into the fields it sets (plain JS values, top-level opt unwrapped). */
  decodePatch(bytes: Uint8Array): PlainRecord {
    let raw: PlainRecord;
    try {
      [raw] = IDL.decode([this.patchType], bytes.slice()) as [PlainRecord];
    } catch (e) {
      throw new ValidationError(`${this.meta.className}: malformed patch (${(e as Error).message.split('\n')[0]}); build it with encodePatch`);
    }
    const out: PlainRecord = {};
    for (const f of this.meta.fields) {
      const v = raw[f.name] as unknown[] | undefined;
      if (v === undefined || v.length === 0) continue;
      const inner = v[0];
      out[f.name] = f.optional ? ((inner as unknown[]).length === 0 ? undefined : (inner as unknown[])[0]) : inner;
    }
    return out;
  }
}

/** The entity version in a stored value's header (the caller has checked the format byte). */
export function readStoredVersion(bytes: Uint8Array): number {
  return (bytes[1] << 8) | bytes[2];
}

/** Whether a JS value is exactly what decoding a value of `type` gives (only immutable values qualify). */
function decodedForm(type: IDL.Type): (v: unknown) => boolean {
  if (type instanceof IDL.TextClass) return (v) => typeof v === 'string';
  if (type instanceof IDL.BoolClass) return (v) => typeof v === 'boolean';
  if (type instanceof IDL.NullClass) return (v) => v === null;
  if (type instanceof IDL.NatClass || type instanceof IDL.IntClass) return (v) => typeof v === 'bigint';
  if (type instanceof IDL.FixedNatClass || type instanceof IDL.FixedIntClass) return type._bits === 64 ? (v) => typeof v === 'bigint' : (v) => typeof v === 'number';
  if (type instanceof IDL.FloatClass) return type._bits === 64 ? (v) => typeof v === 'number' : (v) => typeof v === 'number' && Math.fround(v) === v;
  if (type instanceof IDL.PrincipalClass) return (v) => (v as { _isPrincipal?: boolean } | null)?._isPrincipal === true;
  return () => false; // vectors, records, variants, blobs: mutable, so never remembered
}

const codecs = new WeakMap<EntityMetadata, Map<number, EntityCodec>>();

/** The (cached) codec of an entity for a given size limit. */
export function codecFor(meta: EntityMetadata, maxEntityBytes: number = DEFAULT_MAX_ENTITY_BYTES): EntityCodec {
  let bySize = codecs.get(meta);
  if (bySize === undefined) codecs.set(meta, (bySize = new Map()));
  let codec = bySize.get(maxEntityBytes);
  if (codec === undefined) bySize.set(maxEntityBytes, (codec = new EntityCodec(meta, maxEntityBytes)));
  return codec;
}
