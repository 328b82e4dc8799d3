// The CLI's other faces: `demo` end to end, `replica.listen` in-process, and --network resolution.
import { Actor, HttpAgent } from '@dfinity/agent';
import type { IDL } from '@dfinity/candid';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildAzleCanister } from '../../lib/build/azle.js';
import { createCanister, installWasm } from '../../lib/cli/deploy.js';
import { managementCanister } from '../../lib/cli/management.js';
import { MAINNET_HOST, resolveNetwork } from '../../lib/cli/network.js';
import { LocalReplica } from '../../lib/replica/http/listen.js';

const run = promisify(execFile);

test('`shardorm demo --ci` deploys the snippets board as a cluster over HTTP, grows it to 4 shards, verifies every snippet and exits 0', async () => {
  const { stdout } = await run(process.execPath, [join(process.cwd(), 'node_modules/tsx/dist/cli.mjs'), 'lib/cli/main.ts', 'demo', '--ci'], { cwd: process.cwd(), timeout: 300_000 });
  expect(stdout).toMatch(/^replica: http:\/\/127\.0\.0\.1:\d+ \(network local\)$/m);
  expect(stdout).toMatch(/^deployed a cluster: manager \S+, shard 0 \S+/m);
  const [, written, counted] = /^verified: all (\d+) snippets read back through the client \((\d+) counted across shards\)$/m.exec(stdout) ?? [];
  expect(Number(written)).toBeGreaterThan(0);
  expect(counted).toBe(written);
  expect(stdout).toContain('editSnippet by another identity → refused (AccessDeniedError)');
  const shards = Number(/^epoch \d+, (\d+) shards:$/m.exec(stdout)?.[1]);
  expect(shards).toBeGreaterThanOrEqual(4);
  expect(stdout.match(/^  \S+-cai \[0x[0-9a-f]{16}, (0x[0-9a-f]{16}|2\^64)\)/gm)).toHaveLength(shards);
  expect(stdout).toMatch(/^page: http:\/\/127\.0\.0\.1:\d+\/? \(/m);
}, 300_000);

test('replica.listen({ port }) serves an in-process LocalReplica to @dfinity/agent', async () => {
  const replica = await LocalReplica.create({ startTime: Date.now() });
  const server = await replica.listen({ port: 0 });
  try {
    const agent = await HttpAgent.create({ host: server.url, shouldFetchRootKey: true });
    const management = managementCanister(agent);
    const id = await createCanister(management);
    const built = await buildAzleCanister({ root: join(process.cwd(), '__tests__/fixtures/hello'), name: 'hello' });
    await installWasm(management, id, built.wasm);
    const idl: IDL.InterfaceFactory = ({ IDL }) => IDL.Service({ getMessage: IDL.Func([], [IDL.Text], ['query']) });
    expect(await Actor.createActor(idl, { agent, canisterId: id }).getMessage()).toBe('Hello world!');
  } finally {
    await server.close();
    await replica.tearDown();
  }
}, 180_000);

test('--network names resolve to hosts; mainnet keeps the built-in root key', () => {
  expect(resolveNetwork('local')).toEqual({ name: 'local', fetchRootKey: true, isMainnet: false });
  expect(resolveNetwork('dfx')).toMatchObject({ host: 'http://127.0.0.1:4943', fetchRootKey: true });
  expect(resolveNetwork('ic')).toMatchObject({ host: MAINNET_HOST, fetchRootKey: false, isMainnet: true });
  expect(resolveNetwork('http://127.0.0.1:8080/')).toMatchObject({ host: 'http://127.0.0.1:8080', fetchRootKey: true, isMainnet: false });
  expect(resolveNetwork('https://icp0.io')).toMatchObject({ fetchRootKey: false, isMainnet: true });
  expect(() => resolveNetwork('staging')).toThrow(/Unknown network "staging"/);
  expect(() => resolveNetwork('ftp://x')).toThrow(/http or https/);
});
