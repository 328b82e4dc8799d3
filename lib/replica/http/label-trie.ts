// The request statuses' map in the certified state: a persistent binary trie over fixed-length
// labels (request ids), arranged as the map's fork tree. The spec leaves a map's fork shape free as
// long as labels stay in order, and a trie's in-order leaves are its labels sorted bytewise (for
// labels of one length, bit order is byte order), so the trie IS the hash tree: a fork per branch,
// a labeled node per leaf. Setting or removing one status copies its path (~log2 n nodes) and the
// old trie stays whole, so a signed state keeps answering witnesses while later rounds change the
// statuses; hashes are computed lazily, so a path replaced twice before a certification is hashed
// once. A witness walks only the revealed paths: no rehashing of the other statuses.
import { invariant } from '../errors.js';
import { EMPTY_HASH, forkHash, type HashTree, labeledHash, type Selection, type Witnessed } from './tree-hash.js';

type Node<T extends Witnessed> = Leaf<T> | Branch<T>;

class Leaf<T extends Witnessed> {
  #hash: Uint8Array | undefined;
  constructor(
    readonly label: Uint8Array,
    readonly child: T
  ) {}
  get first(): Uint8Array {
    return this.label;
  }
  get last(): Uint8Array {
    return this.label;
  }
  hash(): Uint8Array {
    return (this.#hash ??= labeledHash(this.label, this.child.hash()));
  }
}

/** Every label below shares its first `bit` bits; `left` holds those whose bit `bit` is 0. */
class Branch<T extends Witnessed> {
  #hash: Uint8Array | undefined;
  readonly first: Uint8Array;
  readonly last: Uint8Array;
  constructor(
    readonly bit: number,
    readonly left: Node<T>,
    readonly right: Node<T>
  ) {
    this.first = left.first;
    this.last = right.last;
  }
  hash(): Uint8Array {
    return (this.#hash ??= forkHash(this.left.hash(), this.right.hash()));
  }
}

const bitAt = (label: Uint8Array, bit: number): number => (label[bit >> 3] >> (7 - (bit & 7))) & 1;

/** The first bit at which two labels of one length differ, or -1 when they are equal. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i * 8 + Math.clz32(a[i] ^ b[i]) - 24;
  return -1;
}

export class LabelTrie<T extends Witnessed> {
  private constructor(
    private readonly root: Node<T> | undefined,
    /** The one length every label has (undefined while empty). */
    readonly labelLength: number | undefined
  ) {}

  static empty<T extends Witnessed>(): LabelTrie<T> {
    return new LabelTrie<T>(undefined, undefined);
  }

  /** A trie with `label` mapped to `child` (added or replaced); this one is unchanged. */
  set(label: Uint8Array, child: T): LabelTrie<T> {
    invariant(this.labelLength === undefined || label.length === this.labelLength, `LabelTrie.set: a ${label.length}-byte label in a trie of ${this.labelLength}-byte labels`);
    return new LabelTrie(this.root === undefined ? new Leaf(label, child) : insert(this.root, new Leaf(label, child)), label.length);
  }

  /** A trie without `label` (this one when it is absent). */
  delete(label: Uint8Array): LabelTrie<T> {
    if (this.root === undefined || label.length !== this.labelLength) return this;
    const root = remove(this.root, label);
    return root === this.root ? this : new LabelTrie(root, root === undefined ? undefined : this.labelLength);
  }

  get(label: Uint8Array): T | undefined {
    return this.#leaf(label)?.child;
  }

