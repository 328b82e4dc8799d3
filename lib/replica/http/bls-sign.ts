// BLS12-381 short (G1) signatures for the replica's certificates, byte for byte what @noble/curves'
// `signShortSignature` makes (unit-tested against it), computed by mcl-wasm: herumi's mcl compiled
// to WebAssembly and shipped inside its npm package (no native build, no download). A signature
// takes ~0.4 ms there against ~3.7 ms in noble's BigInt arithmetic (half of it hash-to-curve), and
// certification is the HTTP interface's largest per-round cost: at 16 agents one signature covers
// ~15 updates. Verification (the agent's side) stays on noble. The replica's key derives from a
// public seed: there is no secret for a timing channel to leak.
import mcl from 'mcl-wasm';
import { BoundedMemo } from './bounded-memo.js';

/** noble's hash-to-G1 domain for short signatures (RFC 9380 suite BLS12381G1_XMD:SHA-256_SSWU_RO_). */
const SHORT_SIGNATURE_DST = 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_';

/** The C exports of mcl's WebAssembly module that the TypeScript wrapper does not declare. */
interface McLModule {
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  wasmMemory: WebAssembly.Memory;
  /** Sets the DST of G1 hash-to-curve (IRTF map mode); 0 on success. */
  _mclBnG1_setDst(pointer: number, length: number): number;
}

await mcl.init(mcl.BLS12_381);
// Compressed points as the IC, ZCash and noble encode them (big-endian x, flag bits on top).
mcl.setETHserialization(true);
// Hash-to-curve as RFC 9380 (SSWU on the 11-isogeny, then clearing by h_eff), not mcl's own map.
mcl.setMapToMode(mcl.IRTF);
setG1Dst(SHORT_SIGNATURE_DST);

function setG1Dst(dst: string): void {
  const module = (mcl as unknown as { mod: McLModule }).mod;
  const bytes = new TextEncoder().encode(dst);
  const pointer = module._malloc(bytes.length);
  try {
    new Uint8Array(module.wasmMemory.buffer, pointer, bytes.length).set(bytes);
    if (module._mclBnG1_setDst(pointer, bytes.length) !== 0) throw new Error(`local replica: mcl refused the G1 hash-to-curve DST ${dst}`);
  } finally {
    module._free(pointer);
  }
}

/** The secret scalars seen (one per replica key; a process rarely holds more than a few). */
const MAX_CACHED_SCALARS = 16;
const scalars = new BoundedMemo<bigint, mcl.Fr>(MAX_CACHED_SCALARS);

function frOf(scalar: bigint): mcl.Fr {
  return scalars.get(scalar, () => {
    const fr = new mcl.Fr();
    fr.setStr(scalar.toString(16), 16);
    return fr;
  });
}

/** The short signature of `message` under the secret scalar (what `signShortSignature` returns). */
export function signShort(message: Uint8Array, scalar: bigint): Uint8Array {
  return mcl.mul(mcl.hashAndMapToG1(message), frOf(scalar)).serialize();
}
