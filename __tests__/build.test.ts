import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildAzleCanister } from '../lib/build/azle.js';

const fixtures = join(process.cwd(), '__tests__/fixtures');

test('azle build works offline and is cached by content hash', async () => {
  const root = join(fixtures, 'hello');
  const first = await buildAzleCanister({ root, name: 'hello' });
  expect(first.wasm.subarray(0, 4)).toEqual(Buffer.from([0, 0x61, 0x73, 0x6d]));
  expect(first.candid).toContain('getMessage');
  const second = await buildAzleCanister({ root, name: 'hello' });
  expect(second.cached).toBe(true);
  expect(Buffer.compare(Buffer.from(second.wasm), Buffer.from(first.wasm))).toBe(0);
});

test('a change to the canister source rebuilds; an unknown canister is a clear error', async () => {
  // A scratch copy of the hello fixture (a dot folder: git and tsc skip it).
  const root = join(fixtures, '.build_cache_probe');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, '.gitignore'), '*\n');
  for (const file of ['dfx.json', 'index.ts']) cpSync(join(fixtures, 'hello', file), join(root, file));
  const before = await buildAzleCanister({ root, name: 'hello' });
  writeFileSync(join(root, 'index.ts'), readFileSync(join(root, 'index.ts'), 'utf8').replace("'Hello world!'", "'Hello, cache!'"));
  const after = await buildAzleCanister({ root, name: 'hello' });
  expect(after.cached).toBe(false);
  expect(Buffer.from(after.wasm).includes(Buffer.from('Hello, cache!'))).toBe(true);
  expect(Buffer.from(before.wasm).includes(Buffer.from('Hello, cache!'))).toBe(false);
  await expect(buildAzleCanister({ root, name: 'nope' })).rejects.toThrow(/has no Azle canister named "nope"/);
  rmSync(root, { recursive: true, force: true });
}, 120_000);
