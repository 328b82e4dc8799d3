// Certificates (interface spec, "Certification"): CBOR {tree, signature} where signature is the
// subnet's BLS12-381 min-sig signature over "\x0Dic-state-root" · root hash. The agent verifies
// them with @noble/curves' `verifyShortSignature` (DST BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_).
import { encodeWithSelfDescribedTag } from '@dfinity/cbor';
import { bls12_381 } from '@noble/curves/bls12-381';
import { bytesToHex, concatBytes, utf8ToBytes } from '@noble/hashes/utils';
import type { LabeledTree, Selection } from './hash-tree.js';

const STATE_ROOT_DOMAIN = concatBytes(new Uint8Array([13]), utf8ToBytes('ic-state-root'));
/** Signing costs milliseconds; identical trees (e.g. repeated polls) reuse their signature. */
const SIGNATURE_CACHE_ENTRIES = 256;

export class CertificateSigner {
  readonly #cache = new Map<string, Uint8Array>();

  constructor(private readonly blsSecretKey: Uint8Array) {}

  /**
   * The CBOR certificate revealing `selection` of the certified state `tree`. The signed root is
   * the tree's memoized hash, which every witness of it reconstructs to (hash-tree.test.ts).
   */
  certify(tree: LabeledTree, selection: Selection): Uint8Array {
    const root = tree.hash();
    const key = bytesToHex(root);
    let signature = this.#cache.get(key);
    if (signature === undefined) {
      signature = bls12_381.signShortSignature(concatBytes(STATE_ROOT_DOMAIN, root), this.blsSecretKey);
      if (this.#cache.size >= SIGNATURE_CACHE_ENTRIES) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(key, signature);
    }
    return encodeWithSelfDescribedTag({ tree: tree.witness(selection), signature });
  }
}
