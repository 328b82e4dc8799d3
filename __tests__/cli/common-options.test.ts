// The options every command shares and the errors every command gives: identities from a PEM
// (Ed25519 and secp256k1 as dfx writes them), from $SHARDORM_IDENTITY, from dfx's default, or one
// created once under the config directory; one stderr line and exit 1 for a wrong network, a
// missing identity file and no running local replica (through the real `shardorm` process); the
// cluster records; the status table; `upgrade` refusing honestly.
import { Ed25519KeyIdentity } from '@dfinity/identity';
import { Secp256k1KeyIdentity } from '@dfinity/identity-secp256k1';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ClusterStatus } from '../../lib/client/client.js';
import { clusterFilePath, findCluster, recordCluster } from '../../lib/cli/clusters.js';
import { identityFromPem, ownIdentityPath, resolveIdentity } from '../../lib/cli/identity.js';
import { formatStatus, statusToJSON } from '../../lib/cli/status.js';
import { cli, tempDir, writeEd25519Pem, writeSecp256k1Pem } from './helpers.js';

const run = promisify(execFile);
const work = tempDir('common');

function secretOf(pemPath: string): Uint8Array {
  return new Uint8Array(Buffer.from(createPrivateKey(readFileSync(pemPath, 'utf8').replace(/-----BEGIN EC PARAMETERS-----[\s\S]*?-----END EC PARAMETERS-----\n/, '')).export({ format: 'jwk' }).d!, 'base64url'));
}

describe('identities', () => {
  test('an Ed25519 PKCS#8 PEM and a secp256k1 SEC1 PEM (after EC PARAMETERS) sign as their own keys', () => {
    const ed = writeEd25519Pem(work, 'ed.pem');
    const secp = writeSecp256k1Pem(work);
    const a = identityFromPem(readFileSync(ed, 'utf8'));
    const b = identityFromPem(readFileSync(secp, 'utf8'));
    expect(a.kind).toBe('ed25519');
    expect(b.kind).toBe('secp256k1');
    expect(a.identity.getPrincipal().toText()).toBe(Ed25519KeyIdentity.fromSecretKey(secretOf(ed)).getPrincipal().toText());
    expect(b.identity.getPrincipal().toText()).toBe(Secp256k1KeyIdentity.fromSecretKey(secretOf(secp)).getPrincipal().toText());
    expect(a.identity.getPrincipal().toText()).not.toBe(b.identity.getPrincipal().toText());
  });

  test('--identity, then $SHARDORM_IDENTITY, then dfx default, then a key created once under $XDG_CONFIG_HOME', () => {
    const home = tempDir('home');
    const env = { HOME: home, XDG_CONFIG_HOME: join(home, 'xdg') };
    const created = resolveIdentity({ env });
    expect(created.source).toBe('created');
    expect(created.path).toBe(ownIdentityPath(env));
    expect(statSync(created.path).mode & 0o777).toBe(0o600);
    const again = resolveIdentity({ env });
    expect(again.source).toBe('config');
    expect(again.identity.getPrincipal().toText()).toBe(created.identity.getPrincipal().toText());

    const dfxDir = join(home, '.config/dfx/identity/default');
    mkdirSync(dfxDir, { recursive: true });
    const dfx = resolveIdentity({ env: { ...env, SHARDORM_IDENTITY: undefined } });
    expect(dfx.source).toBe('config'); // no dfx identity yet
    writeEd25519Pem(dfxDir);
    expect(resolveIdentity({ env }).source).toBe('dfx');
    const fromEnv = writeSecp256k1Pem(home, 'env.pem');
    expect(resolveIdentity({ env: { ...env, SHARDORM_IDENTITY: fromEnv } })).toMatchObject({ source: 'env', kind: 'secp256k1' });
    const option = writeEd25519Pem(home, 'option.pem');
    expect(resolveIdentity({ file: option, env: { ...env, SHARDORM_IDENTITY: fromEnv } })).toMatchObject({ source: 'option', path: option });
  });

  test('a file that is not a key is refused with a readable reason', () => {
    expect(() => identityFromPem('hello')).toThrow(/holds no private key/);
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    expect(() => identityFromPem(p256)).toThrow(/ec \(prime256v1\) key; the IC tools sign with Ed25519 or secp256k1/);
  });
});

