// Both stock agents against the replica with their default verification (root key fetched, BLS
// certificates and query node signatures checked), on real Wasm (the http_probe Azle canister):
// @dfinity/agent 3.4.3 (v3 calls, v2 queries and read_state) and @icp-sdk/core 6.1, its successor
// (v4 calls, v3 queries and read_state). Each deploys its own canister through the management
// canister, then updates, queries and reads certified state; each also reads what the other wrote.
import * as dfinity from '@dfinity/agent';
import { Ed25519KeyIdentity as DfinityEd25519 } from '@dfinity/identity';
import { Principal as DfinityPrincipal } from '@dfinity/principal';
import * as icp from '@icp-sdk/core/agent';
import { Ed25519KeyIdentity as IcpEd25519 } from '@icp-sdk/core/identity';
import { Principal as IcpPrincipal } from '@icp-sdk/core/principal';
import { sha256 } from '@noble/hashes/sha2';
import { gzipSync } from 'node:zlib';
import { DEFAULT_CANISTER_CYCLES } from '../../lib/cli/deploy.js';
import { managementIdlFactory, PROVISIONAL_EFFECTIVE_ID } from '../../lib/cli/management.js';
import type { HttpServerHandle } from '../../lib/replica/http/index.js';
import { LocalReplica } from '../../lib/replica/http/listen.js';
import { buildProbe, type Probe, probeIdl } from './probe-canister.js';

/** What the test needs of an agent package; both packages fit it. */
interface AgentKit {
  name: string;
  /** Endpoints the package's agent requests. */
  endpoints: RegExp;
  connect(host: string): Promise<{ principal: string; actor<T>(canisterId: string, effectiveCanisterId?: string): T; readState(canisterId: string): Promise<Map<string, unknown>> }>;
}

const kits: AgentKit[] = [
  {
    name: '@dfinity/agent 3.4.3',
    endpoints: /^\/api\/(v2\/status|v3\/canister\/[^/]+\/call|v2\/canister\/[^/]+\/(query|read_state))$/,
    async connect(host) {
      const identity = DfinityEd25519.generate();
      const agent = await dfinity.HttpAgent.create({ host, identity, shouldFetchRootKey: true, fetch: recording(host) });
      return {
        principal: identity.getPrincipal().toText(),
        actor: <T>(canisterId: string, effectiveCanisterId?: string) =>
          dfinity.Actor.createActor(canisterId === 'aaaaa-aa' ? managementIdlFactory : probeIdl, { agent, canisterId, effectiveCanisterId: effectiveCanisterId === undefined ? undefined : DfinityPrincipal.fromText(effectiveCanisterId) }) as T,
        readState: canisterId => dfinity.CanisterStatus.request({ agent, canisterId: DfinityPrincipal.fromText(canisterId), paths: ['module_hash', 'controllers', 'time'] }) as Promise<Map<string, unknown>>
      };
    }
  },
  {
    name: '@icp-sdk/core 6.1',
    endpoints: /^\/api\/(v2\/status|v4\/canister\/[^/]+\/call|v3\/(canister|subnet)\/[^/]+\/(query|read_state))$/,
    async connect(host) {
      const identity = IcpEd25519.generate();
      const agent = await icp.HttpAgent.create({ host, identity, shouldFetchRootKey: true, fetch: recording(host) });
      return {
        principal: identity.getPrincipal().toText(),
        actor: <T>(canisterId: string, effectiveCanisterId?: string) =>
          icp.Actor.createActor(canisterId === 'aaaaa-aa' ? (managementIdlFactory as never) : (probeIdl as never), { agent, canisterId, effectiveCanisterId: effectiveCanisterId === undefined ? undefined : IcpPrincipal.fromText(effectiveCanisterId) }) as T,
        readState: canisterId => icp.CanisterStatus.request({ agent, canisterId: IcpPrincipal.fromText(canisterId), paths: ['module_hash', 'controllers', 'time'] }) as Promise<Map<string, unknown>>
      };
    }
  }
];

const requested: string[] = [];
/** A fetch that records each path the agent asks for. */
function recording(host: string): typeof fetch {
  return ((input: RequestInfo | URL, init?: RequestInit) => {
    requested.push(String(input instanceof Request ? input.url : input).replace(host, '').replace(/^\/?/, '/'));
    return fetch(input, init);
  }) as typeof fetch;
}

