// Witnesses of the certified state tree: the root hash never depends on what is revealed, revealed
// leaves are found by the agent's own lookup, and missing labels are provably absent.
import { lookup_path, LookupPathStatus, reconstruct as agentReconstruct, type HashTree as AgentHashTree } from '@dfinity/agent';
import fc from 'fast-check';
import { type HashTree, LabeledTree, selectionOf } from '../../lib/replica/http/hash-tree.js';
import { LabelTrie } from '../../lib/replica/http/label-trie.js';

type Shape = string | { [label: string]: Shape };

const label = fc.constantFrom('a', 'b', 'c', 'time', 'zz', '\u00ff');
const shape: fc.Arbitrary<Shape> = fc.letrec<{ node: Shape }>(tie => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.string({ maxLength: 3 }), fc.dictionary(label, tie('node'), { maxKeys: 5 }))
})).node;

const build = (s: Shape): LabeledTree => (typeof s === 'string' ? LabeledTree.leaf(s) : LabeledTree.map(Object.entries(s).map(([k, v]) => [k, build(v)])));
const enc = (s: string) => new TextEncoder().encode(s);

function resolve(s: Shape, path: string[]): string | undefined {
  let node: Shape | undefined = s;
  for (const part of path) {
    if (typeof node !== 'object' || !(part in node)) return undefined;
    node = node[part];
  }
  return typeof node === 'string' ? node : undefined;
}

test('witnesses keep the root hash, reveal requested leaves and prove missing labels absent', async () => {
  await fc.assert(
    fc.asyncProperty(fc.dictionary(label, shape, { maxKeys: 5 }), fc.array(fc.array(label, { minLength: 1, maxLength: 3 }), { maxLength: 4 }), async (root, paths) => {
      const tree = build(root);
      const witness = tree.witness(selectionOf(paths.map(p => p.map(enc))));
      expect(Buffer.from(await agentReconstruct(witness as AgentHashTree))).toEqual(Buffer.from(tree.hash()));
      for (const path of paths) {
        const result = lookup_path(path, witness as AgentHashTree);
        const leaf = resolve(root, path);
        if (leaf !== undefined) {
          expect(result.status).toBe(LookupPathStatus.Found);
          expect(new TextDecoder().decode((result as { value: Uint8Array }).value)).toBe(leaf);
        }
        let parent: Shape = root;
        for (const [i, part] of path.entries()) {
          if (typeof parent !== 'object') break;
          if (!(part in parent)) {
            expect(lookup_path(path.slice(0, i + 1), witness as AgentHashTree).status).toBe(LookupPathStatus.Absent);
            break;
          }
          parent = parent[part];
        }
      }
    }),
    { numRuns: process.env.SHARDORM_LONG ? 2000 : 200, seed: 4 }
  );
});

test('unrequested subtrees are pruned away', () => {
  const tree = LabeledTree.map([
    ['time', LabeledTree.leaf('t')],
    ['secret', LabeledTree.map([['x', LabeledTree.leaf('hidden')]])]
  ]);
  const witness = tree.witness(selectionOf([[enc('time')]]));
  expect(JSON.stringify(witness)).not.toContain(JSON.stringify([...enc('hidden')]).slice(1, -1));
  // (The agent reports Absent or Unknown here depending on label bytes; never Found.)
  expect(lookup_path(['secret', 'x'], witness as AgentHashTree).status).not.toBe(LookupPathStatus.Found);
  expect(() => LabeledTree.map([['a', LabeledTree.leaf('1')], ['a', LabeledTree.leaf('2')]])).toThrow(/duplicate label/);
});

// Labels of one length: the agent's label comparison (isBufferGreaterThan) misorders a label after
// its own proper prefix; the replica's labels at any one level (request ids, canister ids) never
// are prefixes of each other.
/**
 * The spec's absence proof in one map: the witness's labeled nodes at this level, in order, hold
 * the neighbours of `label` with no pruned subtree between them (the agent's own lookup compares
 * labels byte by byte with "any byte greater", so it answers Unknown for some provable absences).
 */
