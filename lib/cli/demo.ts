// `shardorm demo`: the smallest end-to-end tour. Starts the embedded replica (or uses --network),
// builds the example canister named in the root dfx.json with Azle, deploys it through the
// management canister, calls it with @dfinity/agent over HTTP (certificates and query signatures
// verified), shows the owner check refusing another identity, and prints the status.
import { Actor, CanisterStatus, HttpAgent } from '@dfinity/agent';
import type { IDL } from '@dfinity/candid';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import { bytesToHex } from '@noble/hashes/utils';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAzleCanister } from '../build/azle.js';
import { createCanister, installWasm } from './deploy.js';
import { type EmbeddedReplica, startEmbeddedReplica } from './embedded.js';
import { managementCanister } from './management.js';
import { resolveNetwork } from './network.js';

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const EXAMPLE_CANISTER = 'shardorm_example';

const exampleIdl: IDL.InterfaceFactory = ({ IDL }) => {
  const Snippet = IDL.Record({ id: IDL.Text, pageId: IDL.Text, body: IDL.Text, owner: IDL.Principal });
  return IDL.Service({
    put: IDL.Func([IDL.Text, IDL.Text, IDL.Text], [Snippet], []),
    get: IDL.Func([IDL.Text], [IDL.Opt(Snippet)], ['query']),
    count: IDL.Func([], [IDL.Nat64], ['query'])
  });
};

interface Snippet {
  id: string;
  pageId: string;
  body: string;
  owner: { toText(): string };
}

interface Example {
  put(pageId: string, id: string, body: string): Promise<Snippet>;
  get(id: string): Promise<[] | [Snippet]>;
  count(): Promise<bigint>;
}

export async function demo(options: { network?: string }, print: (line: string) => void = console.log): Promise<void> {
  const network = resolveNetwork(options.network);
  if (network.isMainnet) throw new Error('The demo creates canisters with provisional_create_canister_with_cycles, which mainnet refuses; use --network local, dfx or a PocketIC URL.');
  let embedded: EmbeddedReplica | undefined;
  try {
    if (network.host === undefined) embedded = await startEmbeddedReplica({ port: 0 });
    const host = network.host ?? embedded!.url;
    print(`replica: ${host} (network ${network.name})`);
    const built = await buildAzleCanister({ root: packageRoot, name: EXAMPLE_CANISTER });
    print(`built ${EXAMPLE_CANISTER} with Azle: ${(built.wasm.length / 1024).toFixed(0)} KiB Wasm${built.cached ? ' (cached)' : ''}`);

    const identity = Ed25519KeyIdentity.generate();
    const agent = await HttpAgent.create({ host, identity, shouldFetchRootKey: network.fetchRootKey });
    print(`root key: ${bytesToHex(agent.rootKey!).slice(-24)}… (certificates and query signatures verified)`);
    const management = managementCanister(agent);
    const canisterId = await createCanister(management);
    const how = await installWasm(management, canisterId, built.wasm);
    print(`deployed ${EXAMPLE_CANISTER} as ${canisterId.toText()} (${how === 'gzip' ? 'install_code, gzipped' : 'upload_chunk + install_chunked_code'})`);

    const board = Actor.createActor<Example>(exampleIdl, { agent, canisterId });
    const put = await board.put('welcome', 'first', 'Hello from ShardORM');
    print(`update put("welcome", "first", …) → owner ${put.owner.toText().slice(0, 11)}…`);
    const [got] = await board.get('first');
    print(`query  get("first") → ${JSON.stringify(got?.body)}, count() → ${await board.count()}`);
    const stranger = Actor.createActor<Example>(exampleIdl, {
      agent: await HttpAgent.create({ host, identity: Ed25519KeyIdentity.generate(), shouldFetchRootKey: network.fetchRootKey }),
      canisterId
    });
    const refused = await stranger.put('welcome', 'first', 'overwritten?').then(
      () => 'accepted (owner check broken!)',
      (error: Error) => `refused: ${/belongs to/.test(error.message) ? 'not the owner' : error.message.split('\n')[0]}`
    );
    print(`update put("welcome", "first", …) by another identity → ${refused}`);

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
