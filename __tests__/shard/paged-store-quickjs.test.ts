// PagedKv runs unchanged in QuickJS-ng (the engine Azle 0.33 embeds) and in QuickJS: the store is
// bundled for a neutral platform, and one probe script (random sets, deletes, ranges and an
// "upgrade" over a plain-JS sorted byte map) gives the same answers there as in Node.
import { buildSync } from 'esbuild';
import * as ngModule from '@jitl/quickjs-ng-wasmfile-release-sync';
import { getQuickJS, newQuickJSWASMModule, type QuickJSWASMModule } from 'quickjs-emscripten';

const PROBE_OPS = 3_000;

// lib/model/keys.ts builds a TextEncoder when it loads (Azle provides one); PagedKv never calls it,
// so the bare engines get a stub that throws if it ever is used.
const PRELUDE = `globalThis.TextEncoder = class { encode() { throw new Error('PagedKv must not encode text'); } };`;

// Only standard JS: the engines have no TextEncoder or Buffer.
const PROBE = `(() => {
  const { PagedKv, MemoryKv } = ShardStore;
  const cmp = (a, b) => { const n = Math.min(a.length, b.length); for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i]; return a.length - b.length; };
  function sortedMap() {
    const keys = [], values = [];
    const find = (k) => { let lo = 0, hi = keys.length; while (lo < hi) { const m = (lo + hi) >>> 1; if (cmp(keys[m], k) < 0) lo = m + 1; else hi = m; } return [lo, lo < keys.length && cmp(keys[lo], k) === 0]; };
    return {
      get(k) { const [i, f] = find(k); return f ? values[i].slice() : undefined; },
      insert(k, v) { const [i, f] = find(k); if (f) { const p = values[i]; values[i] = v.slice(); return p; } keys.splice(i, 0, k.slice()); values.splice(i, 0, v.slice()); return undefined; },
      remove(k) { const [i, f] = find(k); if (!f) return undefined; const p = values[i]; keys.splice(i, 1); values.splice(i, 1); return p; },
      len() { return keys.length; },
      items(s, n) { const out = []; for (let i = s; i < Math.min(keys.length, s + n); i++) out.push([keys[i].slice(), values[i].slice()]); return out; },
    };
  }
  let seed = 12345;
  const next = (n) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % n; };
  const key = () => { const k = new Uint8Array(next(6)); for (let i = 0; i < k.length; i++) k[i] = next(4) * 60; return k; };
  const maps = { values: sortedMap(), leaves: sortedMap(), directory: sortedMap(), meta: sortedMap() };
  const limits = { leafMaxKeys: 8, leafMaxBytes: 512, leafMergeBelowKeys: 2 };
  let kv = new PagedKv({ maps, limits });
  const model = new MemoryKv();
  const hex = (b) => Array.from(b, (x) => (x < 16 ? '0' : '') + x.toString(16)).join('');
  const answers = [];
  let mismatches = 0;
  for (let step = 0; step < ${PROBE_OPS}; step++) {
    const op = next(10);
    if (op < 5) { const k = key(); const v = new Uint8Array(next(40)).fill(step & 255); if ((kv.set(k, v) === undefined) !== (model.set(k, v) === undefined)) mismatches++; }
    else if (op < 8) { const k = key(); if ((kv.delete(k) === undefined) !== (model.delete(k) === undefined)) mismatches++; }
    else if (op < 9) { const lo = key(), hi = key(), n = next(12); const a = kv.keysInRange(lo, hi, n).map(([k, l]) => hex(k) + ':' + l).join(','); if (a !== model.keysInRange(lo, hi, n).map(([k, l]) => hex(k) + ':' + l).join(',')) mismatches++; answers.push(a); }
    else kv = new PagedKv({ maps, limits });
  }
  kv.check();
  const all = kv.range(new Uint8Array(0), new Uint8Array([255, 255, 255, 255, 255, 255]), 100000);
  return JSON.stringify({ mismatches, size: kv.size(), bytes: kv.bytes(), leaves: kv.leafCount(), all: all.map(([k, v]) => hex(k) + '=' + v.length), answers });
})()`;

function bundle(): string {
  const out = buildSync({
    stdin: { contents: "export { PagedKv } from './lib/shard/paged-store.ts'; export { MemoryKv } from './lib/repository/store.ts';", resolveDir: process.cwd(), loader: 'ts' },
    bundle: true,
    write: false,
    format: 'iife',
    globalName: 'ShardStore',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    target: 'es2020'
  });
  return out.outputFiles[0].text;
}

async function engine(name: string): Promise<QuickJSWASMModule> {
  if (name === 'quickjs') return getQuickJS();
  const m = ngModule as unknown as { default?: unknown };
  return newQuickJSWASMModule((m.default ?? m) as Parameters<typeof newQuickJSWASMModule>[0]);
}

test.each(['quickjs-ng', 'quickjs'])('PagedKv answers in %s exactly as in Node', async (name) => {
  const code = bundle();
  expect(code).not.toMatch(/require\(|from "node:/);
  const node = JSON.parse(new Function(`${code}; return ${PROBE}`)());
  expect(node.mismatches).toBe(0);
  expect(node.leaves).toBeGreaterThan(3); // the probe split leaves
  const vm = (await engine(name)).newContext();
  try {
    const evaluated = vm.evalCode(`${PRELUDE}; ${code}; ${PROBE}`);
    if (evaluated.error) {
      const error = vm.dump(evaluated.error); // a plain object: jest cannot print a live QuickJS handle
      evaluated.error.dispose();
      throw new Error(`probe failed in ${name}: ${JSON.stringify(error)}`);
    }
    const quick = JSON.parse(vm.getString(evaluated.value));
    evaluated.value.dispose();
    expect(quick).toEqual(node);
  } finally {
    vm.dispose();
  }
});
