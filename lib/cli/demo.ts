// `shardorm demo`: the smallest end-to-end tour. Starts the embedded replica (or uses --network),
// builds the hello fixture canister with Azle, deploys it through the management canister, calls
// it with @dfinity/agent over HTTP (certificates and query signatures verified), prints the status.
import { Actor, CanisterStatus, HttpAgent } from '@dfinity/agent';
import type { IDL } from '@dfinity/candid';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import { bytesToHex } from '@noble/hashes/utils';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAzleCanister } from '../build/azle.js';
import { createCanister, installWasm } from './deploy.js';
import { type EmbeddedReplica, startEmbeddedReplica } from './embedded.js';
import { managementCanister } from './management.js';
import { resolveNetwork } from './network.js';

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const HELLO_ROOT = join(packageRoot, '__tests__/fixtures/hello');

const helloIdl: IDL.InterfaceFactory = ({ IDL }) =>
  IDL.Service({ getMessage: IDL.Func([], [IDL.Text], ['query']), setMessage: IDL.Func([IDL.Text], [], []) });

interface Hello {
  getMessage(): Promise<string>;
  setMessage(message: string): Promise<void>;
}

export async function demo(options: { network?: string }, print: (line: string) => void = console.log): Promise<void> {
  const network = resolveNetwork(options.network);
  if (network.isMainnet) throw new Error('The demo creates canisters with provisional_create_canister_with_cycles, which mainnet refuses; use --network local, dfx or a PocketIC URL.');
  let embedded: EmbeddedReplica | undefined;
  try {
    if (network.host === undefined) embedded = await startEmbeddedReplica({ port: 0 });
    const host = network.host ?? embedded!.url;
    print(`replica: ${host} (network ${network.name})`);
    const built = await buildAzleCanister({ root: HELLO_ROOT, name: 'hello' });
    print(`built hello with Azle: ${(built.wasm.length / 1024).toFixed(0)} KiB Wasm${built.cached ? ' (cached)' : ''}`);

    const identity = Ed25519KeyIdentity.generate();
    const agent = await HttpAgent.create({ host, identity, shouldFetchRootKey: network.fetchRootKey });
    print(`root key: ${bytesToHex(agent.rootKey!).slice(-24)}… (certificates and query signatures verified)`);
    const management = managementCanister(agent);
    const canisterId = await createCanister(management);
    const how = await installWasm(management, canisterId, built.wasm);
    print(`deployed hello as ${canisterId.toText()} (${how === 'gzip' ? 'install_code, gzipped' : 'upload_chunk + install_chunked_code'})`);

    const hello = Actor.createActor<Hello>(helloIdl, { agent, canisterId });
    print(`query  getMessage() → ${JSON.stringify(await hello.getMessage())}`);
    await hello.setMessage('Hello from ShardORM');
    print('update setMessage("Hello from ShardORM") → ()');
    print(`query  getMessage() → ${JSON.stringify(await hello.getMessage())}`);

    const status = await management.canister_status({ canister_id: canisterId });
    print(`status: ${Object.keys(status.status)[0]}, module ${status.module_hash[0] ? bytesToHex(status.module_hash[0]).slice(0, 16) + '…' : 'none'}, memory ${status.memory_size} bytes, cycles ${status.cycles}`);
    print(`controllers: ${status.settings.controllers.map(c => c.toText()).join(', ')}`);
    print(`you: ${identity.getPrincipal().toText()}`);
    const replicaStatus = (await agent.status()) as { replica_health_status?: string; impl_version?: string };
    const certified = await CanisterStatus.request({ agent, canisterId, paths: ['time'] });
    print(`replica status: ${replicaStatus.replica_health_status ?? 'unknown'} (${replicaStatus.impl_version ?? 'unknown implementation'}), certified time ${(certified.get('time') as Date).toISOString()}`);
  } finally {
    await embedded?.close();
  }
}
