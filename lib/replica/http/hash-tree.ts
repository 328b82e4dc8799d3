// The certified state as a labeled tree, and witnesses of it (interface spec, "Certificate" and
// "Lookup"): a node is a leaf or a sorted map of labels; a map's children are arranged as a
// balanced binary tree of forks. A witness reveals the requested paths, proves absent labels with
// their neighbours, and prunes everything else down to hashes.
import { bytesToHex, concatBytes, utf8ToBytes } from '@noble/hashes/utils';
import { createHash } from 'node:crypto';

export type HashTree =
  | [0]
  | [1, HashTree, HashTree]
  | [2, Uint8Array, HashTree]
  | [3, Uint8Array]
  | [4, Uint8Array];

const domain = (name: string): Uint8Array => concatBytes(new Uint8Array([name.length]), utf8ToBytes(name));
const EMPTY = domain('ic-hashtree-empty');
const FORK = domain('ic-hashtree-fork');
const LABELED = domain('ic-hashtree-labeled');
const LEAF = domain('ic-hashtree-leaf');
/** SHA-256 of the concatenated parts (Node's native hash: the tree is rehashed on every update). */
function sha256(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}
const EMPTY_HASH = sha256(EMPTY);

/** Which parts of a tree a reader asked for: everything below, or some labels. */
export type Selection = 'all' | Map<string, { label: Uint8Array; below: Selection }>;

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

interface Piece {
  tree: HashTree;
  hash: Uint8Array;
  pruned: boolean;
}

export class LabeledTree {
  #hash: Uint8Array | undefined;
  /** For concat(): the hashes of every level of the segments' fork tree (level 0: the segments). */
  #levels: Uint8Array[][] | undefined;

  private constructor(
    readonly value: Uint8Array | undefined,
    readonly children: ReadonlyArray<readonly [Uint8Array, LabeledTree]>,
    /** For concat(): consecutive maps whose fork trees are kept (and their hashes memoized). */
    readonly segments?: readonly LabeledTree[]
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

  /**
   * One map made of `segments`, maps whose labels are sorted across them (every label of a segment
   * precedes every label of the next). The spec leaves the fork shape free as long as labels stay
   * in order, so each segment keeps its own fork subtree: changing one entry of a large map (the
   * request statuses) rehashes one segment instead of the whole map.
   */
  static concat(segments: readonly LabeledTree[]): LabeledTree {
    for (const [i, segment] of segments.entries()) {
      if (segment.value !== undefined || segment.segments !== undefined || segment.children.length === 0) {
        throw new Error('LabeledTree.concat: segments must be non-empty plain maps');
      }
      if (i > 0 && Buffer.compare(segments[i - 1].children.at(-1)![0], segment.children[0][0]) >= 0) {
        throw new Error(`LabeledTree.concat: segment ${i} does not follow segment ${i - 1} in label order`);
      }
    }
    return new LabeledTree(undefined, [], segments);
  }

  /** The hash of this node's hash-tree form (memoized: trees are immutable). */
  hash(): Uint8Array {
    if (this.#hash === undefined) {
      if (this.value !== undefined) this.#hash = sha256(LEAF, this.value);
      else if (this.segments !== undefined) this.#hash = this.segments.length === 0 ? EMPTY_HASH : this.#segmentLevels().at(-1)![0];
      else this.#hash = forkAll(this.children.map(labeledPiece)).hash;
    }
    return this.#hash;
  }

  /** The subtree at `path` (labels as bytes or UTF-8 text), or undefined where a label is absent. */
  lookup(path: readonly (Uint8Array | string)[]): LabeledTree | undefined {
    let node: LabeledTree | undefined = this;
    for (const part of path) {
      const label = typeof part === 'string' ? utf8ToBytes(part) : part;
      const children: ReadonlyArray<readonly [Uint8Array, LabeledTree]> =
        node.segments === undefined ? node.children : (node.segments.findLast(segment => Buffer.compare(segment.children[0][0], label) <= 0)?.children ?? []);
      const at = lowerBound(children, label);
      node = at < children.length && Buffer.compare(children[at][0], label) === 0 ? children[at][1] : undefined;
      if (node === undefined) return undefined;
    }
    return node;
  }

  /** The witness revealing `selection`. Its root hash equals `hash()`. */
  witness(selection: Selection): HashTree {
    if (this.value !== undefined) return [3, this.value];
    if (this.segments !== undefined) return this.#segmentsWitness(this.segments, selection);
    if (selection === 'all') return forkAll(this.children.map(([label, child]) => revealed(label, child, child.witness('all')))).tree;
    const pieces = this.children.map(labeledPiece);
    for (const { label, below } of selection.values()) {
      const at = lowerBound(this.children, label);
      if (at < this.children.length && Buffer.compare(this.children[at][0], label) === 0) {
        pieces[at] = revealed(label, this.children[at][1], this.children[at][1].witness(below));
      } else {
        // Absent: reveal the neighbours' labels so the reader can prove nothing lies between them.
        for (const i of [at - 1, at]) {
          if (i >= 0 && i < this.children.length && pieces[i].pruned) {
            const [neighbour, child] = this.children[i];
            pieces[i] = revealed(neighbour, child, [4, child.hash()]);
          }
        }
      }
    }
    return forkAll(pieces).tree;
  }

  /** Each selected label goes to the segment whose range holds it (from its first label on). */
  #segmentsWitness(segments: readonly LabeledTree[], selection: Selection): HashTree {
    if (segments.length === 0) return [0];
    const below = segments.map((segment, i): Selection | undefined => {
      if (selection === 'all') return 'all';
      const [from, to] = [i === 0 ? undefined : segment.children[0][0], segments[i + 1]?.children[0][0]];
      const inRange = [...selection].filter(([, { label }]) => (from === undefined || Buffer.compare(label, from) >= 0) && (to === undefined || Buffer.compare(label, to) < 0));
      return inRange.length === 0 ? undefined : new Map(inRange);
    });
    // The fork tree forkAll would build over the segments, with unselected subtrees pruned to
    // their memoized hashes: a witness of one request status costs no rehashing of the others.
    const levels = this.#segmentLevels();
    const build = (level: number, index: number): HashTree => {
      const span = 2 ** level;
      if (!below.slice(index * span, (index + 1) * span).some(b => b !== undefined)) return [4, levels[level][index]];
      if (level === 0) return segments[index].witness(below[index]!);
      const [left, right] = [2 * index, 2 * index + 1];
      return right < levels[level - 1].length ? [1, build(level - 1, left), build(level - 1, right)] : build(level - 1, left);
    };
    return build(levels.length - 1, 0);
  }