  /** The leaf holding `label`, if any (one walk down its bits). */
  #leaf(label: Uint8Array): Leaf<T> | undefined {
    if (this.root === undefined || label.length !== this.labelLength) return undefined;
    let node = this.root;
    while (node instanceof Branch) node = bitAt(label, node.bit) === 0 ? node.left : node.right;
    return firstDifference(node.label, label) < 0 ? node : undefined;
  }

  hash(): Uint8Array {
    return this.root?.hash() ?? EMPTY_HASH;
  }

  /** Reveals the selected labels (and, for each absent one, its neighbours); prunes the rest. */
  witness(selection: Selection): HashTree {
    if (this.root === undefined) return [0];
    if (selection === 'all') return whole(this.root);
    const revealed = new Map<Leaf<T>, HashTree>();
    for (const { label, below } of selection.values()) {
      const leaf = this.#leaf(label);
      if (leaf !== undefined) {
        revealed.set(leaf, leaf.child.witness(below));
        continue;
      }
      // Absent: its neighbours' labels show that nothing lies between them.
      for (const neighbour of [predecessor(this.root, label), successor(this.root, label)]) {
        if (neighbour !== undefined && !revealed.has(neighbour)) revealed.set(neighbour, [4, neighbour.child.hash()]);
      }
    }
    return pruned(this.root, [...revealed.keys()], revealed);
  }
}

function insert<T extends Witnessed>(node: Node<T>, leaf: Leaf<T>): Node<T> {
  const difference = firstDifference(node.first, leaf.label);
  if (node instanceof Leaf) return difference < 0 ? leaf : join(difference, node, leaf);
  if (difference >= 0 && difference < node.bit) return join(difference, node, leaf);
  return bitAt(leaf.label, node.bit) === 0 ? new Branch(node.bit, insert(node.left, leaf), node.right) : new Branch(node.bit, node.left, insert(node.right, leaf));
}

/** The branch at `bit`, where `node`'s labels and the new leaf's part. */
function join<T extends Witnessed>(bit: number, node: Node<T>, leaf: Leaf<T>): Branch<T> {
  return bitAt(leaf.label, bit) === 0 ? new Branch(bit, leaf, node) : new Branch(bit, node, leaf);
}

/** `node` without `label`: the same node when absent, undefined when nothing is left. */
function remove<T extends Witnessed>(node: Node<T>, label: Uint8Array): Node<T> | undefined {
  if (node instanceof Leaf) return firstDifference(node.label, label) < 0 ? undefined : node;
  const goLeft = bitAt(label, node.bit) === 0;
  const [side, other] = goLeft ? [node.left, node.right] : [node.right, node.left];
  const next = remove(side, label);
  if (next === side) return node;
  if (next === undefined) return other;
  return goLeft ? new Branch(node.bit, next, node.right) : new Branch(node.bit, node.left, next);
}

/** The last leaf whose label sorts before `label` (any length: compared bytewise). */
function predecessor<T extends Witnessed>(node: Node<T>, label: Uint8Array): Leaf<T> | undefined {
  if (node instanceof Leaf) return Buffer.compare(node.label, label) < 0 ? node : undefined;
  return Buffer.compare(node.right.first, label) < 0 ? predecessor(node.right, label) : predecessor(node.left, label);
}

/** The first leaf whose label sorts after `label`. */
function successor<T extends Witnessed>(node: Node<T>, label: Uint8Array): Leaf<T> | undefined {
  if (node instanceof Leaf) return Buffer.compare(node.label, label) > 0 ? node : undefined;
  return Buffer.compare(node.left.last, label) > 0 ? successor(node.left, label) : successor(node.right, label);
}

function whole<T extends Witnessed>(node: Node<T>): HashTree {
  return node instanceof Leaf ? [2, node.label, node.child.witness('all')] : [1, whole(node.left), whole(node.right)];
}

/**
 * The fork tree with every subtree that holds no revealed leaf pruned to its hash: the revealed
 * leaves are split by each branch's bit on the way down, so only their paths are visited.
 */
function pruned<T extends Witnessed>(node: Node<T>, leaves: readonly Leaf<T>[], revealed: Map<Leaf<T>, HashTree>): HashTree {
  if (leaves.length === 0) return [4, node.hash()];
  if (node instanceof Leaf) return [2, node.label, revealed.get(node)!];
  const [left, right] = [leaves.filter(leaf => bitAt(leaf.label, node.bit) === 0), leaves.filter(leaf => bitAt(leaf.label, node.bit) === 1)];
  return [1, pruned(node.left, left, revealed), pruned(node.right, right, revealed)];
}
