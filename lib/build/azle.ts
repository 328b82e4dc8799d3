// Builds an Azle canister offline exactly as dfx's Azle extension would: `azle build <name>` with
// AZLE_DFX_ROOT and CANISTER_CANDID_PATH set. Builds take seconds, so results are cached by a
// content hash of the canister's sources, ShardORM's `lib/` and the Azle version.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BUILD_TIMEOUT_MS = 5 * 60_000;
/** Azle's build logs go to the error message when it fails; more than this aborts the build. */
const BUILD_OUTPUT_MAX_BYTES = 64 * 1024 * 1024;

export interface BuildOptions {
  /** Folder holding the dfx.json that names the canister (dfx's project root). */
  root: string;
  /** Canister name in that dfx.json. */
  name: string;
  /** Rebuild even when the cache is fresh. */
  force?: boolean;
}

export interface BuiltCanister {
  name: string;
  wasmPath: string;
  candidPath: string;
  wasm: Uint8Array;
  candid: string;
  /** True when the result came from the cache. */
  cached: boolean;
}

export async function buildAzleCanister(options: BuildOptions): Promise<BuiltCanister> {
  const root = resolve(options.root);
  const dfxJson = JSON.parse(await readFile(join(root, 'dfx.json'), 'utf8'));
  const config = dfxJson.canisters?.[options.name];
  if (config === undefined || config.type !== 'azle') {
    throw new Error(`dfx.json in ${root} has no Azle canister named "${options.name}"; add { "type": "azle", "main": "<file>.ts" }.`);
  }
  const outDir = join(root, '.azle', options.name);
  const wasmPath = join(outDir, `${options.name}.wasm`);
  // dfx points CANISTER_CANDID_PATH at the canister's `candid` entry when dfx.json has one.
  const candidPath = config.candid ? join(root, config.candid) : join(outDir, `${options.name}.did`);
  const hashPath = join(outDir, 'source.sha256');
  const hash = await sourceHash(root, options.name, config.main);
  if (!options.force && existsSync(wasmPath) && existsSync(hashPath) && (await readFile(hashPath, 'utf8')) === hash) {
    return { name: options.name, wasmPath, candidPath, wasm: await readFile(wasmPath), candid: await readFile(candidPath, 'utf8'), cached: true };
  }
  const azleBin = join(dependencyDir('azle'), 'src/build.ts');
  const tsxBin = join(dependencyDir('tsx'), 'dist/cli.mjs');
  try {
    await run(process.execPath, [tsxBin, azleBin, 'build', options.name], {
      cwd: root,
      env: { ...process.env, AZLE_DFX_ROOT: root, CANISTER_CANDID_PATH: candidPath },
      timeout: BUILD_TIMEOUT_MS,
      maxBuffer: BUILD_OUTPUT_MAX_BYTES
    });
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`azle build ${options.name} failed in ${root}:\n${e.stderr || e.stdout || e.message}`);
  }
  await mkdir(outDir, { recursive: true });
  await writeFile(hashPath, hash);
  return { name: options.name, wasmPath, candidPath, wasm: await readFile(wasmPath), candid: await readFile(candidPath, 'utf8'), cached: false };
}

/**
 * What a build depends on: dfx.json, the folder of the canister's `main` (not the whole project:
 * for the root dfx.json that would be every test and benchmark), ShardORM's `lib/` and Azle's
 * version. A canister importing files outside its folder other than `lib/` needs `force`.
 */
async function sourceHash(root: string, name: string, main: string): Promise<string> {
  const h = createHash('sha256');
  h.update(name);
  h.update(JSON.parse(await readFile(join(dependencyDir('azle'), 'package.json'), 'utf8')).version);
  h.update(await readFile(join(root, 'dfx.json')));
  for (const dir of [join(root, dirname(main)), join(packageRoot, 'lib')]) {
    for (const file of await sourceFiles(dir)) {
      h.update(relative(packageRoot, file));
      h.update(await readFile(file));
    }
  }
  return h.digest('hex');
}

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await readdir(dir)).sort()) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    const full = join(dir, entry);
    const s = await stat(full);
    if (s.isDirectory()) out.push(...(await sourceFiles(full)));
    else if (/\.(ts|js|json|did)$/.test(entry)) out.push(full);
  }
  return out;
}

/** A dependency's folder, in a checkout (./node_modules) or when ShardORM is itself installed. */
function dependencyDir(name: string): string {
  for (const dir of [join(packageRoot, 'node_modules', name), join(packageRoot, '..', name)]) {
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  throw new Error(`Cannot find the "${name}" package next to ShardORM; run \`npm ci\`.`);
}
