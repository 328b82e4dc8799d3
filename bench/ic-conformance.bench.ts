// Does the local replica count instructions as the IC does? Azle records the IC's counts for its
// examples (benchmarks.json beside each one: `performance_counter(1)` read at the end of every
// update method, on a dfx replica, with Azle 0.32.0). This benchmark builds the same examples
// (Azle 0.33.0, from ShardORM's node_modules), replays the update calls their tests make, and
// pairs the instructions the replica counted for each call with the IC's record (the k-th call of
// a method with the k-th record of it). Azle 0.33's own recorder cannot be switched on (its
// generated code refers to an out-of-scope `canisterClassMeta` and traps at install), so ours is
// the count of the call's first execution (the update method up to its first await), which is
// the span Azle's recorder measures, give or take the recorder's own few hundred instructions.
// The examples come from an Azle checkout named by AZLE_REPO; they are copied to a temporary
// folder, never into the project.
// Run: AZLE_REPO=<checkout of demergent-labs/azle at tag 0.33.0> npm run bench -- ic-conformance
// (IC_CONFORMANCE_MAX_LOOP lowers the largest loop of the `benchmarks` example, 1,000,000 as on the IC.
// IC_CONFORMANCE_ONLY=<dir,dir> runs only those examples.)
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDL } from '@dfinity/candid';
import { buildAzleCanister } from '../lib/build/azle.js';
import type { Canister, ExecutionOutcome } from '../lib/replica/canister.js';
import type { Execution } from '../lib/replica/execution.js';
import { LocalReplica } from '../lib/replica/index.js';
import { EXAMPLES_DIR, examples, type Example } from './ic-conformance-examples.js';

/** A pair is "within" when ours / IC's lies in [1 - this, 1 + this]. */
const TOLERANCE = 0.1;
const DEFAULT_MAX_LOOP = 1_000_000;
/** The execution Azle records as `init` / `postUpgrade`; every other record is an update method's. */
const HOOK_KINDS: Record<string, string> = { init: 'init', postUpgrade: 'post_upgrade', heartbeat: 'heartbeat' };
/** The error code of a reject the canister itself made (`ic0.msg_reject`). */
const CANISTER_REJECTED = 'IC0406';
/** Cycles each example canister starts with (the 19 B-instruction calls cost ~8 T). */
const CANISTER_CYCLES = 10n ** 15n;
const projectRoot = process.cwd();

interface Record_ {
  method_name: string;
  instructions: bigint;
}
interface Pair {
  example: string;
  method: string;
  ours: bigint;
  ic: bigint;
}

