// `npm run bench [-- <name> ...]`: runs each bench/<name>.bench.ts in its own process, one after
// another (never in parallel: the machine is shared), and records each printed section in
// bench/RESULTS.md under a marker naming its file, replacing only the sections it re-ran.
// `--dry` prints without writing.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const dry = args.includes('--dry');
const wanted = args.filter((a) => !a.startsWith('--'));
/** Benchmarks that need outside material: run only when named or when their variable is set. */
const NEEDS_ENV: Record<string, string> = { 'ic-conformance': 'AZLE_REPO' };
const files = readdirSync(benchDir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace('.bench.ts', '')))
  .filter((f) => wanted.length > 0 || !NEEDS_ENV[f.replace('.bench.ts', '')] || process.env[NEEDS_ENV[f.replace('.bench.ts', '')]])
  .sort();
if (files.length === 0) {
  console.error(`no benchmark matches ${wanted.join(', ')}; have: ${readdirSync(benchDir).filter((f) => f.endsWith('.bench.ts')).join(', ')}`);
  process.exit(2);
}

const BENCH_TIMEOUT_MS = 20 * 60_000;
const resultsPath = join(benchDir, 'RESULTS.md');
const sections = new Map<string, string>(existsSync(resultsPath) ? parseSections(readFileSync(resultsPath, 'utf8')) : []);
for (const file of files) {
  console.error(`bench: ${file} ...`);
  const out = execFileSync(process.execPath, ['--expose-gc', join(benchDir, '../node_modules/tsx/dist/cli.mjs'), join(benchDir, file)], {
    encoding: 'utf8',
    timeout: BENCH_TIMEOUT_MS,
    maxBuffer: 16 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit']
  });
  sections.set(file.replace('.bench.ts', ''), `${out.trim()}\n\n_Recorded ${new Date().toISOString().slice(0, 10)} on ${machine()}._`);
  console.log(out.trim() + '\n');
}

if (!dry) {
  const header = [
    '# Benchmark results',
    '',
    'Each section was produced by `npm run bench` (or `npm run bench -- <name>` for one section); the',
    'command inside each section runs that benchmark alone. The machine is shared and noisy: compare',
    'figures side by side within one section (ratios), not across runs.'
  ].join('\n');
  const body = [...sections.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, text]) => `<!-- bench:${name} -->\n${text}`);
  writeFileSync(resultsPath, [header, ...body].join('\n\n') + '\n');
  console.error('bench: updated bench/RESULTS.md');
}

function machine(): string {
  return `Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB`;
}

function parseSections(text: string): Array<[string, string]> {
  return text
    .split(/^<!-- bench:/m)
    .slice(1)
    .map((chunk) => {
      const end = chunk.indexOf(' -->');
      return [chunk.slice(0, end), chunk.slice(end + 4).trim()] as [string, string];
    });
}
