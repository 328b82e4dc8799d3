// backup → wipe → restore on plain Azle canisters (the probe) over the embedded replica's HTTP
// interface, through the real command line: data equality after restore, every chunk's hash
// checked (a tampered backup is refused and changes nothing), fresh-canister restore beside the
// original, and the one-line errors for a non-controller identity.
import { Actor } from '@dfinity/agent';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackupManifest } from '../../lib/cli/backup-manifest.js';
import { installWasm } from '../../lib/cli/deploy.js';
import type { EmbeddedReplica } from '../../lib/cli/embedded.js';
import { managementCanister } from '../../lib/cli/management.js';
import { agentFor, cli, installProbe, PROBE_INIT_ARG, type Probe, probeIdl, replica, tempDir, writeEd25519Pem } from './helpers.js';

let server: EmbeddedReplica;
const work = tempDir('backup');
const pem = writeEd25519Pem(work);

beforeAll(async () => {
  server = await replica();
});
afterAll(async () => {
  await server?.close();
});

const common = () => ['--network', server.url, '--identity', pem];

test('backup → reinstall (wipe) → restore gives back the same stable data, and the manifest hashes every chunk', async () => {
  const agent = await agentFor(server.url, pem);
  const a = await installProbe(agent);
  const b = await installProbe(agent);
  await a.probe.putStable('greeting', 'hello');
  await a.probe.fillStable(24, 64 * 1024); // 1.5 MiB of values: at least two 1 MiB chunks
  await b.probe.putStable('other', 'canister b');
  await a.probe.increment();

  const out = join(work, 'b1');
  const backup = await cli(['backup', '--out', out, '--canister', a.id.toText(), '--canister', b.id.toText(), '--json', ...common()], { cwd: work });
  expect(backup).toMatchObject({ code: 0, stderr: expect.any(String) });
  const result = JSON.parse(backup.stdout);
  expect(result.canisters.map((c: { canisterId: string }) => c.canisterId)).toEqual([a.id.toText(), b.id.toText()]);
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as BackupManifest;
  const stable = manifest.canisters[0].regions.stable_memory;
  expect(stable.bytes).toBeGreaterThan(1024 * 1024);
  expect(stable.chunks).toHaveLength(Math.ceil(stable.bytes / (1024 * 1024)));
  expect(readFileSync(join(out, stable.file)).length).toBe(stable.bytes);

  // The canisters kept serving (started again) and no snapshot was left behind.
  expect(await a.probe.getStable('greeting')).toEqual(['hello']);
  expect(await managementCanister(agent).list_canister_snapshots({ canister_id: a.id })).toEqual([]);

  // Wipe: reinstall the same module (empty state), change b.
  await installWasm(managementCanister(agent), a.id, a.wasm, { mode: { reinstall: null }, arg: PROBE_INIT_ARG });
  await b.probe.putStable('other', 'changed after the backup');
  expect(await a.probe.getStable('greeting')).toEqual([]);

  const restore = await cli(['restore', out, '--json', ...common()], { cwd: work });
  expect(restore.stderr).not.toMatch(/shardorm:/);
  expect(restore.code).toBe(0);
  expect(JSON.parse(restore.stdout).canisters).toEqual([
    { from: a.id.toText(), to: a.id.toText(), role: 'canister', bytes: expect.any(Number) },
    { from: b.id.toText(), to: b.id.toText(), role: 'canister', bytes: expect.any(Number) },
  ]);
  expect(await a.probe.getStable('greeting')).toEqual(['hello']);
  expect(await a.probe.getStable('fill-23')).toEqual(['v'.repeat(64 * 1024)]);
  expect(await a.probe.getCounter()).toBe(1n);
  expect(await b.probe.getStable('other')).toEqual(['canister b']);

  // A second backup of the restored canister is byte-identical to the first.
  const again = join(work, 'b2');
  expect((await cli(['backup', '--out', again, '--canister', a.id.toText(), ...common()], { cwd: work })).code).toBe(0);
  const second = JSON.parse(readFileSync(join(again, 'manifest.json'), 'utf8')) as BackupManifest;
  expect(second.canisters[0].regions.stable_memory.sha256).toBe(stable.sha256);
  expect(second.canisters[0].regions.main_memory.sha256).toBe(manifest.canisters[0].regions.main_memory.sha256);
}, 240_000);

test('a tampered backup is refused before anything is uploaded; --fresh restores beside the original', async () => {
  const agent = await agentFor(server.url, pem);
  const a = await installProbe(agent);
  await a.probe.putStable('k', 'original');
  const out = join(work, 'tamper');
  expect((await cli(['backup', '--out', out, '--canister', a.id.toText(), ...common()], { cwd: work })).code).toBe(0);
  await a.probe.putStable('k', 'after backup');

  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as BackupManifest;
  const file = join(out, manifest.canisters[0].regions.stable_memory.file);
  const bytes = readFileSync(file);
  bytes[100] ^= 0xff;
  writeFileSync(file, bytes);
  const refused = await cli(['restore', out, ...common()], { cwd: work });
  expect(refused.code).toBe(1);
  expect(refused.stderr.trim().split('\n')).toHaveLength(1);
  expect(refused.stderr).toMatch(/^shardorm: backup .* is damaged: .*stable_memory\.bin chunk 0 has SHA-256 .*; nothing was uploaded$/m);
  expect(await a.probe.getStable('k')).toEqual(['after backup']);

  bytes[100] ^= 0xff;
  writeFileSync(file, bytes);
  const fresh = await cli(['restore', out, '--fresh', '--json', ...common()], { cwd: work });
  expect(fresh.code).toBe(0);
  const [{ to }] = JSON.parse(fresh.stdout).canisters;
  expect(to).not.toBe(a.id.toText());
  const copy = Actor.createActor<Probe>(probeIdl, { agent, canisterId: to });
  expect(await copy.getStable('k')).toEqual(['original']);
  expect(await a.probe.getStable('k')).toEqual(['after backup']);
  await copy.putStable('k', 'the copy changes alone');
  expect(await a.probe.getStable('k')).toEqual(['after backup']);
}, 240_000);

test('a non-controller identity gets one line naming itself and the canister, and a non-zero exit', async () => {
  const agent = await agentFor(server.url, pem);
  const a = await installProbe(agent);
  const strangerPem = writeEd25519Pem(work, 'stranger.pem');
  const stranger = (await agentFor(server.url, strangerPem)).getPrincipal();
  const run = await cli(['backup', '--out', join(work, 'stranger'), '--canister', a.id.toText(), '--network', server.url, '--identity', strangerPem], { cwd: work });
  expect(run.code).toBe(1);
  expect(run.stderr).toBe(`shardorm: identity ${(await stranger).toText()} does not control ${a.id.toText()}; pass --identity with a controller's PEM\n`);
}, 240_000);
