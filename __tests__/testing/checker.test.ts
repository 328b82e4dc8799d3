// The linearizability checker on hand-made histories: each classic anomaly is rejected with the
// ops that show it; unknown outcomes are accepted both ways where they should be and rejected
// where no choice explains the history; the state bound gives a typed "too large" answer.
import { checkLinearizable, parseHistory, type LinearizabilityResult } from 'shardorm/testing';
import { entity, handHistory, key, patch, row, type HandOp } from './hand-history.js';

const A = key('a');

function rejected(ops: HandOp[]): Extract<LinearizabilityResult, { ok: false }> {
  const r = checkLinearizable(handHistory(ops));
  if (r.ok !== false) throw new Error(`expected a violation, got ${JSON.stringify(r)}`);
  return r;
}
const ids = (r: Extract<LinearizabilityResult, { ok: false }>): number[] => r.ops.map((o) => o.id);
const ignored = (r: Extract<LinearizabilityResult, { ok: false }>): number[] => r.ops.filter((o) => o.outcomeIgnored).map((o) => o.id);

describe('checkLinearizable rejects the classic anomalies with a minimal counterexample', () => {
  test('stale read: a get after an acknowledged update sees the old value', () => {
    const r = rejected([
      { client: 'c1', op: 'insert', key: A, value: entity('a', 1), at: [1, 2], result: row('a', 1, 1) },
      { client: 'c1', op: 'update', key: A, value: patch({ x: 2 }), at: [3, 4], result: row('a', 2, 2) },
      { client: 'c2', op: 'get', key: A, at: [5, 6], result: row('a', 1, 1) },
      { client: 'c3', op: 'get', key: key('b'), at: [7, 8], result: null },
    ]);
    expect(r.key).toBe(A);
    expect(ids(r)).toEqual([0, 1, 2]);
    expect(ignored(r)).toEqual([0]); // the update's v2 already implies the insert happened
    expect(r.explanation).toContain('#2 [5–6] c2: get');
    expect(r.explanation).toContain('{ k: "a", v: 2n, x: 2 }');
  });

  test('lost write: an acknowledged insert is not there for a later read', () => {
    const r = rejected([
      { client: 'c1', op: 'insert', key: A, value: entity('a', 1), at: [1, 2], result: row('a', 1, 1) },
      { client: 'c2', op: 'get', key: A, at: [3, 4], result: null },
    ]);
    expect(ids(r)).toEqual([0, 1]);
  });

  test('resurrected delete: a deleted row comes back', () => {
    const r = rejected([
      { client: 'c1', op: 'insert', key: A, value: entity('a', 1), at: [1, 2], result: row('a', 1, 1) },
      { client: 'c1', op: 'delete', key: A, at: [3, 4], result: true },
      { client: 'c2', op: 'get', key: A, at: [5, 6], result: row('a', 1, 1) },
    ]);
    expect(ids(r)).toEqual([0, 1, 2]);
    // Whether or not the insert's own reply is trusted, the delete saw the row and the get saw it again.
    expect(ignored(r)).toEqual([0]);
  });

  test('duplicated insert: two sequential inserts of one key both succeed', () => {
    const r = rejected([
      { client: 'c1', op: 'insert', key: A, value: entity('a', 1), at: [1, 2], result: row('a', 1, 1) },
      { client: 'c2', op: 'insert', key: A, value: entity('a', 2), at: [3, 4], result: row('a', 2, 1) },
      { client: 'c3', op: 'get', key: A, at: [5, 6], result: row('a', 1, 1) },
    ]);
    expect(ids(r)).toEqual([0, 1]); // the read is not needed to show it
  });

  test('a read of a value nobody wrote', () => {
    const r = rejected([
      { client: 'c1', op: 'insert', key: A, value: entity('a', 1), at: [1, 2], result: row('a', 1, 1) },
      { client: 'c2', op: 'get', key: A, at: [3, 4], result: row('a', 7, 1) },
    ]);
    expect(ids(r)).toEqual([0, 1]);
    expect(ignored(r)).toEqual([0]); // even if the insert did not happen, x = 7 is unexplained
    expect(r.explanation).toContain('x: 7');
  });

  test('a version that goes back: an update returns the version of the write before it', () => {
    const r = rejected([
      { client: 'c1', op: 'insert', key: A, value: entity('a', 1), at: [1, 2], result: row('a', 1, 1) },
      { client: 'c1', op: 'update', key: A, value: patch({ x: 2 }), at: [3, 4], result: row('a', 2, 2) },
      { client: 'c2', op: 'update', key: A, value: patch({ x: 3 }), at: [5, 6], result: row('a', 3, 2) },
    ]);
    expect(ids(r)).toEqual([0, 1, 2]);
    expect(ignored(r)).toEqual([0]);
  });

  test('a ConflictError for a version that matched at every possible point', () => {
    const r = rejected([
      { client: 'c1', op: 'insert', key: A, value: entity('a', 1), at: [1, 2], result: row('a', 1, 1) },
      { client: 'c2', op: 'update', key: A, value: patch({ x: 2, v: { $bigint: '1' } }), at: [3, 4], outcome: 'failed', error: 'ConflictError' },
    ]);
    expect(ids(r)).toEqual([0, 1]);
    expect(r.explanation).toContain('→ ConflictError');
  });

  test('a violation visible only in a getMany part', () => {
    const r = rejected([
      { client: 'c1', op: 'insert', key: A, value: entity('a', 1), at: [1, 2], result: row('a', 1, 1) },
      { client: 'c2', op: 'getMany', keys: [key('b'), A], at: [3, 4], result: [null, null] },
    ]);
    expect(r.ops.map((o) => [o.id, o.part])).toEqual([[0, undefined], [1, 1]]);
  });
});

