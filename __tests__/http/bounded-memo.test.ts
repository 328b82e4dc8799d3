// BoundedMemo: computes a key's value once while it is remembered, forgets the oldest key first at
// its limit, and remembers nothing for a computation that throws.
import { BoundedMemo } from '../../lib/replica/http/bounded-memo.js';

test('a value is computed once, and the oldest key is forgotten first at the limit', () => {
  const computed: string[] = [];
  const memo = new BoundedMemo<string, string>(2);
  const get = (key: string) => memo.get(key, () => (computed.push(key), key.toUpperCase()));
  expect([get('a'), get('b'), get('a')]).toEqual(['A', 'B', 'A']);
  expect(computed).toEqual(['a', 'b']);
  get('c'); // the limit: 'a', the oldest, goes
  get('b');
  get('a');
  expect(computed).toEqual(['a', 'b', 'c', 'a']);
});

test('a computation that throws remembers nothing, and the limit must be at least 1', () => {
  const memo = new BoundedMemo<string, number>(4);
  expect(() => memo.get('bad', () => { throw new Error('refused'); })).toThrow('refused');
  expect(memo.get('bad', () => 7)).toBe(7);
  expect(() => new BoundedMemo(0)).toThrow(/at least 1/);
});
