// The replica's certified state: one BLS signature per round, shared by every certificate cut from
// it, as on the IC (a subnet signs its state once per round; every read_state, every v3 call reply
// and every query's data certificate is a witness of that one signed tree). Certificates are CBOR
// {tree, signature} where signature is the subnet's BLS12-381 min-sig signature over
// "\x0Dic-state-root" · root hash (interface spec, "Certification"); the agent verifies them with
// @noble/curves' `verifyShortSignature`. Signing costs ~0.4 ms (bls-sign.ts), so it happens only when the state
// changed or the last certification grew older than CERTIFICATION_MAX_AGE_NS.
import { encodeWithSelfDescribedTag } from '@dfinity/cbor';
import { bytesToHex, concatBytes, utf8ToBytes } from '@noble/hashes/utils';
import { signShort } from './bls-sign.js';
import { BoundedMemo } from './bounded-memo.js';
import type { LabeledTree, Selection } from './hash-tree.js';

const STATE_ROOT_DOMAIN = concatBytes(new Uint8Array([13]), utf8ToBytes('ic-state-root'));
/** Identical trees (e.g. repeated polls of an in-process agent) reuse their signature. */
const SIGNATURE_CACHE_ENTRIES = 256;
/**
 * A certification is reused while the state is unchanged and it is younger than this (replica
 * time), about one IC round: certificate times stay fresh for agents, and idle reads cost no BLS.
 */
export const CERTIFICATION_MAX_AGE_NS = 1_000_000_000n;

/** The parts of the state tree besides `time`, compared to tell whether anything changed. */
export interface StateContent {
  tree(timeNs: bigint): LabeledTree;
  /** Hashes of every subtree but time: equal hashes mean an unchanged state. */
  digest(tree: LabeledTree): string;
}

export interface Certification {
  tree: LabeledTree;
  signature: Uint8Array;
  timeNs: bigint;
}

/** Signs state trees with the subnet's BLS key; a tree signed before is not signed again. */
export class CertificateSigner {
  readonly #cache = new BoundedMemo<string, Uint8Array>(SIGNATURE_CACHE_ENTRIES);
  readonly #scalar: bigint;

  constructor(blsSecretKey: Uint8Array) {
    this.#scalar = BigInt(`0x${bytesToHex(blsSecretKey)}`);
  }

  /** The signature over `tree`'s root hash (memoized by the tree, so witnesses reconstruct it). */
  sign(tree: LabeledTree): Uint8Array {
    const root = tree.hash();
    return this.#cache.get(bytesToHex(root), () => signShort(concatBytes(STATE_ROOT_DOMAIN, root), this.#scalar));
  }

  /** The CBOR certificate revealing `selection` of `tree`. */
  certify(tree: LabeledTree, selection: Selection): Uint8Array {
    return encodeWithSelfDescribedTag({ tree: tree.witness(selection), signature: this.sign(tree) });
  }
}

export class CertifiedState {
  #current: Certification | undefined;
  #digest = '';
  /** Set when the state may have changed since the current certification. */
  #dirty = true;
  readonly #signer: CertificateSigner;

  constructor(
    private readonly content: StateContent,
    blsSecretKey: Uint8Array,
    private readonly timeNs: () => bigint
  ) {
    this.#signer = new CertificateSigner(blsSecretKey);
  }

  /** Records that the state may have changed (a round ran); the next read re-certifies if so. */
  invalidate(): void {
    this.#dirty = true;
  }

  /** Signs the state now (the end of an ingress round) unless it is unchanged and fresh. */
  certify(): Certification {
    const nowNs = this.timeNs();
    const current = this.#current;
    const fresh = current !== undefined && nowNs - current.timeNs < CERTIFICATION_MAX_AGE_NS;
    if (fresh && !this.#dirty) return current;
    const tree = this.content.tree(nowNs);
    const digest = this.content.digest(tree);
    this.#dirty = false;
    if (fresh && digest === this.#digest) return current;
    const signature = this.#signer.sign(tree);
    this.#digest = digest;
    this.#current = { tree, signature, timeNs: nowNs };
    return this.#current;
  }

  /** The CBOR certificate revealing `selection` of the current certified state. */
  certificate(selection: Selection): Uint8Array {
    const { tree, signature } = this.certify();
    return encodeWithSelfDescribedTag({ tree: tree.witness(selection), signature });
  }
}
