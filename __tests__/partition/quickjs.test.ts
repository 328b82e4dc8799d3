// The same placement in QuickJS as in Node: the partition module is bundled for a neutral platform
// (no Node built-ins may resolve) and one probe script runs in Node, in QuickJS (Bellard) and in
// QuickJS-ng (the fork Azle 0.33 embeds through rquickjs).
import { buildSync } from 'esbuild';
import * as ngModule from '@jitl/quickjs-ng-wasmfile-release-sync';
import { getQuickJS, newQuickJSWASMModule, type QuickJSWASMModule } from 'quickjs-emscripten';

// Runs inside both engines: only standard JS, no TextEncoder/Buffer (QuickJS has neither).
const PROBE = `(() => {
  const P = ShardPartition;
  const ascii = (s) => Uint8Array.from(s, (c) => c.charCodeAt(0));
  const hex = (h) => h.toString(16).padStart(16, '0');
  const hashes = [];
  for (let i = 0; i < 400; i++) hashes.push(P.hashShardKey(ascii('key-' + i)));
  const bytes = [];
  for (let n = 0; n < 70; n++) {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = (i * 167 + n * 31) & 255;
    bytes.push(hex(P.hashShardKey(b)));
  }
  let a = P.AnchorHashPartitioner.create({ capacity: 24, shards: ['s0', 's1', 's2', 's3', 's4', 's5'] });
  a = a.removeShard('s2').addShard('n0').addShard('n1').removeShard('s0').removeShard('n0').addShard('n2');
  const anchor = P.partitionerFromJSON(JSON.parse(JSON.stringify(a.toJSON())));
  const range = P.RangePartitioner.even(['r0', 'r1', 'r2']).split('r1', hashes[7], 'r3').merge('r0', 'r1');
  return JSON.stringify({
    abc: hex(P.hashShardKey(ascii('abc'))),
    keys: hashes.map(hex),
    bytes,
    anchor: hashes.map((h) => anchor.shardFor(h)),
    range: hashes.map((h) => range.shardFor(h)),
    ranges: range.toJSON(),
    hasTextEncoder: typeof TextEncoder !== 'undefined',
  });
})()`;

function bundle(): string {
  const out = buildSync({
    entryPoints: ['lib/partition/index.ts'],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: 'ShardPartition',
    platform: 'neutral',
    target: 'es2020',
  });
  return out.outputFiles[0].text;
}

async function engine(name: string): Promise<QuickJSWASMModule> {
  if (name === 'quickjs') return getQuickJS();
  const m = ngModule as unknown as { default?: unknown };
  return newQuickJSWASMModule((m.default ?? m) as Parameters<typeof newQuickJSWASMModule>[0]);
}

test.each(['quickjs', 'quickjs-ng'])('hashShardKey, AnchorHash and range lookups are identical in %s and Node', async (name) => {
  const code = bundle();
  expect(code).not.toMatch(/require\(|from "node:/);
  const node = JSON.parse(new Function(`${code}; return ${PROBE}`)());

  const vm = (await engine(name)).newContext();
  try {
    const result = vm.unwrapResult(vm.evalCode(`${code}; ${PROBE}`));
    const quick = JSON.parse(vm.getString(result));
    result.dispose();
    expect(quick.hasTextEncoder).toBe(false); // the module needed none
    expect(quick.abc).toBe('44bc2cf5ad770999');
    expect(new Set(quick.anchor).size).toBe(6); // s1 s3 s4 s5 n1 n2
    expect(quick).toEqual({ ...node, hasTextEncoder: false });
  } finally {
    vm.dispose();
  }
});