async function main(): Promise<void> {
  const repo = process.env.AZLE_REPO;
  if (!repo || !existsSync(join(repo, EXAMPLES_DIR))) {
    console.error(`ic-conformance needs AZLE_REPO=<a checkout of demergent-labs/azle at tag 0.33.0> (no ${EXAMPLES_DIR} under "${repo ?? ''}"); e.g. git clone --branch 0.33.0 https://github.com/demergent-labs/azle`);
    process.exit(2);
  }
  const maxLoop = Number(process.env.IC_CONFORMANCE_MAX_LOOP ?? DEFAULT_MAX_LOOP);
  const only = process.env.IC_CONFORMANCE_ONLY?.split(',');
  const pairs: Pair[] = [];
  const notes: string[] = [];
  let limitHits = 0;
  for (const example of examples({ maxLoop }).filter((e) => !only || only.includes(e.dir))) {
    const started = performance.now();
    const result = await replay(repo, example);
    pairs.push(...result.pairs);
    limitHits += result.limitHits;
    notes.push(...result.notes);
    console.error(`ic-conformance: ${example.dir}: ${result.pairs.length} pairs in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  print(pairs, limitHits, notes, maxLoop);
}

async function replay(repo: string, example: Example): Promise<{ pairs: Pair[]; limitHits: number; notes: string[] }> {
  const root = workCopy(repo, example.dir);
  const icRecords = icBenchmarks(root, example.canister);
  const wasm = (await buildAzleCanister({ root, name: example.canister })).wasm;
  const replica = await LocalReplica.create({ seed: 1 });
  const notes: string[] = [];
  let limitHits = 0;
  try {
    const id = await replica.createCanister({ cycles: CANISTER_CYCLES });
    const executions = observeExecutions(replica.canister(id)!);
    const calls = example.calls(repo);
    if (calls[0]?.method !== 'init') await replica.installCode({ canisterId: id, wasm });
    const ours: Record_[] = [];
    for (const call of calls) {
      const arg = new Uint8Array(call.arg ? IDL.encode(call.arg[0], call.arg[1]) : IDL.encode([], []));
      executions.length = 0;
      try {
        if (call.method === 'init') await replica.installCode({ canisterId: id, wasm, arg });
        else if (call.method === 'postUpgrade') await replica.installCode({ canisterId: id, wasm, arg, mode: 'upgrade' });
        else if (call.method === 'heartbeat') for (let round = 0; round < (call.rounds ?? 1); round++) await replica.tick();
        else await replica.updateCall({ canisterId: id, method: call.method, arg: arg });
      } catch (error) {
        // A reject the method makes on purpose (manual_reply) was recorded on the IC too.
        const e = error as { errorCode?: string; message: string };
        if (e.errorCode === 'IC0522') limitHits++;
        if (e.errorCode !== CANISTER_REJECTED) notes.push(`${example.dir} ${call.method}: ${e.message.slice(0, 160)}`);
      }
      // A first execution that trapped recorded nothing on the IC either (the record rolled
      // back); it stays in the list (as -1, never paired) so the k-th pairing stays right. A call
      // that fails later (a callback traps or rejects) was recorded: its first execution ran.
      const kind = HOOK_KINDS[call.method] ?? 'update';
      const runs = executions.filter((e) => e.kind === kind && (kind !== 'update' || e.method === call.method));
      // Every round runs one heartbeat; any other call is recorded once, by its first execution.
      for (const run of kind === 'heartbeat' ? runs : runs.slice(0, 1)) ours.push({ method_name: call.method, instructions: run.trapped ? -1n : run.instructions });
    }
    return { pairs: pairUp(example.dir, ours, icRecords), limitHits, notes };
  } finally {
    await replica.tearDown();
  }
}

/** Every execution the canister runs from now on: its kind, method, instructions, whether it trapped. */
function observeExecutions(canister: Canister): { kind: string; method: string; instructions: bigint; trapped: boolean }[] {
  const seen: { kind: string; method: string; instructions: bigint; trapped: boolean }[] = [];
  const execute = canister.execute.bind(canister);
  canister.execute = (exec: Execution, entry: Parameters<Canister['execute']>[1]): ExecutionOutcome => {
    const outcome = execute(exec, entry);
    seen.push({ kind: exec.kind, method: exec.input.methodName, instructions: outcome.instructions, trapped: outcome.trap !== undefined });
    return outcome;
  };
  return seen;
}

/** The example copied to a temporary folder whose node_modules is ShardORM's (Azle 0.33 and its deps). */
function workCopy(repo: string, dir: string): string {
  const root = join(tmpdir(), 'shardorm-ic-conformance', dir.replaceAll('/', '_'));
  mkdirSync(root, { recursive: true });
  cpSync(join(repo, EXAMPLES_DIR, dir), root, { recursive: true, filter: (src) => !/\/(node_modules|\.azle|\.dfx)(\/|$)/.test(src) });
  // A link left by a run from another checkout may point elsewhere (or nowhere): point it here.
  const link = join(root, 'node_modules');
  const target = join(projectRoot, 'node_modules');
  if (isSymlink(link) && readlinkSync(link) !== target) unlinkSync(link);
  if (!isSymlink(link) && !existsSync(link)) symlinkSync(target, link, 'dir');
  return root;
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function icBenchmarks(root: string, canister: string): Record_[] {
  const json = JSON.parse(readFileSync(join(root, 'benchmarks.json'), 'utf8'));
  const current = json[canister]?.current?.benchmarks as { method_name: string; instructions: string | { __bigint__: string } }[] | undefined;
  if (!current) throw new Error(`benchmarks.json in ${root} has no current benchmarks for canister "${canister}"`);
  return current.map((b) => ({ method_name: b.method_name, instructions: BigInt(typeof b.instructions === 'string' ? b.instructions : b.instructions.__bigint__) }));
}

/** The k-th record of a method on our side with the k-th record of it on the IC's. */
function pairUp(example: string, ours: Record_[], ic: Record_[]): Pair[] {
  const seen = new Map<string, number>();
  const pairs: Pair[] = [];
  for (const o of ours) {
    const k = seen.get(o.method_name) ?? 0;
    seen.set(o.method_name, k + 1);
    const match = ic.filter((r) => r.method_name === o.method_name)[k];
    if (match && o.instructions >= 0n) pairs.push({ example, method: o.method_name, ours: o.instructions, ic: match.instructions });
  }
  return pairs;
}

function print(pairs: Pair[], limitHits: number, notes: string[], maxLoop: number): void {
  const ratio = (p: Pair): number => Number(p.ours) / Number(p.ic);
  const summary = (ps: Pair[]): string[] => {
    const rs = ps.map(ratio).sort((a, b) => a - b);
    const within = rs.filter((r) => Math.abs(r - 1) <= TOLERANCE).length;
    return [String(ps.length), median(rs).toFixed(3), `${((100 * within) / rs.length).toFixed(1)} %`, rs[0].toFixed(3), rs[rs.length - 1].toFixed(3)];
  };
  const lines = [
    '## IC conformance: instructions the local replica counts vs the IC (Azle 0.33 examples)',
    '',
    'Command: `AZLE_REPO=<checkout of demergent-labs/azle at 0.33.0> npm run bench -- ic-conformance`',
    '',
    `Each pair: one execution Azle recorded (an update call replayed as the example's test makes it, an install or upgrade hook, a heartbeat). Ours: the instructions the replica counted for it (an update's first execution: the method up to its first await; Azle 0.33.0 build). IC: the example's benchmarks.json (\`performance_counter(1)\` at the end of the method, Azle 0.32.0 build on dfx's replica). The \`benchmarks\` example's loops go up to ${maxLoop.toLocaleString('en-US')} iterations.`,
    '',
    '| example | pairs | median ours/IC | within ±10 % | min | max |',
    '| --- | ---: | ---: | ---: | ---: | ---: |'
  ];
  for (const example of [...new Set(pairs.map((p) => p.example))]) lines.push(`| ${example} | ${summary(pairs.filter((p) => p.example === example)).join(' | ')} |`);
  lines.push(`| **all** | ${summary(pairs).map((c) => `**${c}**`).join(' | ')} |`, '', `IC0522 on a call the IC ran: ${limitHits}.`);
  const worst = [...pairs].sort((a, b) => Math.abs(Math.log(ratio(b))) - Math.abs(Math.log(ratio(a)))).slice(0, 5);
  lines.push('', 'Furthest from the IC:', '', ...worst.map((p) => `- ${p.example} ${p.method}: ours ${p.ours.toLocaleString('en-US')}, IC ${p.ic.toLocaleString('en-US')} (${ratio(p).toFixed(3)})`));
  if (notes.length) lines.push('', 'Calls that did not reply (some examples test exactly that: traps and rejects in callbacks):', '', ...notes.map((n) => `- ${n}`));
  console.log(lines.join('\n'));
}

function median(sorted: number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

await main();
