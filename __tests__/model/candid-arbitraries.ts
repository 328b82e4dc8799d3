// fast-check arbitraries for Candid types, producing values in the JS form @dfinity/candid decodes
// to (so a round trip can be compared with toEqual), plus a random nested-type generator.
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import fc from 'fast-check';

type TypedArrayCtor = { from(xs: ArrayLike<number> | ArrayLike<bigint>): unknown };

const FIXED_ARRAYS: Record<string, TypedArrayCtor> = {
  nat8: Uint8Array,
  nat16: Uint16Array,
  nat32: Uint32Array,
  nat64: BigUint64Array as unknown as TypedArrayCtor,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array as unknown as TypedArrayCtor,
};

export const PRIMITIVES: IDL.Type[] = [
  IDL.Text, IDL.Bool, IDL.Null, IDL.Nat, IDL.Int, IDL.Nat8, IDL.Nat16, IDL.Nat32, IDL.Nat64,
  IDL.Int8, IDL.Int16, IDL.Int32, IDL.Int64, IDL.Float32, IDL.Float64, IDL.Principal,
];

export function arbFor(t: IDL.Type): fc.Arbitrary<unknown> {
  if (t instanceof IDL.TextClass) return fc.string({ unit: 'grapheme', maxLength: 20 });
  if (t instanceof IDL.BoolClass) return fc.boolean();
  if (t instanceof IDL.NullClass) return fc.constant(null);
  if (t instanceof IDL.NatClass) return fc.bigInt({ min: 0n, max: 1n << 130n });
  if (t instanceof IDL.IntClass) return fc.bigInt({ min: -(1n << 130n), max: 1n << 130n });
  if (t instanceof IDL.FixedNatClass) {
    return t._bits === 64 ? fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) : fc.integer({ min: 0, max: 2 ** t._bits - 1 });
  }
  if (t instanceof IDL.FixedIntClass) {
    const h = 2 ** (t._bits - 1);
    return t._bits === 64 ? fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }) : fc.integer({ min: -h, max: h - 1 });
  }
  if (t instanceof IDL.FloatClass) return t._bits === 32 ? fc.float() : fc.double();
  if (t instanceof IDL.PrincipalClass) return fc.uint8Array({ maxLength: 29 }).map((b) => Principal.fromUint8Array(b));
  if (t instanceof IDL.OptClass) return fc.option(arbFor(t._type), { nil: undefined }).map((v) => (v === undefined ? [] : [v]));
  if (t instanceof IDL.VecClass) {
    const inner = t._type;
    const elems = fc.array(arbFor(inner), { maxLength: 5 });
    const name = (inner as IDL.Type).display();
    const typed = FIXED_ARRAYS[name];
    return typed !== undefined ? elems.map((xs) => typed.from(xs as never)) : elems;
  }
  if (t instanceof IDL.TupleClass) return fc.tuple(...(t as unknown as { _components: IDL.Type[] })._components.map((c) => arbFor(c)));
  if (t instanceof IDL.RecordClass) {
    return fc.record(Object.fromEntries(t._fields.map(([k, ft]) => [k, arbFor(ft)]))).map((r) => ({ ...r }));
  }
  if (t instanceof IDL.VariantClass) {
    return fc.oneof(...t._fields.map(([k, ft]) => arbFor(ft).map((v) => ({ [k]: v }))));
  }
  throw new Error(`no arbitrary for ${t.display()}`);
}

/** Random Candid types up to a depth: primitives, blob, opt, vec, record, variant, tuple. */
export const arbType: fc.Arbitrary<IDL.Type> = fc.letrec<{ t: IDL.Type }>((tie) => ({
  t: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...PRIMITIVES, IDL.Vec(IDL.Nat8)),
    tie('t').map((x) => IDL.Opt(x)),
    tie('t').map((x) => IDL.Vec(x)),
    fc.uniqueArray(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e'), tie('t')), { minLength: 1, maxLength: 3, selector: (p) => p[0] })
      .map((fs) => IDL.Record(Object.fromEntries(fs))),
    fc.uniqueArray(fc.tuple(fc.constantFrom('x', 'y', 'z'), tie('t')), { minLength: 1, maxLength: 3, selector: (p) => p[0] })
      .map((fs) => IDL.Variant(Object.fromEntries(fs))),
    fc.array(tie('t'), { minLength: 1, maxLength: 3 }).map((cs) => IDL.Tuple(...cs)),
  ),
})).t;

export function runs(short: number, long: number): number {
  return process.env.SHARDORM_LONG ? long : short;
}
