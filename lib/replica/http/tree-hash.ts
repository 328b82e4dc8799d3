// The hash-tree vocabulary shared by the certified state's two map shapes (hash-tree.ts: maps
// built whole; label-trie.ts: the request statuses, updated in place): the HashTree encoding, what
// a reader selected, and the domain-separated SHA-256 of each node kind (interface spec,
// "Certificate"). Node's one-shot SHA-256 over one buffer: ~0.9 µs a node against ~1.5 µs for a
// createHash with three updates, and certification hashes a few hundred nodes a round.
import { utf8ToBytes } from '@noble/hashes/utils';
import { hash } from 'node:crypto';

export type HashTree =
  | [0]
  | [1, HashTree, HashTree]
  | [2, Uint8Array, HashTree]
  | [3, Uint8Array]
  | [4, Uint8Array];

/** Which parts of a tree a reader asked for: everything below, or some labels (keyed by hex). */
export type Selection = 'all' | Map<string, { label: Uint8Array; below: Selection }>;

/** A subtree as a map holds it: its root hash, and a witness of any selection of it. */
export interface Witnessed {
  hash(): Uint8Array;
  witness(selection: Selection): HashTree;
}

const domain = (name: string): Uint8Array => {
  const text = utf8ToBytes(name);
  return Uint8Array.of(text.length, ...text);
};
const EMPTY = domain('ic-hashtree-empty');
const FORK = domain('ic-hashtree-fork');
const LABELED = domain('ic-hashtree-labeled');
const LEAF = domain('ic-hashtree-leaf');

/** Where a node's hash input is assembled (a leaf's value may be longer: then it gets its own). */
const SCRATCH_BYTES = 4096;
const scratch = new Uint8Array(SCRATCH_BYTES);

/** SHA-256 of the parts concatenated; the digest is Node's own buffer (no copy: one allocation). */
function sha256(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const input = length <= SCRATCH_BYTES ? scratch.subarray(0, length) : new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    input.set(part, offset);
    offset += part.length;
  }
  return hash('sha256', input, 'buffer');
}

export const EMPTY_HASH = sha256(EMPTY);
export const leafHash = (value: Uint8Array): Uint8Array => sha256(LEAF, value);
export const labeledHash = (label: Uint8Array, childHash: Uint8Array): Uint8Array => sha256(LABELED, label, childHash);
export const forkHash = (left: Uint8Array, right: Uint8Array): Uint8Array => sha256(FORK, left, right);
