// The http_probe fixture canister (__tests__/fixtures/http_probe) as the HTTP tests use it: its
// Candid interface, and a deploy on an in-process LocalReplica served over HTTP, driven only by a
// stock agent (create + gzipped install_code through the management canister).
import { Actor, HttpAgent, type HttpAgentOptions, type Identity } from '@dfinity/agent';
import type { IDL } from '@dfinity/candid';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import type { Principal } from '@dfinity/principal';
import { join } from 'node:path';
import { buildAzleCanister } from '../../lib/build/azle.js';
import { createCanister, installWasm } from '../../lib/cli/deploy.js';
import { managementCanister } from '../../lib/cli/management.js';
import type { HttpServerHandle, HttpServerOptions } from '../../lib/replica/http/index.js';
import { LocalReplica } from '../../lib/replica/http/listen.js';
import type { LocalReplicaOptions } from '../../lib/replica/replica.js';

export const probeIdl: IDL.InterfaceFactory = ({ IDL }) =>
  IDL.Service({
    get: IDL.Func([], [IDL.Nat], ['query']),
    inc: IDL.Func([], [IDL.Nat], []),
    incLater: IDL.Func([IDL.Nat32], [], []),
    incThenTrap: IDL.Func([], [IDL.Nat], []),
    whoami: IDL.Func([], [IDL.Principal], ['query']),
    whoamiUpdate: IDL.Func([], [IDL.Principal], []),
    refusedByInspect: IDL.Func([], [IDL.Nat], []),
    certify: IDL.Func([IDL.Vec(IDL.Nat8)], [], []),
    certificate: IDL.Func([], [IDL.Opt(IDL.Vec(IDL.Nat8))], ['query'])
  });

export interface Probe {
  get(): Promise<bigint>;
  inc(): Promise<bigint>;
  incLater(delaySeconds: number): Promise<void>;
  incThenTrap(): Promise<bigint>;
  whoami(): Promise<Principal>;
  whoamiUpdate(): Promise<Principal>;
  refusedByInspect(): Promise<bigint>;
  certify(data: Uint8Array): Promise<void>;
  certificate(): Promise<[] | [Uint8Array]>;
}

export const buildProbe = () => buildAzleCanister({ root: join(process.cwd(), '__tests__/fixtures/http_probe'), name: 'http_probe' });

export interface ServedProbe {
  replica: LocalReplica;
  server: HttpServerHandle;
  canisterId: Principal;
  /** The controller that deployed it. */
  owner: Ed25519KeyIdentity;
  agentFor(identity?: Identity, options?: Partial<HttpAgentOptions>): Promise<HttpAgent>;
  actorFor(identity?: Identity, options?: Partial<HttpAgentOptions>): Promise<Probe>;
  close(): Promise<void>;
}

export interface ServeProbeOptions {
  server?: Omit<HttpServerOptions, 'port'>;
  onCanisterLog?: LocalReplicaOptions['onCanisterLog'];
}

/** A fresh replica (replica time = wall clock) serving one deployed http_probe. */
export async function serveProbe(options: ServeProbeOptions = {}): Promise<ServedProbe> {
  const built = await buildProbe();
  const replica = await LocalReplica.create({ startTime: (options.server?.clock ?? Date.now)(), onCanisterLog: options.onCanisterLog });
  const server = await replica.listen({ port: 0, ...options.server });
  const agentFor = (identity?: Identity, agentOptions: Partial<HttpAgentOptions> = {}) => HttpAgent.create({ host: server.url, shouldFetchRootKey: true, identity, ...agentOptions });
  const owner = Ed25519KeyIdentity.generate();
  const management = managementCanister(await agentFor(owner));
  const canisterId = await createCanister(management);
  await installWasm(management, canisterId, built.wasm, { strategy: 'gzip' });
  return {
    replica,
    server,
    canisterId,
    owner,
    agentFor,
    actorFor: async (identity, agentOptions) => Actor.createActor<Probe>(probeIdl, { agent: await agentFor(identity, agentOptions), canisterId }),
    async close() {
      await server.close();
      await replica.close();
    }
  };
}
