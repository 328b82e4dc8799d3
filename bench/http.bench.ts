// Ingress round trips per second through the IC HTTP interface (agent → HTTP server → engine),
// side by side with the same calls made on the engine directly, in one run. The agent verifies
// every certificate (BLS) and query signature (Ed25519), as it does against a real replica.
//   npx tsx bench/http.bench.ts
import { Actor, HttpAgent } from '@dfinity/agent';
import { IDL } from '@dfinity/candid';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import { join } from 'node:path';
import { buildAzleCanister } from '../lib/build/azle.js';
import { createCanister, installWasm } from '../lib/cli/deploy.js';
import { startEmbeddedReplica } from '../lib/cli/embedded.js';
import { managementCanister } from '../lib/cli/management.js';

const CALLS = Number(process.env.BENCH_HTTP_CALLS ?? 200);
const CONCURRENCY = 8;

const probeIdl: IDL.InterfaceFactory = ({ IDL }) => IDL.Service({ get: IDL.Func([], [IDL.Nat], ['query']), inc: IDL.Func([], [IDL.Nat], []) });
interface Probe {
  get(): Promise<bigint>;
  inc(): Promise<bigint>;
}

const embedded = await startEmbeddedReplica({ port: 0 });
try {
  const built = await buildAzleCanister({ root: join(process.cwd(), '__tests__/fixtures/http_probe'), name: 'http_probe' });
  const identity = Ed25519KeyIdentity.generate();
  const agent = await HttpAgent.create({ host: embedded.url, identity, shouldFetchRootKey: true });
  const management = managementCanister(agent);
  const canisterId = await createCanister(management);
  await installWasm(management, canisterId, built.wasm);
  const probe = Actor.createActor<Probe>(probeIdl, { agent, canisterId });
  // Attribution only: the same calls with the client's BLS check stubbed (the server still signs).
  const unverified = Actor.createActor<Probe>(probeIdl, { agent, canisterId, blsVerify: async () => true });
  const noArgs = new Uint8Array(IDL.encode([], []));
  const sender = identity.getPrincipal();
  const direct = {
    inc: () => embedded.replica.updateCall({ canisterId: canisterId, method: 'inc', arg: noArgs, sender }),
    get: () => embedded.replica.queryCall({ canisterId: canisterId, method: 'get', arg: noArgs, sender })
  };
  // Warm up both paths (instance caches, JIT, the agent's subnet keys).
  for (let i = 0; i < 10; i++) await Promise.all([probe.inc(), probe.get(), direct.inc(), direct.get()]);

  const rows: [string, number, number][] = [];
  const measure = async (name: string, http: () => Promise<unknown>, engine: () => Promise<unknown>, concurrency: number) => {
    rows.push([name, await rate(http, concurrency), await rate(engine, concurrency)]);
  };
  await measure('update (sequential)', () => probe.inc(), direct.inc, 1);
  await measure(`update (${CONCURRENCY} in flight)`, () => probe.inc(), direct.inc, CONCURRENCY);
  await measure('update (sequential, client skips BLS verification)', () => unverified.inc(), direct.inc, 1);
  await measure('query (sequential)', () => probe.get(), direct.get, 1);
  await measure(`query (${CONCURRENCY} in flight)`, () => probe.get(), direct.get, CONCURRENCY);

  console.log('## HTTP interface: ingress round trips per second\n');
  console.log('`npx tsx bench/http.bench.ts` (BENCH_HTTP_CALLS, default 200 per row). @dfinity/agent 3.4.3 with');
  console.log('default verification against the embedded replica on 127.0.0.1, Azle-built `http_probe` canister;');
  console.log('"engine direct" makes the same call on LocalReplica in-process, without HTTP. Client and server');
  console.log('share one process and its cores; an update costs one BLS signature (server) and one BLS');
  console.log('verification (agent), a query one Ed25519 signature each way.\n');
  console.log('| operation | calls | through HTTP (calls/s) | engine direct (calls/s) | HTTP / direct |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [name, http, engine] of rows) console.log(`| ${name} | ${CALLS} | ${http.toFixed(0)} | ${engine.toFixed(0)} | ${(http / engine).toFixed(2)} |`);
} finally {
  await embedded.close();
}

async function rate(call: () => Promise<unknown>, concurrency: number): Promise<number> {
  let remaining = CALLS;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (remaining-- > 0) await call();
    })
  );
  return CALLS / ((performance.now() - start) / 1000);
}
