// Local replica benchmarks: Azle message throughput (with the write barrier and, side by side,
// without it: the whole-heap compare it replaced), install time, inter-canister round trip,
// snapshot take+load for 64 MiB and 512 MiB of stable memory, instructions counted by the
// replica's metering (stable run to run, unlike msg/s), Node memory of 100 idle canisters.
// Run: npx tsx --expose-gc bench/replica.bench.ts   (prints a markdown section)
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IDL } from '@dfinity/candid';
import type { Principal } from '@dfinity/principal';
import { buildAzleCanister } from '../lib/build/azle.js';
import { LocalReplica } from '../lib/replica/index.js';
import { WASM_PAGE } from '../lib/replica/stable-memory.js';

const QUERIES = 1000;
const UPDATES = 500;
/** Throughput is measured in this many alternating slices per replica (side by side on a noisy machine). */
const SLICES = 5;
/** Calls of each kind before measuring: V8 first runs Wasm unoptimized and optimizes hot functions in the background. */
const WARMUP = 300;
const ROUND_TRIPS = 50;
const IDLE_CANISTERS = 100;
const fixtures = join(process.cwd(), '__tests__/fixtures');
const empty = new Uint8Array(IDL.encode([], []));
const rows: [string, string][] = [];

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await f();
  return [r, performance.now() - t];
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function main(): Promise<void> {
  const hello = (await buildAzleCanister({ root: join(fixtures, 'hello'), name: 'hello' })).wasm;
  const probe = (await buildAzleCanister({ root: join(fixtures, 'probe'), name: 'probe' })).wasm;
  const replica = await LocalReplica.create({ seed: 1 });

  const id = await replica.createCanister();
  const counted = instructionCounter(replica, id);
  const [, installMs] = await timed(() => replica.installCode({ canisterId: id, wasm: hello }));
  rows.push(['install Azle hello (3.4 MB, incl. instrumentation or cache hit + canister_init)', `${installMs.toFixed(0)} ms`]);
  const initInstructions = counted();
  const id2 = await replica.createCanister();
  const [, install2Ms] = await timed(() => replica.installCode({ canisterId: id2, wasm: hello }));
  rows.push(['install same module again (compiled module shared)', `${install2Ms.toFixed(0)} ms`]);
  rows.push(['counted instructions: Azle canister_init (hello)', initInstructions]);
  await replica.runUntilIdle();

  counted();
  await replica.queryCall({ canisterId: id, method: 'getMessage', arg: empty });
  rows.push(['counted instructions: Azle query (getMessage)', counted()]);
  await replica.updateCall({ canisterId: id, method: 'setMessage', arg: new Uint8Array(IDL.encode([IDL.Text], ['counted'])) });
  rows.push(['counted instructions: Azle update (setMessage)', counted()]);

  rows.push(...(await throughput(replica, id, hello)));

  const a = await replica.createCanister();
  const b = await replica.createCanister();
  for (const c of [a, b]) await replica.installCode({ canisterId: c, wasm: probe, arg: new Uint8Array(IDL.encode([IDL.Opt(IDL.Text)], [[]])) });
  await replica.runUntilIdle();
  const callArg = new Uint8Array(IDL.encode([IDL.Principal, IDL.Text], [b, 'increment']));
  // Warm up first: the first calls of a fresh module run while V8 is still tiering its hot Wasm up.
  for (let i = 0; i < 2 * ROUND_TRIPS; i++) await replica.updateCall({ canisterId: a, method: 'callOther', arg: callArg });
  const [, rtMs] = await timed(async () => {
    for (let i = 0; i < ROUND_TRIPS; i++) await replica.updateCall({ canisterId: a, method: 'callOther', arg: callArg });
  });
  rows.push(['inter-canister round trip (ingress -> A -> B -> A -> reply)', `${(rtMs / ROUND_TRIPS).toFixed(1)} ms`]);

  for (const mib of [64, 512]) rows.push(...(await snapshotBench(replica, a, probe, mib)));
  await replica.tearDown();
  // Each memory measurement runs in a fresh process so earlier replicas cannot blur it.
  rows.push(...JSON.parse(execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--memory'], { encoding: 'utf8' })));

  console.log('## Local replica (bench/replica.bench.ts)\n');
  console.log('`npx tsx --expose-gc bench/replica.bench.ts`\n');
  console.log('| measurement | result |\n|---|---|');
  for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
}

/**
 * Sequential getMessage queries and setMessage updates on `id` and, alternating slice by slice, on
 * a replica without the write barrier; wall rates and CPU time per message.
 */
async function throughput(replica: LocalReplica, id: Principal, wasm: Uint8Array): Promise<[string, string][]> {
  const unmarked = await LocalReplica.create({ seed: 1, writeBarrier: false });
  const unmarkedId = await unmarked.createCanister();
  await unmarked.installCode({ canisterId: unmarkedId, wasm });
  const arg = new Uint8Array(IDL.encode([IDL.Text], ['hello']));
  const kinds = [
    { name: `Azle query (getMessage), ${QUERIES} sequential`, count: QUERIES, run: (r: LocalReplica, c: Principal) => r.queryCall({ canisterId: c, method: 'getMessage', arg: empty }) },
    { name: `Azle update (setMessage), ${UPDATES} sequential`, count: UPDATES, run: (r: LocalReplica, c: Principal) => r.updateCall({ canisterId: c, method: 'setMessage', arg }) }
  ];
  const setups = [
    { label: 'write barrier', replica, id },
    { label: 'whole-heap compare (writeBarrier: false)', replica: unmarked, id: unmarkedId }
  ];
  const rows: [string, string][] = [];
  for (const kind of kinds) {
    for (const s of setups) for (let i = 0; i < WARMUP; i++) await kind.run(s.replica, s.id); // until V8 has optimized the hot code
    const spent = setups.map(() => ({ ms: 0, cpuUs: 0 }));
    for (let slice = 0; slice < SLICES; slice++) {
      for (const [i, s] of setups.entries()) {
        const cpu = process.cpuUsage();
        const [, ms] = await timed(async () => {
          for (let n = 0; n < kind.count / SLICES; n++) await kind.run(s.replica, s.id);
        });
        const used = process.cpuUsage(cpu);
        spent[i].ms += ms;
        spent[i].cpuUs += used.user + used.system;
      }
    }
    setups.forEach((s, i) => {
      rows.push([`${kind.name}, ${s.label}`, `${((kind.count / spent[i].ms) * 1000).toFixed(0)} msg/s, ${(spent[i].cpuUs / kind.count).toFixed(0)} µs CPU/msg`]);
    });
  }
  await unmarked.tearDown();
  return rows;
}

/** Fills `mib` MiB of stable memory (directly, bench setup only), then times take + load. */
async function snapshotBench(replica: LocalReplica, source: Principal, wasm: Uint8Array, mib: number): Promise<[string, string][]> {
  const stable = replica.canister(source)!.state.stable;
  const pages = (mib * 1024 * 1024) / WASM_PAGE;
  if (stable.size < pages) stable.grow(pages - stable.size);
  const page = new Uint8Array(WASM_PAGE);
  for (let p = 64; p < pages; p++) {
    page.fill(p & 0xff);
    stable.write(p * WASM_PAGE, page);
  }
  stable.commit();
  const target = await replica.createCanister();
  await replica.installCode({ canisterId: target, wasm, arg: new Uint8Array(IDL.encode([IDL.Opt(IDL.Text)], [[]])) });
  await replica.stopCanister({ canisterId: target });
  await replica.stopCanister({ canisterId: source });
  const [[snap], takeMs] = await timed(() => replica.callManagement({ method: 'take_canister_snapshot', arg: { canister_id: source, replace_snapshot: [], uninstall_code: [] }, effectiveCanisterId: source }));
  const snapshotId = (snap as { id: Uint8Array }).id;
  await replica.checkpoint(); // loadable onto another canister only once written out (as on the IC)
  const [, loadMs] = await timed(() => replica.callManagement({ method: 'load_canister_snapshot', arg: { canister_id: target, snapshot_id: snapshotId, sender_canister_version: [] }, effectiveCanisterId: target }));
  const copy = replica.canister(target)!.state.stable;
  if (copy.size < pages || copy.page(pages - 1)[0] !== ((pages - 1) & 0xff)) throw new Error('snapshot load did not copy stable memory');
  await replica.callManagement({ method: 'delete_canister_snapshot', arg: { canister_id: source, snapshot_id: snapshotId }, effectiveCanisterId: source });
  await replica.startCanister({ canisterId: source });
  return [[`snapshot take + load onto another canister, ${mib} MiB stable`, `${takeMs.toFixed(1)} ms + ${loadMs.toFixed(1)} ms`]];
}

/** Instructions the canister executed (every execution) since the previous call, formatted. */
function instructionCounter(replica: LocalReplica, id: Principal): () => string {
  let last = replica.canister(id)!.instructionsExecuted;
  return () => {
    const now = replica.canister(id)!.instructionsExecuted;
    const delta = now - last;
    last = now;
    return `${delta.toLocaleString('en-US')} instructions`;
  };
}

/** Installs IDLE_CANISTERS hello canisters (default hibernation) and measures Node memory. */
async function memoryBench(wasm: Uint8Array): Promise<[string, string][]> {
  gc();
  const before = process.memoryUsage();
  const replica = await LocalReplica.create({});
  const arg = new Uint8Array(IDL.encode([IDL.Text], ['state']));
  for (let i = 0; i < IDLE_CANISTERS; i++) {
    const id = await replica.createCanister();
    await replica.installCode({ canisterId: id, wasm });
    await replica.updateCall({ canisterId: id, method: 'setMessage', arg: arg });
  }
  await replica.runUntilIdle();
  gc();
  const after = process.memoryUsage();
  const rss = (after.rss - before.rss) / 2 ** 20;
  const heap = (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / 2 ** 20;
  const label = `${IDLE_CANISTERS} idle Azle canisters, ${replica.liveInstances()} live Wasm instances`;
  const rows: [string, string][] = [
    [`Node memory, total (${label})`, `${(rss / 1024).toFixed(2)} GiB RSS, ${(heap / 1024).toFixed(2)} GiB JS heap + ArrayBuffers`],
    [`Node memory per idle Azle canister (${label})`, `${(rss / IDLE_CANISTERS).toFixed(1)} MiB RSS, ${(heap / IDLE_CANISTERS).toFixed(1)} MiB JS heap + ArrayBuffers`]
  ];
  await replica.tearDown();
  return rows;
}

if (process.argv.includes('--memory')) {
  const hello = (await buildAzleCanister({ root: join(fixtures, 'hello'), name: 'hello' })).wasm;
  console.log(JSON.stringify(await memoryBench(hello)));
} else await main();
