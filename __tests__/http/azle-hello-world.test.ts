// Azle's own hello_world example, built from a verbatim copy of its sources and run with its own
// test cases (`getTests(actor)` from test/tests.ts, unmodified) against a replica started by the
// CLI. Only Azle's jest harness module is stood in for: `azle/_internal/test` pulls in fuzzing and
// dfx helpers, while getTests uses just its `it` (jest's test with a prefix) and `expect`.
import { Actor, HttpAgent } from '@dfinity/agent';
import type { IDL } from '@dfinity/candid';
import { afterAll, expect, jest, test } from '@jest/globals';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildAzleCanister } from '../../lib/build/azle.js';
import { createCanister, installWasm } from '../../lib/cli/deploy.js';
import { managementCanister } from '../../lib/cli/management.js';
import { spawnReplica } from './spawn-replica.js';

const EXAMPLE = join(process.cwd(), 'node_modules/azle/examples/stable/demo/hello_world');
// A dot folder: TypeScript's include globs and git (its own .gitignore) both skip it.
const COPY = join(process.cwd(), '__tests__/fixtures/.hello_world');

mkdirSync(COPY, { recursive: true });
writeFileSync(join(COPY, '.gitignore'), '*\n');
for (const file of ['dfx.json', 'src/index.ts', 'test/tests.ts']) cpSync(join(EXAMPLE, file), join(COPY, file));

jest.unstable_mockModule('azle/_internal/test', () => ({
  it: (name: string, fn: () => Promise<void>) => test(`it ${name}`, fn),
  expect
}));

// The example's Candid interface (test/dfx_generated is produced by dfx, which is not available).
const helloWorldIdl: IDL.InterfaceFactory = ({ IDL }) =>
  IDL.Service({ getMessage: IDL.Func([], [IDL.Text], ['query']), setMessage: IDL.Func([IDL.Text], [], []) });

const [replica, built] = await Promise.all([spawnReplica(), buildAzleCanister({ root: COPY, name: 'hello_world' })]);
afterAll(() => replica.stop());

const agent = await HttpAgent.create({ host: replica.url, shouldFetchRootKey: true });
const management = managementCanister(agent);
const canisterId = await createCanister(management);
await installWasm(management, canisterId, built.wasm);

const testsModule = '../fixtures/.hello_world/test/tests.js'; // a variable: tsc does not see the copy
const { getTests } = (await import(testsModule)) as { getTests: (actor: unknown) => () => void };
getTests(Actor.createActor(helloWorldIdl, { agent, canisterId }))();