function provablyAbsent(label: Uint8Array, witness: HashTree): boolean {
  const flat = (t: HashTree): HashTree[] => (t[0] === 1 ? [...flat(t[1]), ...flat(t[2])] : t[0] === 0 ? [] : [t]);
  const nodes = flat(witness);
  const after = nodes.findIndex(n => n[0] === 2 && Buffer.compare(n[1], label) > 0);
  const before = (after < 0 ? nodes : nodes.slice(0, after)).findLastIndex(n => n[0] !== 2 || Buffer.compare(n[1], label) < 0);
  const between = nodes.slice(before + 1, after < 0 ? nodes.length : after);
  return between.length === 0 && (before < 0 || nodes[before][0] === 2) && (after < 0 || nodes[after][0] === 2) && nodes.every(n => n[0] !== 2 || Buffer.compare(n[1], label) !== 0);
}

const twoBytes = fc.uint8Array({ minLength: 2, maxLength: 2 });
const operation = fc.oneof(fc.record({ set: twoBytes, value: fc.string({ maxLength: 3 }) }), fc.record({ remove: twoBytes }));

test('a map held as a trie answers lookups, witnesses and absence proofs as its model says, and a trie kept from before later changes still does', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(operation, { maxLength: 60 }), fc.integer({ min: 0, max: 60 }), fc.array(twoBytes, { maxLength: 4 }), async (operations, keptAt, missing) => {
      const model = new Map<string, string>();
      let trie = LabelTrie.empty<LabeledTree>();
      let kept: { trie: LabelTrie<LabeledTree>; model: Map<string, string> } | undefined;
      for (const [i, op] of operations.entries()) {
        if (i === keptAt) kept = { trie, model: new Map(model) };
        if ('set' in op) {
          trie = trie.set(op.set, LabeledTree.leaf(op.value));
          model.set(Buffer.from(op.set).toString('hex'), op.value);
        } else {
          trie = trie.delete(op.remove);
          model.delete(Buffer.from(op.remove).toString('hex'));
        }
      }
      for (const state of [{ trie, model }, ...(kept ? [kept] : [])]) {
        const tree = LabeledTree.fromTrie(state.trie);
        const present = [...state.model.keys()].map(hex => Buffer.from(hex, 'hex'));
        const asked = [...present.filter((_, i) => i % 3 === 0), ...missing];
        const witness = tree.witness(selectionOf(asked.map(l => [l])));
        expect(Buffer.from(await agentReconstruct(witness as AgentHashTree))).toEqual(Buffer.from(tree.hash()));
        expect(Buffer.from(await agentReconstruct(tree.witness('all') as AgentHashTree))).toEqual(Buffer.from(tree.hash()));
        for (const label of asked) {
          const value = state.model.get(Buffer.from(label).toString('hex'));
          const result = lookup_path([label], witness as AgentHashTree);
          if (value !== undefined) expect([result.status, new TextDecoder().decode((result as { value: Uint8Array }).value)]).toEqual([LookupPathStatus.Found, value]);
          else expect([result.status, provablyAbsent(label, witness)]).toEqual([expect.not.stringMatching(LookupPathStatus.Found), true]);
          expect(tree.lookup([label])?.value).toEqual(value === undefined ? undefined : enc(value));
        }
      }
    }),
    { numRuns: process.env.SHARDORM_LONG ? 2000 : 200, seed: 5 }
  );
  expect(() => LabelTrie.empty<LabeledTree>().set(enc('ab'), LabeledTree.leaf('')).set(enc('abc'), LabeledTree.leaf(''))).toThrow(/2-byte labels/);
  // A reader may ask for a label of another length (read_state paths are the client's): absent, and
  // the witness still reconstructs the root hash.
  const twoByteTree = LabeledTree.fromTrie(LabelTrie.empty<LabeledTree>().set(enc('ab'), LabeledTree.leaf('1')).set(enc('ba'), LabeledTree.leaf('2')));
  for (const odd of [enc('abc'), enc('a'), enc('zzz')]) {
    const witness = twoByteTree.witness(selectionOf([[odd]]));
    expect(Buffer.from(await agentReconstruct(witness as AgentHashTree))).toEqual(Buffer.from(twoByteTree.hash()));
    expect([twoByteTree.lookup([odd]), provablyAbsent(odd, witness)]).toEqual([undefined, true]);
  }
  // Empty (at first, and again once its last label is removed): a witness proves every label absent.
  const emptied = LabelTrie.empty<LabeledTree>().set(enc('ab'), LabeledTree.leaf('x')).delete(enc('ab'));
  for (const trie of [LabelTrie.empty<LabeledTree>(), emptied]) {
    const empty = LabeledTree.fromTrie(trie);
    expect([empty.witness(selectionOf([[enc('x')]])), Buffer.from(empty.hash())]).toEqual([[0], Buffer.from(LabeledTree.map([]).hash())]);
  }
});
