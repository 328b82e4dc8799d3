// shardorm/canister is bundled into every shard's Wasm: it may import Azle, @dfinity/* and the
// layers below it, never the replica (BLS, node:http) nor Node built-ins.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

test('lib/canister imports neither the replica, nor the client, nor Node built-ins', async () => {
  const dir = join(process.cwd(), 'lib/canister');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.ts'));
  expect(files.length).toBeGreaterThan(5);
  for (const file of files) {
    const source = await readFile(join(dir, file), 'utf8');
    const imports = [...source.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    for (const spec of imports) expect({ file, spec, ok: !/replica|client|^node:|^(fs|http|path|crypto)$/.test(spec) }).toEqual({ file, spec, ok: true });
  }
});
