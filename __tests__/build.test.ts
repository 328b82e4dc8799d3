import { join } from 'node:path';
import { buildAzleCanister } from '../lib/build/azle.js';

test('azle build works offline and is cached by content hash', async () => {
  const root = join(process.cwd(), '__tests__/fixtures/hello');
  const first = await buildAzleCanister({ root, name: 'hello' });
  expect(first.wasm.subarray(0, 4)).toEqual(Buffer.from([0, 0x61, 0x73, 0x6d]));
  expect(first.candid).toContain('getMessage');
  const second = await buildAzleCanister({ root, name: 'hello' });
  expect(second.cached).toBe(true);
  expect(Buffer.compare(Buffer.from(second.wasm), Buffer.from(first.wasm))).toBe(0);
});
