// Witnesses of the certified state tree: the root hash never depends on what is revealed, revealed
// leaves are found by the agent's own lookup, and missing labels are provably absent.
import { lookup_path, LookupPathStatus, reconstruct as agentReconstruct, type HashTree as AgentHashTree } from '@dfinity/agent';
import fc from 'fast-check';
import { LabeledTree, selectionOf } from '../../lib/replica/http/hash-tree.js';

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
test('a map concatenated from segments keeps lookups and root hashes consistent', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uniqueArray(fc.uint8Array({ minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 40, comparator: (a, b) => Buffer.compare(a, b) === 0 }), fc.integer({ min: 1, max: 6 }), fc.array(fc.uint8Array({ minLength: 2, maxLength: 2 }), { maxLength: 4 }), async (labels, parts, missing) => {
      const sorted = [...labels].sort((a, b) => Buffer.compare(a, b));
      const size = Math.ceil(sorted.length / parts);
      const segments = [];
      for (let i = 0; i < sorted.length; i += size) segments.push(LabeledTree.map(sorted.slice(i, i + size).map(l => [l, LabeledTree.leaf(l)] as const)));
      const tree = LabeledTree.concat(segments);
      const asked = [...sorted.filter((_, i) => i % 3 === 0), ...missing];
      const witness = tree.witness(selectionOf(asked.map(l => [l])));
      expect(Buffer.from(await agentReconstruct(witness as AgentHashTree))).toEqual(Buffer.from(tree.hash()));
      expect(Buffer.from(await agentReconstruct(tree.witness('all') as AgentHashTree))).toEqual(Buffer.from(tree.hash()));
      for (const label of asked) {
        const result = lookup_path([label], witness as AgentHashTree);
        const present = sorted.some(l => Buffer.compare(l, label) === 0);
        if (present) expect(result).toMatchObject({ status: LookupPathStatus.Found, value: label });
        else expect(result.status).not.toBe(LookupPathStatus.Found);
      }
    }),
    { numRuns: process.env.SHARDORM_LONG ? 2000 : 200, seed: 5 }
  );
  expect(() => LabeledTree.concat([LabeledTree.map([['b', LabeledTree.leaf('')]]), LabeledTree.map([['a', LabeledTree.leaf('')]])])).toThrow(/label order/);
  // No segments: an empty map, whose witness proves every label absent.
  const empty = LabeledTree.concat([]);
  expect([empty.witness(selectionOf([[enc('x')]])), Buffer.from(empty.hash())]).toEqual([[0], Buffer.from(LabeledTree.map([]).hash())]);
});
