// The certified state as a labeled tree, and witnesses of it (interface spec, "Certificate" and
// "Lookup"): a node is a leaf or a sorted map of labels; a map's children are arranged as a
// balanced binary tree of forks (or, for the request statuses, as a LabelTrie). A witness reveals
// the requested paths, proves absent labels with their neighbours, and prunes everything else
// down to hashes. Trees are immutable and memoize their hashes, fork levels included, so a
// witness of a tree already hashed costs no hashing at all (every v3 call reply is one).
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';
import type { LabelTrie } from './label-trie.js';
import { EMPTY_HASH, forkHash, type HashTree, labeledHash, leafHash, type Selection } from './tree-hash.js';

export type { HashTree, Selection } from './tree-hash.js';

/** Builds the selection for read_state paths; a path that ends selects its whole subtree. */
export function selectionOf(paths: readonly (readonly Uint8Array[])[]): Selection {
  const root: Selection = new Map();
  for (const path of paths) {
    if (path.length === 0) return 'all';
    let node: Selection = root;
    for (const [i, label] of path.entries()) {
      if (node === 'all') break;
      const key = bytesToHex(label);
      const last = i === path.length - 1;
      const entry = node.get(key);
      if (last) {
        node.set(key, { label, below: 'all' });
      } else if (entry === undefined) {
        const below: Selection = new Map();
        node.set(key, { label, below });
        node = below;
      } else {
        node = entry.below;
      }
    }
  }
  return root;
}

type Children = ReadonlyArray<readonly [Uint8Array, LabeledTree]>;

export class LabeledTree {
  #hash: Uint8Array | undefined;
  /** A map's fork tree, level by level (level 0: its labeled children), as forkLevels builds it. */
  #levels: Uint8Array[][] | undefined;

  private constructor(
    readonly value: Uint8Array | undefined,
    readonly children: Children,
    /** A map held as a trie (the request statuses); `children` is then empty. */
    readonly trie?: LabelTrie<LabeledTree>
  ) {}

  static leaf(value: Uint8Array | string): LabeledTree {
    return new LabeledTree(typeof value === 'string' ? utf8ToBytes(value) : value, []);
  }

  /** A map node; labels are sorted bytewise and must be unique. */
  static map(entries: Iterable<readonly [Uint8Array | string, LabeledTree]>): LabeledTree {
    const children = [...entries]
      .map(([label, tree]) => [typeof label === 'string' ? utf8ToBytes(label) : label, tree] as const)
      .sort(([a], [b]) => Buffer.compare(a, b));
    for (let i = 1; i < children.length; i++) {
      if (Buffer.compare(children[i - 1][0], children[i][0]) === 0) {
        throw new Error(`LabeledTree.map: duplicate label ${bytesToHex(children[i][0])}`);
      }
    }
    return new LabeledTree(undefined, children);
  }

  /** A map whose fork tree is `trie`'s (any in-order arrangement of the labels is a valid map). */
  static fromTrie(trie: LabelTrie<LabeledTree>): LabeledTree {
    return new LabeledTree(undefined, [], trie);
  }

  /** The hash of this node's hash-tree form (memoized: trees are immutable). */
  hash(): Uint8Array {
    if (this.#hash === undefined) {
      if (this.value !== undefined) this.#hash = leafHash(this.value);
      else if (this.trie !== undefined) this.#hash = this.trie.hash();
      else this.#hash = this.children.length === 0 ? EMPTY_HASH : this.#forkLevels().at(-1)![0];
    }
    return this.#hash;
  }

  /** The subtree at `path` (labels as bytes or UTF-8 text), or undefined where a label is absent. */
  lookup(path: readonly (Uint8Array | string)[]): LabeledTree | undefined {
    let node: LabeledTree | undefined = this;
    for (const part of path) {
      const label = typeof part === 'string' ? utf8ToBytes(part) : part;
      if (node.trie !== undefined) {
        node = node.trie.get(label);
      } else {
        const at = lowerBound(node.children, label);
        node = at < node.children.length && Buffer.compare(node.children[at][0], label) === 0 ? node.children[at][1] : undefined;
      }
      if (node === undefined) return undefined;
    }
    return node;
  }

  /** The witness revealing `selection`. Its root hash equals `hash()`. */
  witness(selection: Selection): HashTree {
    if (this.value !== undefined) return [3, this.value];
    if (this.trie !== undefined) return this.trie.witness(selection);
    const children = this.children;
    if (children.length === 0) return [0];
    const revealed = new Map<number, HashTree>();
    if (selection === 'all') {
      for (const [i, [label, child]] of children.entries()) revealed.set(i, [2, label, child.witness('all')]);
    } else {
      for (const { label, below } of selection.values()) {
        const at = lowerBound(children, label);
        if (at < children.length && Buffer.compare(children[at][0], label) === 0) {
          revealed.set(at, [2, label, children[at][1].witness(below)]);
          continue;
        }
        // Absent: reveal the neighbours' labels so the reader can prove nothing lies between them.
        for (const i of [at - 1, at]) {
          if (i >= 0 && i < children.length && !revealed.has(i)) revealed.set(i, [2, children[i][0], [4, children[i][1].hash()]]);
        }
      }
    }
    const levels = this.#forkLevels();
    // Top down through the memoized fork tree: a subtree without a revealed child is its hash.
    const build = (level: number, index: number): HashTree => {
      if (level === 0) return revealed.get(index) ?? [4, levels[0][index]];
      const span = 2 ** level;
      if (!anyIn(revealed, index * span, (index + 1) * span)) return [4, levels[level][index]];
      const [left, right] = [2 * index, 2 * index + 1];
      return right < levels[level - 1].length ? [1, build(level - 1, left), build(level - 1, right)] : build(level - 1, left);
    };
    return build(levels.length - 1, 0);
  }

  /** Pairs neighbours level by level (an odd last one moves up unchanged) up to one root. */
  #forkLevels(): Uint8Array[][] {
    if (this.#levels === undefined) {
      const levels = [this.children.map(([label, child]) => labeledHash(label, child.hash()))];
      while (levels.at(-1)!.length > 1) {
        const level = levels.at(-1)!;
        const next: Uint8Array[] = [];
        for (let i = 0; i < level.length; i += 2) next.push(i + 1 === level.length ? level[i] : forkHash(level[i], level[i + 1]));
        levels.push(next);
      }
      this.#levels = levels;
    }
    return this.#levels;
  }
}

function anyIn(revealed: Map<number, unknown>, from: number, to: number): boolean {
  for (const index of revealed.keys()) if (index >= from && index < to) return true;
  return false;
}

function lowerBound(children: Children, label: Uint8Array): number {
  let [lo, hi] = [0, children.length];
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (Buffer.compare(children[mid][0], label) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
