// Shared setup of the CLI tests: an embedded replica over HTTP, PEM identities on disk, the probe
// canister (putStable/getStable/fillStable) installed by a given identity, and runCli with
// captured stdout/stderr.
import { Actor, HttpAgent } from '@dfinity/agent';
import { IDL } from '@dfinity/candid';
import type { Principal } from '@dfinity/principal';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAzleCanister } from '../../lib/build/azle.js';
import { createCanister, installWasm } from '../../lib/cli/deploy.js';
import { type EmbeddedReplica, startEmbeddedReplica } from '../../lib/cli/embedded.js';
import { loadPemIdentity } from '../../lib/cli/identity.js';
import { managementCanister } from '../../lib/cli/management.js';
import type { CliIo } from '../../lib/cli/output.js';
import { runCli } from '../../lib/cli/program.js';

export interface Probe {
  putStable(key: string, value: string): Promise<void>;
  getStable(key: string): Promise<[] | [string]>;
  fillStable(count: number, valueBytes: number): Promise<number>;
  increment(): Promise<bigint>;
  getCounter(): Promise<bigint>;
}

export const probeIdl: IDL.InterfaceFactory = () =>
  IDL.Service({
    putStable: IDL.Func([IDL.Text, IDL.Text], [], []),
    getStable: IDL.Func([IDL.Text], [IDL.Opt(IDL.Text)], ['query']),
    fillStable: IDL.Func([IDL.Nat32, IDL.Nat32], [IDL.Nat32], []),
    increment: IDL.Func([], [IDL.Nat], []),
    getCounter: IDL.Func([], [IDL.Nat], ['query']),
  });

/** The probe's init takes `opt text`. */
export const PROBE_INIT_ARG = new Uint8Array(IDL.encode([IDL.Opt(IDL.Text)], [[]]));

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `shardorm-${prefix}-`));
}

export function writeEd25519Pem(dir: string, name = 'identity.pem'): string {
  const path = join(dir, name);
  writeFileSync(path, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }));
  return path;
}

export function writeSecp256k1Pem(dir: string, name = 'secp.pem'): string {
  const path = join(dir, name);
  const pem = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey.export({ format: 'pem', type: 'sec1' });
  // dfx writes the curve parameters first.
  writeFileSync(path, `-----BEGIN EC PARAMETERS-----\nBgUrgQQACg==\n-----END EC PARAMETERS-----\n${pem}`);
  return path;
}

export async function agentFor(url: string, pem: string): Promise<HttpAgent> {
  return HttpAgent.create({ host: url, identity: loadPemIdentity(pem, 'option').identity, shouldFetchRootKey: true });
}

export async function installProbe(agent: HttpAgent): Promise<{ id: Principal; probe: Probe; wasm: Uint8Array }> {
  const built = await buildAzleCanister({ root: join(process.cwd(), '__tests__/fixtures/probe'), name: 'probe' });
  const management = managementCanister(agent);
  const id = await createCanister(management, [await agent.getPrincipal()]);
  await installWasm(management, id, built.wasm, { arg: PROBE_INIT_ARG });
  return { id, probe: Actor.createActor<Probe>(probeIdl, { agent, canisterId: id }), wasm: built.wasm };
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(argv: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: options.env ?? { HOME: options.cwd }, cwd: options.cwd, interactive: false };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

export async function replica(): Promise<EmbeddedReplica> {
  return startEmbeddedReplica({ port: 0 });
}
