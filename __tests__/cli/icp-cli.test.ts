// icp.yaml builds the same shard canister as dfx.json: the npm-packaged icp-cli binary
// (@icp-sdk/icp-cli-linux-x64) runs the script step around `azle build` with no network, and its
// artifact is byte-identical to lib/build/azle.ts's. The binary comes from $ICP_CLI or the package;
// when neither is installed (it is an optional dependency, built for linux-x64 only) the test is
// skipped with the reason printed.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { buildAzleCanister } from '../../lib/build/azle.js';
import { tempDir } from './helpers.js';

const run = promisify(execFile);

function icpBinary(): string | undefined {
  if (process.env.ICP_CLI && existsSync(process.env.ICP_CLI)) return process.env.ICP_CLI;
  try {
    const pkg = createRequire(import.meta.url).resolve('@icp-sdk/icp-cli-linux-x64/package.json');
    const bin = join(dirname(pkg), 'bin', 'icp');
    return existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

const icp = icpBinary();
if (icp === undefined) console.warn('SKIPPED icp-cli build test: no icp binary (set ICP_CLI or install the optional dependency @icp-sdk/icp-cli-linux-x64, linux-x64 only)');

(icp === undefined ? test.skip : test)('`icp build shardorm_example` (offline) makes the same Wasm as the Azle build', async () => {
  const home = tempDir('icp-home');
  // unshare -n: a network namespace with no interfaces, so any download would fail the build.
  await run('unshare', ['-n', icp!, 'build', 'shardorm_example'], { cwd: process.cwd(), env: { ...process.env, HOME: home, DO_NOT_TRACK: '1' }, timeout: 300_000 });
  const artifact = readFileSync(join(process.cwd(), '.icp/cache/artifacts/shardorm_example'));
  const built = await buildAzleCanister({ root: process.cwd(), name: 'shardorm_example' });
  expect(artifact.length).toBeGreaterThan(1024);
  expect(Buffer.compare(artifact, Buffer.from(built.wasm))).toBe(0);
}, 300_000);
