// Runs the model + repository + MemoryCluster inside QuickJS (the engine of Azle canisters),
// bundled by esbuild as Azle does. QuickJS lacks TextEncoder/TextDecoder, which Azle's runtime
// provides; a minimal UTF-8 pair stands in for them here.
import { buildSync } from 'esbuild';
import { getQuickJS } from 'quickjs-emscripten';
import { fileURLToPath } from 'node:url';

const TEXT_POLYFILL = `
globalThis.TextEncoder = class { encode(s) { const b = []; for (const ch of s) { let c = ch.codePointAt(0);
  if (c < 0x80) b.push(c); else if (c < 0x800) b.push(0xc0 | (c >> 6), 0x80 | (c & 63));
  else if (c < 0x10000) b.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  else b.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)); } return new Uint8Array(b); } };
globalThis.TextDecoder = class { decode(u) { u = u instanceof Uint8Array ? u : new Uint8Array(u.buffer ?? u); let s = '', i = 0;
  while (i < u.length) { let c = u[i++]; if (c >= 0xf0) c = ((c & 7) << 18) | ((u[i++] & 63) << 12) | ((u[i++] & 63) << 6) | (u[i++] & 63);
  else if (c >= 0xe0) c = ((c & 15) << 12) | ((u[i++] & 63) << 6) | (u[i++] & 63); else if (c >= 0xc0) c = ((c & 31) << 6) | (u[i++] & 63);
  s += String.fromCodePoint(c); } return s; } };
`;

it('shardorm runs inside QuickJS without Node built-ins', async () => {
  const entry = fileURLToPath(new URL('./fixtures/quickjs-smoke.ts', import.meta.url));
  const bundle = buildSync({ entryPoints: [entry], bundle: true, write: false, format: 'iife', globalName: 'Smoke', platform: 'neutral', target: 'es2020', mainFields: ['module', 'main'] });
  const code = bundle.outputFiles[0].text;
  expect(code).not.toMatch(/require\("(node:)?(fs|crypto|buffer|path|os)"\)/);
  const vm = (await getQuickJS()).newContext();
  try {
    vm.unwrapResult(vm.evalCode(`${TEXT_POLYFILL}\n${code}\nglobalThis.__out = undefined; Smoke.run().then((r) => { __out = r; }, (e) => { __out = 'ERR ' + e + ' ' + e.stack; });`)).dispose();
    for (let i = 0; i < 10_000; i++) {
      const pending = vm.runtime.executePendingJobs();
      pending.dispose?.();
      const out = vm.getProp(vm.global, '__out');
      const value = vm.dump(out);
      out.dispose();
      if (value !== undefined) {
        expect(String(value)).not.toMatch(/^ERR/);
        const r = JSON.parse(value as string);
        expect(r).toEqual({ label: 'o3#10', blob: [10, 0, 255], version: '2', found: ['o3#3', 'o3#10', 'o3#17', 'o3#31', 'o3#45', 'o3#59'], count: 60, paged: 60, shards: expect.any(Number) });
        expect(r.shards).toBeGreaterThan(1);
        return;
      }
    }
    throw new Error('QuickJS run did not finish');
  } finally {
    vm.dispose();
  }
});
