// BLS12-381 short (G1) signatures for the replica's certificates, byte for byte what @noble/curves'
// `signShortSignature` makes, in about half its time (certification is the HTTP interface's
// largest per-round cost): noble re-checks that the hashed point lies in the subgroup (hash-to-
// curve output always does) and multiplies in constant time; this multiplies with the curve's
// endomorphism φ(x, y) = (βx, y) = λ·(x, y) (GLV: k·P = k1·P + k2·φ(P), with k1, k2 of 128 bits,
// in one shared double-and-add). The replica's key derives from a public seed: there is no secret
// for a timing channel to leak.
import type { WeierstrassPoint } from '@noble/curves/abstract/weierstrass';
import { bls12_381 } from '@noble/curves/bls12-381';

/** noble's hash-to-G1 domain for short signatures, as `signShortSignature` uses it. */
const SHORT_SIGNATURE_DST = 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_';
/** |x| of BLS12-381 (x = -0xd201000000010000); λ = x² - 1 is a cube root of unity mod r. */
const BLS_X = 0xd201000000010000n;
const LAMBDA = BLS_X * BLS_X - 1n;

type Point = WeierstrassPoint<bigint>;
const Fp = bls12_381.fields.Fp;
const G1 = bls12_381.G1.Point;

/** The β with φ(P) = λ·P on G1 (one of the two primitive cube roots of unity in Fp). */
const BETA: bigint = (() => {
  const first = Fp.div(Fp.sub(Fp.sqrt(Fp.neg(3n)), 1n), 2n);
  const lambdaG = G1.BASE.multiplyUnsafe(LAMBDA);
  const beta = [first, Fp.mul(first, first)].find((b) => endomorphism(G1.BASE, b).equals(lambdaG));
  if (beta === undefined) throw new Error('local replica: no cube root of unity matches λ on G1 (BLS12-381 constants wrong)');
  return beta;
})();

function endomorphism(p: Point, beta: bigint): Point {
  return new G1(Fp.mul(beta, p.X), p.Y, p.Z);
}

/** k·P via k = k1 + k2·λ (k < r < λ², so both halves are below λ). */
function multiply(p: Point, k: bigint): Point {
  const [k1, k2] = [k % LAMBDA, k / LAMBDA];
  const q = endomorphism(p, BETA);
  const pq = p.add(q);
  let acc = G1.ZERO;
  for (let bit = BigInt(Math.max(k1.toString(2).length, k2.toString(2).length) - 1); bit >= 0n; bit--) {
    acc = acc.double();
    const [b1, b2] = [(k1 >> bit) & 1n, (k2 >> bit) & 1n];
    if (b1 && b2) acc = acc.add(pq);
    else if (b1) acc = acc.add(p);
    else if (b2) acc = acc.add(q);
  }
  return acc;
}

/** The short signature of `message` under the secret scalar (what `signShortSignature` returns). */
export function signShort(message: Uint8Array, scalar: bigint): Uint8Array {
  // hashToCurve's declared type (H2CPoint) omits the Weierstrass point methods it has.
  const point = bls12_381.G1.hashToCurve(message, { DST: SHORT_SIGNATURE_DST }) as unknown as Point;
  return bls12_381.ShortSignature.toBytes(multiply(point, scalar));
}