describe('one clear line and a non-zero exit (the real process)', () => {
  const shardorm = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    run(process.execPath, [join(process.cwd(), 'node_modules/tsx/dist/cli.mjs'), join(process.cwd(), 'lib/cli/main.ts'), ...args], { cwd: work, env: { PATH: process.env.PATH, HOME: work, ...env } }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  test('a wrong network', async () => {
    const r = await shardorm(['status', '--network', 'staging']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^shardorm: Unknown network "staging"\. Use local .*\n$/);
    expect(r.stderr.split('\n')).toHaveLength(2);
  }, 60_000);

  test('a missing identity file', async () => {
    const r = await shardorm(['backup', '--out', join(work, 'x'), '--canister', 'aaaaa-aa', '--network', 'dfx', '--identity', join(work, 'nope.pem')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`shardorm: identity file ${join(work, 'nope.pem')} does not exist; pass --identity <pem file> or set SHARDORM_IDENTITY\n`);
  }, 60_000);

  test('an unreadable identity file', async () => {
    const path = join(work, 'dir.pem');
    mkdirSync(path, { recursive: true });
    const r = await shardorm(['status', '--identity', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^shardorm: identity file .*dir\.pem cannot be read \(EISDIR\); pass --identity/);
  }, 60_000);

  test('--network local with no embedded replica running, and an unreachable URL', async () => {
    const local = await shardorm(['status', '--identity', writeEd25519Pem(work, 'l.pem')]);
    expect(local.code).toBe(1);
    expect(local.stderr).toMatch(/^shardorm: no embedded replica is running here: start one with `shardorm replica start`.*\n$/);
    const down = await shardorm(['status', '--network', 'http://127.0.0.1:9', '--identity', join(work, 'l.pem')]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^shardorm: cannot reach network http:\/\/127\.0\.0\.1:9\/ at http:\/\/127\.0\.0\.1:9/);
    expect(down.stderr.split('\n')).toHaveLength(2);
  }, 60_000);
});

describe('cluster records (.shardorm/<network>.json)', () => {
  test('deploy records by name; commands pick --cluster, else the only one, else the last', () => {
    const cwd = tempDir('records');
    const record = (manager: string) => ({ manager, entry: manager, wasmHash: 'ab', created: '2026-01-01T00:00:00.000Z' });
    expect(() => findCluster({ cwd, network: 'local' })).toThrow(/no cluster recorded for network local .*run `shardorm deploy` first/);
    recordCluster({ cwd, network: 'http://127.0.0.1:4943', name: 'one', record: record('aaaaa-aa') });
    expect(clusterFilePath(cwd, 'http://127.0.0.1:4943')).toBe(join(cwd, '.shardorm', '127.0.0.1_4943.json'));
    expect(findCluster({ cwd, network: 'http://127.0.0.1:4943' }).name).toBe('one');
    recordCluster({ cwd, network: 'http://127.0.0.1:4943', name: 'two', record: record('2vxsx-fae') });
    expect(findCluster({ cwd, network: 'http://127.0.0.1:4943' })).toMatchObject({ name: 'two', manager: '2vxsx-fae' });
    expect(findCluster({ cwd, network: 'http://127.0.0.1:4943', name: 'one' }).manager).toBe('aaaaa-aa');
    expect(() => findCluster({ cwd, network: 'http://127.0.0.1:4943', name: 'three' })).toThrow(/no cluster named "three" .* known: one, two/);
    expect(() => recordCluster({ cwd, network: 'local', name: '../x', record: record('aaaaa-aa') })).toThrow(/cluster name/);
    writeFileSync(clusterFilePath(cwd, 'local'), '{"x":1}');
    expect(() => findCluster({ cwd, network: 'local' })).toThrow(/not a cluster record file/);
  });
});

const fakeStatus: ClusterStatus = {
  epoch: 7,
  shards: [
    { canisterId: 'rrkah-fqaaa-aaaaa-aaaaq-cai', range: [0n, 1n << 63n], entities: 1200, logicalBytes: 48 * 1048576, memoryBytes: 130 * 1048576, cycles: 4_500_000_000_000n },
    { canisterId: 'ryjl3-tyaaa-aaaaa-aaaba-cai', range: [1n << 63n, 1n << 64n], entities: 30, logicalBytes: 12 * 1048576, memoryBytes: 100 * 1048576, cycles: 5_000_000_000_000n },
  ],
  migrations: [
    { id: 'm3', kind: 'split', state: 'copying', source: 'rrkah-fqaaa-aaaaa-aaaaq-cai', target: 'r7inp-6aaaa-aaaaa-aaabq-cai', method: 'snapshot', copiedRows: 0, copiedBytes: 0 },
    { id: 'm2', kind: 'merge', state: 'done', source: 'x', method: 'rows', copiedRows: 1, copiedBytes: 1 },
  ],
};

test('status: one line per shard with range, entities, a data bar against the split limit, memory and cycles; active migrations only', () => {
  const lines = formatStatus(fakeStatus, 64 * 1048576);
  expect(lines[0]).toBe('epoch 7, 2 shard(s), split limit 64.0 MiB');
  expect(lines[1]).toMatch(/^ {2}rrkah-fqaaa-aaaaa-aaaaq-cai +\[0000000000000000, 8000000000000000\) +1200 entities +\[#{15}\.{5}\] +48\.0 MiB data, +130\.0 MiB memory +4\.50 T cycles$/);
  expect(lines[2]).toMatch(/\[8000000000000000, 10000000000000000\) +30 entities +\[#{4}\.{16}\]/);
  expect(lines.slice(3)).toEqual(['migrations in progress: 1', '  m3 split rrkah-fqaaa-aaaaa-aaaaq-cai → r7inp-6aaaa-aaaaa-aaabq-cai: copying']);
  const json = JSON.parse(JSON.stringify(statusToJSON(fakeStatus, 64)));
  expect(json).toMatchObject({ epoch: 7, limitBytes: 64, shards: [{ range: ['0', '9223372036854775808'], cycles: '4500000000000' }, {}], migrations: [{ id: 'm3' }, { id: 'm2' }] });
});

test('upgrade against a network that does not answer: one line, exit 1, nothing uploaded', async () => {
  const r = await cli(['upgrade', '--network', 'http://127.0.0.1:9'], { cwd: work });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^shardorm: cannot reach network http:\/\/127\.0\.0\.1:9\/ at [^\n]*\n$/);
});