let replica: LocalReplica;
let server: HttpServerHandle;
let wasm: Uint8Array;
const deployed = new Map<string, string>();

beforeAll(async () => {
  wasm = (await buildProbe()).wasm;
  replica = await LocalReplica.create({ startTime: Date.now() });
  server = await replica.listen({ port: 0 });
}, 180_000);
afterAll(async () => {
  await server.close();
  await replica.close();
});

interface Management {
  provisional_create_canister_with_cycles(arg: unknown): Promise<{ canister_id: { toText(): string } }>;
  install_code(arg: unknown): Promise<void>;
}

test.each(kits)('$name deploys, updates, queries and reads certified state with default verification', async kit => {
  requested.length = 0;
  const client = await kit.connect(server.url);
  const creator = client.actor<Management>('aaaaa-aa', PROVISIONAL_EFFECTIVE_ID.toText());
  const { canister_id } = await creator.provisional_create_canister_with_cycles({ amount: [DEFAULT_CANISTER_CYCLES], settings: [], specified_id: [], sender_canister_version: [] });
  const canisterId = canister_id.toText();
  const installer = client.actor<Management>('aaaaa-aa', canisterId);
  await installer.install_code({ mode: { install: null }, canister_id, wasm_module: new Uint8Array(gzipSync(wasm)), arg: new Uint8Array(), sender_canister_version: [] });
  deployed.set(kit.name, canisterId);

  const probe = client.actor<Probe>(canisterId);
  expect(await probe.inc()).toBe(1n);
  expect(await probe.inc()).toBe(2n);
  expect(await probe.get()).toBe(2n);
  expect((await probe.whoami()).toText()).toBe(client.principal);
  expect((await probe.whoamiUpdate()).toText()).toBe(client.principal);
  await expect(probe.incThenTrap()).rejects.toThrow(/IC0503|trapped after incrementing/);
  expect(await probe.get()).toBe(2n);

  const status = await client.readState(canisterId);
  expect(Buffer.from(status.get('module_hash') as string, 'hex')).toEqual(Buffer.from(sha256(wasm)));
  expect((status.get('controllers') as { toText(): string }[]).map(c => c.toText())).toEqual([client.principal]);
  expect(Math.abs((status.get('time') as Date).getTime() - Date.now())).toBeLessThan(60_000);

  // It used the endpoints of its own API version, and every one was served.
  expect(requested.length).toBeGreaterThan(0);
  for (const path of requested) expect(path).toMatch(kit.endpoints);
}, 60_000);

test('each agent reads and updates the canister the other deployed', async () => {
  expect([...deployed.keys()]).toHaveLength(2);
  for (const kit of kits) {
    const client = await kit.connect(server.url);
    for (const canisterId of deployed.values()) {
      const probe = client.actor<Probe>(canisterId);
      const before = await probe.get();
      expect(await probe.inc()).toBe(before + 1n);
    }
  }
});

test('@icp-sdk/core reaches the subnet endpoints: read_state and a management call with an effective subnet', async () => {
  requested.length = 0;
  const identity = IcpEd25519.generate();
  const agent = await icp.HttpAgent.create({ host: server.url, identity, shouldFetchRootKey: true, fetch: recording(server.url) });
  const subnetId = IcpPrincipal.fromUint8Array(server.keys.subnetId.toUint8Array());
  const label = (text: string) => new TextEncoder().encode(text);
  const { verifiedCertificate } = await agent.readState({ subnetId }, { paths: [[label('subnet'), subnetId.toUint8Array(), label('public_key')]] });
  expect(Buffer.from(icp.lookupResultToBuffer(verifiedCertificate.lookup_path(['subnet', subnetId.toUint8Array(), 'public_key']))!)).toEqual(Buffer.from(server.keys.rootKeyDer));
  const management = icp.Actor.createActor(managementIdlFactory as never, { agent, canisterId: 'aaaaa-aa', effectiveTarget: { subnetId } }) as unknown as Management;
  const { canister_id } = await management.provisional_create_canister_with_cycles({ amount: [], settings: [], specified_id: [], sender_canister_version: [] });
  expect(replica.getControllers(DfinityPrincipal.fromText(canister_id.toText())).map(c => c.toText())).toEqual([identity.getPrincipal().toText()]);
  expect(requested).toEqual(expect.arrayContaining([`/api/v3/subnet/${subnetId.toText()}/read_state`, `/api/v4/subnet/${subnetId.toText()}/call`]));
});
