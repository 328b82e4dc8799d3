// The library, tests, benchmarks and canisters type-check (jest itself only transpiles).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

test.each(['tsconfig.json', 'tsconfig.canister.json'])('tsc --noEmit -p %s reports no errors', async (project) => {
  const result = await run(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', project], { maxBuffer: 16 << 20 }).catch(
    (error: { stdout?: string }) => ({ stdout: error.stdout ?? String(error) })
  );
  expect(result.stdout.trim()).toBe('');
}, 300_000);
