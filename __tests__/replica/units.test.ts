// Unit tests of the replica's building blocks (no Azle build needed).
import { HeapStore } from '../../lib/replica/heap.js';
import { BUDGET_EXPORT, instrument } from '../../lib/replica/instrument.js';
import { InvalidWasmError } from '../../lib/replica/errors.js';
import { Xoshiro128, randomBelow, randomBytes, shuffle } from '../../lib/random/prng.js';
import { StableMemory, UNDO_CHUNK, WASM_PAGE } from '../../lib/replica/stable-memory.js';
import { createSystemApi, type SystemApiHost } from '../../lib/replica/system-api.js';
import { SUPPORTED_SYSTEM_API } from '../../lib/replica/system-api-support.js';
import { bls12_381 } from '@noble/curves/bls12-381';
import { signShort } from '../../lib/replica/http/bls-sign.js';
import { deriveReplicaKeys } from '../../lib/replica/http/keys.js';
import { I32, ModuleBuilder, op } from './wasm-builder.js';

describe('prng', () => {
  test('same seed, same stream; different seeds differ; helpers stay in range', () => {
    const a = new Xoshiro128(42);
    const b = new Xoshiro128(42);
    const seqA = Array.from({ length: 8 }, () => a.nextU32());
    expect(Array.from({ length: 8 }, () => b.nextU32())).toEqual(seqA);
    expect(Array.from({ length: 8 }, () => new Xoshiro128(43).nextU32())[0]).not.toBe(seqA[0]);
    const r = new Xoshiro128(1);
    for (let i = 0; i < 1000; i++) expect(randomBelow(r, 7)).toBeLessThan(7);
    expect(randomBelow(r, 2 ** 32)).toBeLessThan(2 ** 32);
    expect(() => randomBelow(r, 2 ** 32 + 1)).toThrow(RangeError); // would never find a draw below its limit
    expect(randomBytes(r, 32)).toHaveLength(32);
    expect(shuffle(r, [1, 2, 3, 4, 5]).sort()).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('system api', () => {
  test('implements exactly the functions system-api-support.ts lists (the docs list those)', () => {
    const api = createSystemApi({} as SystemApiHost); // the host is only used when a function runs
    expect(Object.keys(api).sort()).toEqual([...SUPPORTED_SYSTEM_API].sort());
  });
});

describe('stable memory', () => {
  test('growing is free; writes are paged, rolled back, and isolated from clones', () => {
    const s = new StableMemory();
    expect(s.grow(1024)).toBe(0); // 64 MiB
    expect(s.residentPages).toBe(0);
    const data = Uint8Array.from({ length: 100 }, (_, i) => i + 1);
    s.write(WASM_PAGE - 50, data); // spans two pages
    s.commit();
    expect(s.residentPages).toBe(2);
    const clone = s.clone();
    s.write(WASM_PAGE - 50, new Uint8Array(100));
    s.grow(10);
    s.rollback();
    expect(s.size).toBe(1024);
    const out = new Uint8Array(100);
    s.read(WASM_PAGE - 50, 100, out, 0);
    expect(out).toEqual(data);
    s.write(0, new Uint8Array([7]));
    s.commit();
    clone.read(0, 1, out, 0);
    expect(out[0]).toBe(0);
    expect(() => s.read(1024 * WASM_PAGE - 1, 2, out, 0)).toThrow(/out of bounds/);
    expect(s.grow(1, 1024)).toBe(-1);
  });
});

describe('stable memory, against a flat byte array', () => {
  test('random writes, commits, rollbacks, clones and page() copies: every read matches the model, clones and handed-out pages never change', () => {
    const rng = new Xoshiro128(11);
    const random = { nextInt: (n: number) => randomBelow(rng, n) };
    const PAGES = 4;
    const s = new StableMemory();
    s.grow(PAGES);
    s.commit();
    let committed = new Uint8Array(PAGES * WASM_PAGE);
    let live = committed.slice();
    const clones: Array<{ memory: StableMemory; bytes: Uint8Array }> = [];
    const handedOut: Array<{ array: Uint8Array; bytes: Uint8Array }> = [];
    for (let step = 0; step < 3000; step++) {
      const r = random.nextInt(100);
      if (r < 70) {
        // Short writes mostly (a B-tree node, a value), some across chunk and page boundaries.
        const length = random.nextInt(10) === 0 ? 1 + random.nextInt(3 * UNDO_CHUNK) : 1 + random.nextInt(64);
        const offset = random.nextInt(PAGES * WASM_PAGE - length);
        const data = Uint8Array.from({ length }, () => random.nextInt(256));
        s.write(offset, data);
        live.set(data, offset);
      } else if (r < 85) {
        s.commit();
        committed = live.slice();
      } else if (r < 93) {
        s.rollback();
        live = committed.slice();
      } else if (r < 97) {
        s.commit();
        committed = live.slice();
        clones.push({ memory: s.clone(), bytes: committed.slice() });
      } else {
        s.commit(); // pages are handed out between executions (snapshot download), as clones are taken
        committed = live.slice();
        const page = random.nextInt(PAGES);
        const array = s.page(page);
        handedOut.push({ array, bytes: array.slice() });
      }
    }
    s.rollback();
    const out = new Uint8Array(PAGES * WASM_PAGE);
    s.read(0, out.length, out, 0);
    expect(Buffer.compare(out, committed)).toBe(0);
    for (const c of clones) {
      c.memory.read(0, out.length, out, 0);
      expect(Buffer.compare(out, c.bytes)).toBe(0);
    }
    for (const h of handedOut) expect(Buffer.compare(h.array, h.bytes)).toBe(0);
    expect(clones.length).toBeGreaterThan(10);
  });
});

describe('heap store', () => {
  test('commit copies changed pages, restore undoes, growth forces re-instantiation', () => {
    const memory = new WebAssembly.Memory({ initial: 4 });
    const bytes = () => new Uint8Array(memory.buffer);
    bytes()[10] = 1;
    const heap = HeapStore.capture(memory);
    expect(heap.residentPages).toBe(1);
    bytes()[WASM_PAGE * 2] = 5;
    expect(heap.commit(memory)).toBe(1);
    bytes()[WASM_PAGE * 2] = 9;
    bytes()[WASM_PAGE * 3] = 9;
    expect(heap.restore(memory)).toBe(true);
    expect(bytes()[WASM_PAGE * 2]).toBe(5);
    expect(bytes()[WASM_PAGE * 3]).toBe(0);
    // A clone (snapshot) never sees later commits, even though unshared pages are reused in place.
    const snapshot = heap.clone();
    bytes()[WASM_PAGE * 2] = 6;
    heap.commit(memory);
    bytes()[WASM_PAGE * 2] = 7;
    heap.commit(memory);
    expect(snapshot.page(2)![0]).toBe(5);
    expect(heap.page(2)![0]).toBe(7);
    memory.grow(1);
    expect(heap.restore(memory)).toBe(false);
    const fresh = new WebAssembly.Memory({ initial: 1 });
    heap.load(fresh);
    expect(new Uint8Array(fresh.buffer)[WASM_PAGE * 2]).toBe(7);
  });
});

describe('instrumentation', () => {
  function loopModule(): Uint8Array {
    const m = new ModuleBuilder();
    // (func (param i32) (loop (br_if 0 (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))))
    m.func([0x03, 0x40, ...op.localGet(0), ...op.i32(1), 0x6b, 0x22, 0, 0x0d, 0, 0x0b], { export: 'spin', params: [I32] });
    m.global(5);
    return m.build();
  }

  test('counts exactly the instructions executed, per straight-line segment', () => {
    const { wasm, globalExports } = instrument(loopModule());
    expect(globalExports).toEqual(['__shardorm_global_0']);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>));
    const budget = instance.exports[BUDGET_EXPORT] as WebAssembly.Global;
    const spin = instance.exports.spin as (n: number) => void;
    for (const n of [1, 10, 1000]) {
      budget.value = 1_000_000n;
      spin(n);
      // The IC's rule (instruction-costs.ts): the function entry costs 1, loop and end 0, and each
      // iteration pays local.get, i32.const, i32.sub, local.tee (1 each) and br_if (2).
      expect(1_000_000n - (budget.value as bigint)).toBe(BigInt(6 * n + 1));
    }
    budget.value = 100n;
    expect(() => spin(1000)).toThrow(WebAssembly.RuntimeError);
    expect(budget.value as bigint).toBeLessThan(0n);
  });

  test('rejects what it cannot rewrite with InvalidWasmError', () => {
    expect(() => instrument(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))).toThrow(InvalidWasmError);
    const truncated = loopModule().slice(0, -3);
    expect(() => instrument(truncated)).toThrow(InvalidWasmError);
    const reserved = new ModuleBuilder();
    reserved.func([], { export: '__shardorm_mine' });
    expect(() => instrument(reserved.build())).toThrow(/"__shardorm_mine".*reserved/);
  });
});

describe('certificate signing', () => {
  test('the mcl-wasm short signature is byte for byte the one @noble/curves signs, and verifies', () => {
    for (const [seed, text] of [['units', ''], ['units', 'state root'], ['other seed', 'x'.repeat(100)], ['third', '\x0Dic-state-root' + 'a'.repeat(32)]]) {
      const keys = deriveReplicaKeys(seed);
      const scalar = BigInt(`0x${Buffer.from(keys.blsSecretKey).toString('hex')}`);
      const message = new TextEncoder().encode(text);
      const signature = signShort(message, scalar);
      expect(Buffer.from(signature).toString('hex')).toBe(Buffer.from(bls12_381.signShortSignature(message, keys.blsSecretKey)).toString('hex'));
      expect(bls12_381.verifyShortSignature(signature, message, bls12_381.getPublicKeyForShortSignatures(keys.blsSecretKey))).toBe(true);
    }
  });
});
