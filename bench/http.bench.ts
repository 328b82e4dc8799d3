// Update calls per second through the IC HTTP interface with 1, 4 and 16 concurrent agents, with
// the agent's BLS certificate check on (default) and stubbed, side by side with the same update
// made on the engine directly (in-process, no HTTP) in the same run. The replica runs as its own
// process (`shardorm replica start`, as users run it), so client and replica CPU are measured
// apart: with verification on, the clients' one JS thread saturates on BLS pairings (~30 ms each).
//   npm run bench -- http          (BENCH_HTTP_SECONDS per row, default 4, after BENCH_HTTP_WARMUP_SECONDS, default 20)
import { Actor, type DerEncodedPublicKey, HttpAgent, type Signature, SignIdentity } from '@dfinity/agent';
import { IDL } from '@dfinity/candid';
import { Ed25519KeyIdentity, Ed25519PublicKey } from '@dfinity/identity';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { spawnReplica } from '../__tests__/http/spawn-replica.js';
import { buildProbe, probeIdl, type Probe } from '../__tests__/http/probe-canister.js';
import { createCanister, installWasm } from '../lib/cli/deploy.js';
import { managementCanister } from '../lib/cli/management.js';
import { LocalReplica } from '../lib/replica/index.js';

const ROW_MS = Number(process.env.BENCH_HTTP_SECONDS ?? 4) * 1000;
/**
 * Before the rows, the replica serves the busiest row's load and the engine runs alone for this
 * long each: V8 tiers a Wasm function up once it is hot, and the replica's compiler threads were
 * still busy ~20 s into a run (the engine direct, a tight loop, gets there in a few seconds).
 */
const WARMUP_MS = Number(process.env.BENCH_HTTP_WARMUP_SECONDS ?? 20) * 1000;
const WARMUP_CALLS = 20;
const AGENT_COUNTS = [1, 4, 16] as const;
/** Who signs the agents' requests: @dfinity/identity's JavaScript Ed25519, or Node's OpenSSL. */
type Signer = 'js' | 'node';
const cpuCount = availableParallelism();
/** Linux reports process CPU in clock ticks of 1/100 s (USER_HZ). */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * An Ed25519 identity that signs with Node's crypto (OpenSSL) instead of @noble/curves: the same
 * signatures at a fraction of the clients' CPU, so more of a 2-core machine is left to the replica.
 */
class NodeEd25519Identity extends SignIdentity {
  readonly #publicKey: Ed25519PublicKey;
  readonly #privateKey: KeyObject;

  constructor() {
    super();
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    this.#publicKey = Ed25519PublicKey.fromDer(new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })) as DerEncodedPublicKey);
    this.#privateKey = privateKey;
  }

  getPublicKey(): Ed25519PublicKey {
    return this.#publicKey;
  }

