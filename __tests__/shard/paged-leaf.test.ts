// The slotted leaf on its own: inserts append to the heap, removals leave dead bytes until the
// bound compacts them, split / concat / compacted keep the entries and their order, and a leaf
// changed in place encodes to what it holds.
import { compareBytes } from '../../lib/model/keys.js';
import { keyString, Leaf, LEAF_DEAD_SLACK_BYTES } from '../../lib/shard/paged-leaf.js';

function leafOf(keys: Uint8Array[]): Leaf {
  const leaf = Leaf.empty();
  for (const key of keys) leaf.insert(leaf.lowerBound(keyString(key)), key, key.length * 10, keyString(key));
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
  const removed = leaf;
  removed.remove(leaf.indexOf(keyString(new Uint8Array([9, 9, 9]))));
  removed.check();
  expect(removed.deadBytes()).toBe(3);
  expect(entries(removed)).toEqual(sorted(keys.filter((k) => keyString(k) !== keyString(new Uint8Array([9, 9, 9])))));
  const compact = removed.compacted();
  compact.check();
  expect([compact.deadBytes(), compact.storedBytes()]).toEqual([0, removed.storedBytes() - 3]);
  expect(compact.encode().length).toBe(compact.storedBytes());
  expect(entries(compact)).toEqual(entries(removed));
});

test('dead bytes past the bound are compacted on removal', () => {
  const big = Array.from({ length: 6 }, (_, i) => new Uint8Array(LEAF_DEAD_SLACK_BYTES / 2).fill(i));
  let leaf = leafOf([...big, new Uint8Array([255])]);
  const removeFirst = (): Leaf => (leaf.remove(0), (leaf = leaf.compactedIfDead()));
  for (let i = 0; i < 3; i++) removeFirst();
  leaf.check();
  expect(leaf.deadBytes()).toBeLessThan(LEAF_DEAD_SLACK_BYTES * 2);
  removeFirst();
  expect(leaf.deadBytes()).toBe(4 * 512); // 2,048 dead for 1,025 live: within 2 × live + slack
  removeFirst(); // 2,560 dead for 513 live: past the bound, compacted
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
  const bytes = leaf.encode();
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  expect(entries(Leaf.decode(shifted.subarray(1)))).toEqual(entries(leaf));
});

test('a decoded leaf grows past its spare room and still encodes what it holds; the stored form is the slotted page', () => {
  const leaf = Leaf.decode(leafOf(keys).encode());
  const more = Array.from({ length: 100 }, (_, i) => new Uint8Array(20).fill(i + 10));
  for (const key of more) leaf.insert(leaf.lowerBound(keyString(key)), key, 7, keyString(key));
  leaf.setValueLength(0, 12345);
  leaf.check();
  const bytes = leaf.encode();
  const words = new Uint32Array(bytes.buffer, 0, 2);
  expect([words[0], words[1], bytes.length]).toEqual([leaf.count, 0, 8 + 12 * leaf.count + leaf.keyBytes()]);
  const again = Leaf.decode(bytes);
  again.check();
  expect(entries(again)).toEqual(entries(leaf));
  expect(again.valueLength(0)).toBe(12345);
  for (const key of [...keys, ...more]) expect(again.key(again.indexOf(keyString(key)))).toEqual(key);
});

test('keyString orders like the bytes, including long keys built in pieces', () => {
  const long = new Uint8Array(10_000).fill(3);
  const longer = long.slice();
  longer[9_999] = 4;
  expect(keyString(long) < keyString(longer)).toBe(true);
  expect(keyString(long).length).toBe(10_000);
  expect(keyString(new Uint8Array([1, 255])) > keyString(new Uint8Array([1, 128, 0]))).toBe(true);
});
