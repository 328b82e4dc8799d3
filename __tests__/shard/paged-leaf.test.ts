// The slotted leaf on its own: inserts append to the heap, removals leave dead bytes until the
// bound compacts them, and split / concat / compacted keep the entries and their order.
import { compareBytes } from '../../lib/model/keys.js';
import { keyString, Leaf, LEAF_DEAD_SLACK_BYTES } from '../../lib/shard/paged-leaf.js';

function leafOf(keys: Uint8Array[]): Leaf {
  let leaf = Leaf.empty();
  for (const key of keys) leaf = leaf.withInserted(leaf.lowerBound(keyString(key)), key, key.length * 10);
  return leaf;
}

const entries = (leaf: Leaf): [number[], number][] => Array.from({ length: leaf.count }, (_, i) => [[...leaf.key(i)], leaf.valueLength(i)]);
const sorted = (keys: Uint8Array[]): [number[], number][] => [...keys].sort(compareBytes).map((k) => [[...k], k.length * 10]);

const keys = [[5], [1, 2], [], [1], [9, 9, 9], [1, 2, 0], [200], [0]].map((k) => new Uint8Array(k));

test('keys inserted in any order read back sorted; search finds each', () => {
  const leaf = leafOf(keys);
  leaf.check();
  expect(entries(leaf)).toEqual(sorted(keys));
  for (const key of keys) expect(leaf.key(leaf.indexOf(keyString(key)))).toEqual(key);
  expect(leaf.indexOf(keyString(new Uint8Array([7])))).toBe(-1);
  expect(leaf.keyBytes()).toBe(keys.reduce((n, k) => n + k.length, 0));
});

test('removal leaves dead bytes; compaction drops them and keeps the entries', () => {
  const leaf = leafOf(keys);
  const removed = leaf.withRemoved(leaf.indexOf(keyString(new Uint8Array([9, 9, 9]))));
  removed.check();
  expect(removed.deadBytes()).toBe(3);
  expect(entries(removed)).toEqual(sorted(keys.filter((k) => keyString(k) !== keyString(new Uint8Array([9, 9, 9])))));
  const compact = removed.compacted();
  compact.check();
  expect([compact.deadBytes(), compact.bytes.length]).toEqual([0, removed.bytes.length - 3]);
  expect(entries(compact)).toEqual(entries(removed));
});

test('dead bytes past the bound are compacted on removal', () => {
  const big = Array.from({ length: 6 }, (_, i) => new Uint8Array(LEAF_DEAD_SLACK_BYTES / 2).fill(i));
  let leaf = leafOf([...big, new Uint8Array([255])]);
  for (let i = 0; i < 3; i++) leaf = leaf.withRemoved(0);
  leaf.check();
  expect(leaf.deadBytes()).toBeLessThan(LEAF_DEAD_SLACK_BYTES * 2);
  leaf = leaf.withRemoved(0);
  expect(leaf.deadBytes()).toBe(4 * 512); // 2,048 dead for 1,025 live: within 2 × live + slack
  leaf = leaf.withRemoved(0); // 2,560 dead for 513 live: past the bound, compacted
  leaf.check();
  expect([leaf.count, leaf.deadBytes(), leaf.keyBytes()]).toEqual([2, 0, 513]);
});

test('split halves by key bytes; concat in either size order restores the leaf', () => {
  const leaf = leafOf(keys);
  const [left, right] = leaf.split();
  left.check();
  right.check();
  expect([...entries(left), ...entries(right)]).toEqual(entries(leaf));
  expect(left.count).toBeGreaterThan(0);
  expect(right.count).toBeGreaterThan(0);
  for (const [a, b] of [[left, right], [left.split()[0], left.split()[1]]]) {
    const joined = a.concat(b);
    joined.check();
    expect(entries(joined)).toEqual([...entries(a), ...entries(b)]);
  }
  const small = leafOf([new Uint8Array([0])]);
  const rest = leafOf(keys.filter((k) => compareBytes(k, new Uint8Array([0])) > 0));
  const joined = small.concat(rest); // the first leaf has fewer entries: its heap goes second
  joined.check();
  expect(entries(joined)).toEqual([...entries(small), ...entries(rest)]);
});

test('a leaf read from unaligned bytes is copied, not misread', () => {
  const leaf = leafOf(keys);
  const shifted = new Uint8Array(leaf.bytes.length + 1);
  shifted.set(leaf.bytes, 1);
  expect(entries(new Leaf(shifted.subarray(1)))).toEqual(entries(leaf));
});

test('keyString orders like the bytes, including long keys built in pieces', () => {
  const long = new Uint8Array(10_000).fill(3);
  const longer = long.slice();
  longer[9_999] = 4;
  expect(keyString(long) < keyString(longer)).toBe(true);
  expect(keyString(long).length).toBe(10_000);
  expect(keyString(new Uint8Array([1, 255])) > keyString(new Uint8Array([1, 128, 0]))).toBe(true);
});