  /** Pairs neighbours level by level as forkAll does (an odd last one moves up unchanged). */
  #segmentLevels(): Uint8Array[][] {
    if (this.#levels === undefined) {
      const levels = [this.segments!.map(segment => segment.hash())];
      while (levels.at(-1)!.length > 1) {
        const level = levels.at(-1)!;
        const next: Uint8Array[] = [];
        for (let i = 0; i < level.length; i += 2) next.push(i + 1 === level.length ? level[i] : sha256(FORK, level[i], level[i + 1]));
        levels.push(next);
      }
      this.#levels = levels;
    }
    return this.#levels;
  }
}

function labeledPiece([label, child]: readonly [Uint8Array, LabeledTree]): Piece {
  const hash = sha256(LABELED, label, child.hash());
  return { tree: [4, hash], hash, pruned: true };
}

/** A labeled child shown as `subtree` (any witness of `child`, so its hash is `child.hash()`). */
function revealed(label: Uint8Array, child: LabeledTree, subtree: HashTree): Piece {
  return { tree: [2, label, subtree], hash: sha256(LABELED, label, child.hash()), pruned: false };
}

/** Combines sibling pieces into a balanced fork tree; all-pruned forks collapse to one hash. */
function forkAll(pieces: Piece[]): Piece {
  if (pieces.length === 0) return { tree: [0], hash: EMPTY_HASH, pruned: false };
  let level = pieces;
  while (level.length > 1) {
    const next: Piece[] = [];
    for (let i = 0; i < level.length; i += 2) {
      if (i + 1 === level.length) {
        next.push(level[i]);
        continue;
      }
      const [left, right] = [level[i], level[i + 1]];
      const hash = sha256(FORK, left.hash, right.hash);
      next.push(left.pruned && right.pruned ? { tree: [4, hash], hash, pruned: true } : { tree: [1, left.tree, right.tree], hash, pruned: false });
    }
    level = next;
  }
  return level[0];
}

function lowerBound(children: ReadonlyArray<readonly [Uint8Array, LabeledTree]>, label: Uint8Array): number {
  let [lo, hi] = [0, children.length];
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (Buffer.compare(children[mid][0], label) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
