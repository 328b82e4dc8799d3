// WriteBackMap (lib/canister/write-back-map.ts) against the map it fronts: every answer is the
// plain map's answer, the inner map sees each changed key written once per job (and nothing for
// keys only read), len/items see every change, and a job that changes too much writes out early.
import fc from 'fast-check';
import { MAX_DEFERRED_WRITE_BYTES, WriteBackMap } from '../../lib/canister/write-back-map.js';
import type { ByteMap } from '../../lib/shard/paged-store.js';
import { compareBytes } from '../../lib/model/keys.js';

/** A plain ByteMap that counts its writes. */
class CountingMap implements ByteMap {
  readonly entries = new Map<string, [Uint8Array, Uint8Array]>();
  writes = 0;
  get(key: Uint8Array): Uint8Array | undefined {
    return this.entries.get(String(key))?.[1];
  }
  insert(key: Uint8Array, value: Uint8Array): Uint8Array | undefined {
    this.writes++;
    const previous = this.get(key);
    this.entries.set(String(key), [key.slice(), value.slice()]);
    return previous;
  }
  remove(key: Uint8Array): Uint8Array | undefined {
    this.writes++;
    const previous = this.get(key);
    this.entries.delete(String(key));
    return previous;
  }
  len(): number {
    return this.entries.size;
  }
  items(startIndex: number, length: number): [Uint8Array, Uint8Array][] {
    return [...this.entries.values()].sort((a, b) => compareBytes(a[0], b[0])).slice(startIndex, startIndex + length);
  }
}

const key = fc.uint8Array({ minLength: 1, maxLength: 3 }).map((b) => b.map((x) => x % 4));
const op = fc.oneof(
  fc.record({ kind: fc.constant('get' as const), key }),
  fc.record({ kind: fc.constant('insert' as const), key, value: fc.uint8Array({ maxLength: 8 }) }),
  fc.record({ kind: fc.constant('remove' as const), key }),
  fc.record({ kind: fc.constant('len' as const) }),
  fc.record({ kind: fc.constant('items' as const) }),
  fc.constant({ kind: 'end of job' as const }),
);

test('answers as the plain map does, across jobs', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
      const model = new CountingMap();
      const inner = new CountingMap();
      const map = new WriteBackMap(inner);
      for (const o of ops) {
        if (o.kind === 'end of job') {
          await Promise.resolve();
          expect(inner.items(0, 1000)).toEqual(model.items(0, 1000)); // written out
        } else if (o.kind === 'get') expect(map.get(o.key)).toEqual(model.get(o.key));
        else if (o.kind === 'insert') expect(map.insert(o.key, o.value)).toEqual(model.insert(o.key, o.value));
        else if (o.kind === 'remove') expect(map.remove(o.key)).toEqual(model.remove(o.key));
        else if (o.kind === 'len') expect(map.len()).toBe(model.len());
        else expect(map.items(0, 1000)).toEqual(model.items(0, 1000));
      }
      await Promise.resolve();
      expect(inner.items(0, 1000)).toEqual(model.items(0, 1000));
    }),
    { numRuns: 300 },
  );
});

test('a key changed many times in one job is written once; a key only read is not written', async () => {
  const inner = new CountingMap();
  const map = new WriteBackMap(inner);
  inner.insert(Uint8Array.of(9), Uint8Array.of(1));
  inner.writes = 0;
  for (let i = 0; i < 256; i++) map.insert(Uint8Array.of(1), Uint8Array.of(i));
  expect(map.get(Uint8Array.of(9))).toEqual(Uint8Array.of(1));
  expect(inner.writes).toBe(0);
  await Promise.resolve();
  expect(inner.writes).toBe(1);
  expect(inner.get(Uint8Array.of(1))).toEqual(Uint8Array.of(255));
});

test('the buffer it was given may be reused by the caller', async () => {
  const inner = new CountingMap();
  const map = new WriteBackMap(inner);
  const buffer = Uint8Array.of(1, 2);
  map.insert(Uint8Array.of(1), buffer);
  buffer[0] = 7;
  await Promise.resolve();
  expect(inner.get(Uint8Array.of(1))).toEqual(Uint8Array.of(1, 2));
});

test(`a job that changes more than MAX_DEFERRED_WRITE_BYTES (${MAX_DEFERRED_WRITE_BYTES}) writes out early`, () => {
  const inner = new CountingMap();
  const map = new WriteBackMap(inner);
  const big = new Uint8Array(1024 * 1024);
  for (let i = 0; i < 20; i++) map.insert(Uint8Array.of(i), big);
  expect(inner.len()).toBeGreaterThanOrEqual(16); // without waiting for the end of the job
});