describe('checkLinearizable accepts what some order explains', () => {
  test('concurrent write and read: the read may see either value', () => {
    for (const seen of [row('a', 1, 1), row('a', 2, 2)]) {
      const r = checkLinearizable(
        handHistory([
          { client: 'c1', op: 'insert', key: A, value: entity('a', 1), at: [1, 2], result: row('a', 1, 1) },
          { client: 'c1', op: 'update', key: A, value: patch({ x: 2 }), at: [3, 6], result: row('a', 2, 2) },
          { client: 'c2', op: 'get', key: A, at: [4, 5], result: seen },
        ]),
      );
      expect(r).toMatchObject({ ok: true, keys: 1 });
    }
  });

  test('counts are recorded but never checked', () => {
    const r = checkLinearizable(handHistory([{ client: 'c1', op: 'count', at: [1, 2], result: 99 }]), { scans: 'as-reads' });
    expect(r).toEqual({ ok: true, keys: 0, checkedOps: 0, explored: 0 });
  });

  test("scan rows are checked as reads of their keys only with scans: 'as-reads'; missing rows prove nothing", () => {
    const ops: HandOp[] = [
      { client: 'c1', op: 'insert', key: A, value: entity('a', 1), at: [1, 2], result: row('a', 1, 1) },
      { client: 'c1', op: 'update', key: A, value: patch({ x: 2 }), at: [3, 4], result: row('a', 2, 2) },
      { client: 'c1', op: 'insert', key: key('b'), value: entity('b', 1), at: [5, 6], result: row('b', 1, 1) },
      // A page with a stale row of "a" and without "b" (a page may end before it).
      { client: 'c2', op: 'scan', at: [7, 8], result: { items: [row('a', 1, 1)], cursor: null } },
    ];
    expect(checkLinearizable(handHistory(ops)).ok).toBe(true);
    const r = checkLinearizable(handHistory(ops), { scans: 'as-reads' });
    expect(r).toMatchObject({ ok: false, key: A });
    if (r.ok === false) expect(r.ops.map((o) => [o.id, o.part])).toEqual([[0, undefined], [1, undefined], [3, 0]]);
    const fresh = { ...ops[3], result: { items: [row('a', 2, 2)], cursor: null } };
    expect(checkLinearizable(handHistory([...ops.slice(0, 3), fresh]), { scans: 'as-reads' }).ok).toBe(true);
  });
});