  async sign(blob: Uint8Array): Promise<Signature> {
    return new Uint8Array(sign(null, blob, this.#privateKey)) as Signature;
  }
}

const built = await buildProbe();
const server = await spawnReplica();
try {
  const owner = Ed25519KeyIdentity.generate();
  const management = managementCanister(await HttpAgent.create({ host: server.url, identity: owner, shouldFetchRootKey: true }));
  const canisterId = await createCanister(management);
  await installWasm(management, canisterId, built.wasm);

  // One agent per client, each with its own identity, as separate users would be.
  const actors = async (count: number, verify: boolean, signer: Signer = 'js') =>
    Promise.all(
      Array.from({ length: count }, async () => {
        const identity = signer === 'js' ? Ed25519KeyIdentity.generate() : new NodeEd25519Identity();
        const agent = await HttpAgent.create({ host: server.url, identity, shouldFetchRootKey: true });
        return Actor.createActor<Probe>(probeIdl, { agent, canisterId, ...(verify ? {} : { blsVerify: async () => true }) });
      })
    );

  const direct = await engineDirect(built.wasm);
  await untilDeadline(await actors(AGENT_COUNTS.at(-1)!, false), WARMUP_MS);
  await direct.rate(WARMUP_MS);
  const rows: string[] = [];
  const plan: [count: number, verify: boolean, signer: Signer][] = [
    ...[true, false].flatMap(verify => AGENT_COUNTS.map((count): [number, boolean, Signer] => [count, verify, 'js'])),
    [AGENT_COUNTS.at(-1)!, false, 'node']
  ];
  for (const [count, verify, signer] of plan) {
    const clients = await actors(count, verify, signer);
    for (let i = 0; i < WARMUP_CALLS; i++) await clients[i % count].inc();
    // Measured right before its row: the machine is shared, so only adjacent figures compare.
    const directRate = await direct.rate();
    const measured = await measure(server.child.pid!, () => untilDeadline(clients, ROW_MS));
    const cells = [count, signer === 'js' ? '@dfinity/identity' : 'node:crypto', verify ? 'on' : 'stubbed', measured.rate.toFixed(0), directRate.rate.toFixed(0), (measured.rate / directRate.rate).toFixed(2)];
    cells.push(`${measured.clientCpu.toFixed(0)} %`, `${measured.replicaCpu.toFixed(0)} %`, ms(measured.clientMsPerCall), ms(measured.replicaMsPerCall), ms(directRate.msPerCall), (directRate.msPerCall / measured.replicaMsPerCall).toFixed(2));
    // Client and replica together cannot use more CPU than the machine has.
    const bound = (cpuCount * 1000) / (measured.clientMsPerCall + measured.replicaMsPerCall);
    cells.push(`${bound.toFixed(0)} (${(bound / directRate.rate).toFixed(2)})`);
    rows.push(`| ${cells.join(' | ')} |`);
  }
  await direct.close();

  console.log('## HTTP interface: update calls per second\n');
  console.log(`Command: \`npm run bench -- http\` (${ROW_MS / 1000} s per row). @dfinity/agent 3.4.3 clients (one HttpAgent and`);
  console.log('Ed25519 identity each) in the bench process; the replica is `shardorm replica start` in its own');
  console.log('process, running the Azle-built `http_probe` canister; each client calls `inc` in a loop.');
  console.log('"Engine direct": the same update (inspect_message included) on an in-process LocalReplica, no HTTP,');
  console.log(`measured just before each row. First both warm up for ${WARMUP_MS / 1000} s (the replica under the 16-agent stubbed load),`);
  console.log('so that V8 has tiered the hot Wasm up in both processes.');
  console.log('Calls that arrive together run in one round; a BLS signature waits (at most 50 ms) until every');
  console.log('caller active in the last second has a call in it. "CPU" is each');
  console.log('process\'s CPU time over wall time (100 % = one core; the clients\' JS runs on one thread);');
  console.log('"ms/update" is CPU time per update, which a shared machine disturbs far less than wall rates.');
  console.log('The last column compares CPU per update on the engine alone with the replica process serving');
  console.log('HTTP: the rate it reaches on a core of its own, relative to engine direct.');
  console.log(`"Machine bound": the most updates/s this machine's ${cpuCount} cores allow at the row's client + replica CPU per`);
  console.log('update, were no core ever idle (in brackets, relative to engine direct): an upper bound on the row\'s rate.');
  console.log('"Signer": the agents\' identity; @dfinity/identity signs in JavaScript (@noble/curves), the last');
  console.log('row signs the same Ed25519 requests with Node\'s OpenSSL (`NodeEd25519Identity` in bench/http.bench.ts).\n');
  console.log('| agents | signer | client BLS check | updates/s over HTTP | engine direct (calls/s) | HTTP / direct | client CPU | replica CPU | client ms/update | replica ms/update | engine direct ms/update | direct ÷ replica ms/update | machine bound, updates/s |');
  console.log('|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) console.log(row);
  const pressure = cpuPressure();
  if (pressure !== undefined) console.log(`\nThe machine meanwhile: tasks waited for a CPU ${pressure} of the time (Linux CPU pressure, "some", last 5 minutes); the more, the more every process's CPU time per update grows.`);
} finally {
  await server.stop();
}

/** Each client calls `inc` in a loop until `ms` have passed; resolves to each one's call count. */
function untilDeadline(clients: Probe[], ms: number): Promise<number[]> {
  const end = performance.now() + ms;
  return Promise.all(
    clients.map(async client => {
      let calls = 0;
      for (; performance.now() < end; calls++) await client.inc();
      return calls;
    })
  );
}

/** The same canister on an in-process engine; `rate(ms)` runs sequential updateCall for ms (default ROW_MS / 2). */
async function engineDirect(wasm: Uint8Array): Promise<{ rate(ms?: number): Promise<{ rate: number; msPerCall: number }>; close(): Promise<void> }> {
  const replica = await LocalReplica.create();
  const canisterId = await replica.createCanister();
  await replica.installCode({ canisterId, wasm });
  const noArgs = new Uint8Array(IDL.encode([], []));
  for (let i = 0; i < WARMUP_CALLS; i++) await replica.updateCall({ canisterId, method: 'inc', arg: noArgs });
  return {
    async rate(ms = ROW_MS / 2) {
      let calls = 0;
      const [start, cpu0] = [performance.now(), process.cpuUsage()];
      while (performance.now() - start < ms) {
        await replica.updateCall({ canisterId, method: 'inc', arg: noArgs });
        calls++;
      }
      const cpu = process.cpuUsage(cpu0);
      return { rate: calls / ((performance.now() - start) / 1000), msPerCall: (cpu.user + cpu.system) / 1000 / calls };
    },
    close: () => replica.tearDown()
  };
}

interface Measured {
  rate: number;
  /** Percent of one core. */
  clientCpu: number;
  replicaCpu: number;
  clientMsPerCall: number;
  replicaMsPerCall: number;
}

function ms(value: number): string {
  return value.toFixed(2);
}

async function measure(replicaPid: number, run: () => Promise<number[]>): Promise<Measured> {
  const [cpu0, replica0, start] = [process.cpuUsage(), processCpuSeconds(replicaPid), performance.now()];
  const calls = (await run()).reduce((a, b) => a + b, 0);
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const [clientSeconds, replicaSeconds] = [(cpu.user + cpu.system) / 1e6, processCpuSeconds(replicaPid) - replica0];
  return {
    rate: calls / seconds,
    clientCpu: (clientSeconds / seconds) * 100,
    replicaCpu: (replicaSeconds / seconds) * 100,
    clientMsPerCall: (clientSeconds * 1000) / calls,
    replicaMsPerCall: (replicaSeconds * 1000) / calls
  };
}


/** /proc/pressure/cpu's `some avg300` as "N %", undefined where the kernel does not report it. */
function cpuPressure(): string | undefined {
  try {
    const avg300 = readFileSync('/proc/pressure/cpu', 'utf8').match(/^some .*avg300=([\d.]+)/m)?.[1];
    return avg300 === undefined ? undefined : `${Number(avg300).toFixed(0)} %`;
  } catch {
    return undefined;
  }
}

/**
 * utime + stime of a process and its descendants (tsx runs the CLI in a child process), from
 * /proc/<pid>/stat (fields 14 and 15) and /proc/<pid>/task/<pid>/children.
 */
function processCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND + children.reduce((sum, child) => sum + processCpuSeconds(child), 0);
}