describe('unknown outcomes', () => {
  const unknownInsert: HandOp = { client: 'c1', op: 'insert', key: A, value: entity('a', 1), at: [1, 2], outcome: 'unknown' };

  test.each([
    ['took effect', row('a', 1, 1)],
    ['did not take effect', null],
  ])('an unknown insert that %s is accepted', (_, seen) => {
    expect(checkLinearizable(handHistory([unknownInsert, { client: 'c2', op: 'get', key: A, at: [3, 4], result: seen }])).ok).toBe(true);
  });

  test('an op that never completed counts as unknown and may take effect late', () => {
    const r = checkLinearizable(
      handHistory([
        { ...unknownInsert, at: [1, Infinity] },
        { client: 'c2', op: 'get', key: A, at: [3, 4], result: null },
        { client: 'c2', op: 'get', key: A, at: [5, 6], result: row('a', 1, 1) },
      ]),
    );
    expect(r.ok).toBe(true);
  });

  test('an unknown write cannot take effect and then be undone', () => {
    const r = rejected([
      unknownInsert,
      { client: 'c2', op: 'get', key: A, at: [3, 4], result: row('a', 1, 1) },
      { client: 'c2', op: 'get', key: A, at: [5, 6], result: null },
    ]);
    expect(ids(r)).toEqual([0, 1, 2]);
  });

  test('an unknown write cannot take effect before it was invoked', () => {
    const r = rejected([
      { client: 'c2', op: 'get', key: A, at: [1, 2], result: row('a', 1, 1) },
      { ...unknownInsert, at: [3, 4] },
    ]);
    expect(ids(r)).toEqual([0]); // the read alone is the witness: the later insert cannot explain it
  });

  test('a failed (non-conflict) write is taken as not having happened', () => {
    const r = rejected([
      { ...unknownInsert, outcome: 'failed', error: 'ValidationError' },
      { client: 'c2', op: 'get', key: A, at: [3, 4], result: row('a', 1, 1) },
    ]);
    expect(ids(r)).toEqual([1]);
  });
});

describe('bounds and serialisation', () => {
  test('a history beyond maxStates gives the typed too-large answer, not a guess', () => {
    const writes: HandOp[] = Array.from({ length: 14 }, (_, i) => ({
      client: `w${i}`, op: 'upsert', key: A, value: entity('a', i), at: [i + 1, i + 100], outcome: 'unknown',
    }));
    const read: HandOp = { client: 'r', op: 'get', key: A, at: [50, 51], result: row('a', 999, 1) };
    const r = checkLinearizable(handHistory([...writes, read]), { maxStates: 500 });
    expect(r).toMatchObject({ ok: 'unknown', reason: 'too-large', key: A, maxStates: 500 });
    if (r.ok === 'unknown') expect(r.explanation).toContain('Raise maxStates');
    // With room to search, the same history is decided (x = 999 was never written).
    expect(checkLinearizable(handHistory([...writes, read]), { maxStates: 1_000_000 }).ok).toBe(false);
  });

  test('a history survives JSON and is re-checked offline with the same verdict', () => {
    const h = handHistory([
      { client: 'c1', op: 'insert', key: A, value: entity('a', 1), at: [1, 2], result: row('a', 1, 1) },
      { client: 'c2', op: 'get', key: A, at: [3, 4], result: null },
    ]);
    const again = checkLinearizable(parseHistory(JSON.stringify(h)));
    expect(again).toEqual(checkLinearizable(h));
    expect(() => parseHistory('{"format":"other"}')).toThrow(/not a ShardORM history/);
  });
});
