// `shardorm demo`: the sample dapp as a real cluster. Starts the embedded replica (or uses
// --network), builds the snippets board's canister with Azle, deploys it with deployCluster (the
// manager installs every shard from its own chunk store), writes snippets through ShardedClient
// over HTTP (certificates verified) with a progress bar until the cluster has split into at least
// DEMO_SHARDS shards, reads every snippet back, shows the owner rule refusing a stranger's edit,
// prints the shard table and serves the sample dapp's page. `--ci` exits after checking the page
// answers; otherwise everything keeps serving until Ctrl-C.
import { Actor, HttpAgent } from '@dfinity/agent';
import type { IDL as IdlNamespace } from '@dfinity/candid';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import { Presets, SingleBar } from 'cli-progress';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Snippet } from '../../example-app/src/models.js';
import { buildAzleCanister } from '../build/azle.js';
import { deployCluster, ShardedClient, type ClusterStatus } from '../client/index.js';
import { type EmbeddedReplica, startEmbeddedReplica } from './embedded.js';
import { resolveNetwork } from './network.js';
import { startWebServer } from './web-server.js';

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const EXAMPLE_CANISTER = 'shardorm_example';
/** The demo splits small shards so a few hundred snippets make a cluster of several canisters. */
export const DEMO_MAX_SHARD_BYTES = 96 * 1024;
export const DEMO_SHARDS = 4;
/** Snippets written per upsertMany (one update per owning shard). */
export const DEMO_BATCH = 50;
/**
 * The demo writes at most this many snippets. Writes can outrun the splits (each waits for a
 * checkpoint), so once they are written it waits for the cluster to grow, DEMO_SETTLE_MS at most:
 * a cluster that does not split then is a bug.
 */
export const DEMO_MAX_SNIPPETS = 5_000;
/** Where the demo serves the page (0 in --ci: any free port). */
export const DEMO_WEB_PORT = 5173;
/** How long the demo waits for migrations to finish once enough data is written. */
export const DEMO_SETTLE_MS = 120_000;

const boardIdl: IdlNamespace.InterfaceFactory = ({ IDL }) =>
  IDL.Service({ editSnippet: IDL.Func([IDL.Text, IDL.Text, IDL.Text], [IDL.Variant({ ok: IDL.Reserved, err: IDL.Text })], []) });

export async function demo(options: { network?: string; ci?: boolean }, print: (line: string) => void = console.log): Promise<void> {
  const network = resolveNetwork(options.network);
  if (network.isMainnet) throw new Error('The demo creates its manager with provisional_create_canister_with_cycles, which mainnet refuses; use --network local, dfx or a PocketIC URL.');
  let embedded: EmbeddedReplica | undefined;
  try {
    if (network.host === undefined) embedded = await startEmbeddedReplica({ port: 0 });
    const host = network.host ?? embedded!.url;
    print(`replica: ${host} (network ${network.name})`);
    const built = await buildAzleCanister({ root: packageRoot, name: EXAMPLE_CANISTER });
    print(`built ${EXAMPLE_CANISTER} with Azle: ${(built.wasm.length / 1024).toFixed(0)} KiB Wasm${built.cached ? ' (cached)' : ''}`);

    const identity = Ed25519KeyIdentity.generate();
    const agent = await HttpAgent.create({ host, identity, shouldFetchRootKey: network.fetchRootKey });
    const { manager, entry } = await deployCluster({ agent, wasm: built.wasm, maxShardBytes: DEMO_MAX_SHARD_BYTES });
    print(`deployed a cluster: manager ${manager.toText()}, shard 0 ${entry.toText()} (max ${DEMO_MAX_SHARD_BYTES / 1024} KiB per shard)`);

    const client = await ShardedClient.connect({ agent, entry });
    const snippets = client.repository(Snippet);
    const me = identity.getPrincipal();
    const bar = new SingleBar({ format: 'writing snippets [{bar}] {value} written, {shards} shard(s), eta {eta_formatted}', clearOnComplete: false, hideCursor: true }, Presets.shades_classic);
    let written = 0;
    let status = await client.status();
    bar.start(DEMO_MAX_SNIPPETS, 0, { shards: status.shards.length });
    while (status.shards.length < DEMO_SHARDS && written < DEMO_MAX_SNIPPETS) {
      const batch = Array.from({ length: DEMO_BATCH }, (_, i) => demoSnippet(written + i, me));
      await snippets.upsertMany(batch);
      written += batch.length;
      status = await client.status();
      bar.update(written, { shards: status.shards.length });
    }
    bar.stop();
    await waitFor(client, (st) => st.shards.length >= DEMO_SHARDS, (st) => `the cluster has ${st.shards.length} shards ${DEMO_SETTLE_MS / 1000} s after ${written} snippets were written: splits are not happening`);
    status = await waitFor(client, (st) => !st.migrations.some((m) => m.state !== 'done' && m.state !== 'rolled-back'), (st) => `migrations still running after ${DEMO_SETTLE_MS / 1000} s: ${st.migrations.map((m) => `${m.id} ${m.state}`).join(', ')}`);

    const keys = Array.from({ length: written }, (_, i) => ({ pageId: pageOf(i), id: `snippet-${i}` }));
    let found = 0;
    for (let i = 0; i < keys.length; i += 200) found += (await snippets.getMany(keys.slice(i, i + 200))).filter((s) => s !== undefined).length;
    if (found !== written) throw new Error(`only ${found} of ${written} snippets read back`);
    print(`verified: all ${written} snippets read back through the client (${await snippets.count()} counted across shards)`);

    const stranger = await HttpAgent.create({ host, identity: Ed25519KeyIdentity.generate(), shouldFetchRootKey: network.fetchRootKey });
    const board = Actor.createActor<{ editSnippet(p: string, id: string, body: string): Promise<{ ok: unknown } | { err: string }> }>(boardIdl, { agent: stranger, canisterId: entry });
    const refused = await board.editSnippet(pageOf(1), 'snippet-1', 'not mine');
    print(`editSnippet by another identity → ${'err' in refused ? `refused (${refused.err.split(':')[0]})` : 'accepted (owner rule broken!)'}`);

    for (const line of shardTable(status)) print(line);
    const web = await startWebServer({ port: options.ci ? 0 : DEMO_WEB_PORT, config: { mode: 'cluster', host, entry: entry.toText(), limitBytes: DEMO_MAX_SHARD_BYTES } });
    try {
      const page = await fetch(web.url);
      if (!page.ok) throw new Error(`the page at ${web.url} answered ${page.status}`);
      print(`page: ${web.url} (the shard map live, snippets as a browser identity, a load generator)`);
      if (!options.ci) {
        print(`serving until Ctrl-C (replica ${host}, manager ${manager.toText()})`);
        await new Promise<void>((resolveStop) => {
          process.once('SIGINT', resolveStop);
          process.once('SIGTERM', resolveStop);
        });
      }
    } finally {
      await web.close();
    }
  } finally {
    await embedded?.close();
  }
}

function pageOf(i: number): string {
  return `page-${i % 97}`;
}

function demoSnippet(i: number, owner: ReturnType<Ed25519KeyIdentity['getPrincipal']>): Snippet {
  return Object.assign(new Snippet(), { pageId: pageOf(i), id: `snippet-${i}`, body: `Snippet ${i}: ${'lorem ipsum '.repeat(8)}`, owner, createdAt: BigInt(Date.now()) * 1_000_000n });
}

/** Polls the status until `done` holds (the manager's timer drives migrations), DEMO_SETTLE_MS at most; `failure` says what did not happen. */
async function waitFor(client: ShardedClient, done: (status: ClusterStatus) => boolean, failure: (status: ClusterStatus) => string): Promise<ClusterStatus> {
  const deadline = Date.now() + DEMO_SETTLE_MS;
  for (;;) {
    const status = await client.status();
    if (done(status)) return status;
    if (Date.now() > deadline) throw new Error(failure(status));
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function shardTable(status: ClusterStatus): string[] {
  const maxBytes = DEMO_MAX_SHARD_BYTES;
  const lines = [`epoch ${status.epoch}, ${status.shards.length} shards:`];
  for (const s of [...status.shards].sort((a, b) => (a.range[0] < b.range[0] ? -1 : 1))) {
    const filled = Math.min(20, Math.round((s.logicalBytes / maxBytes) * 20));
    const range = `[${hex(s.range[0])}, ${hex(s.range[1])})`;
    lines.push(`  ${s.canisterId.padEnd(27)} ${range}  ${String(s.entities).padStart(5)} entries  ${'█'.repeat(filled)}${'░'.repeat(20 - filled)} ${(s.logicalBytes / 1024).toFixed(0).padStart(4)} KiB  ${(Number(s.cycles) / 1e12).toFixed(2)} T cycles`);
  }
  const migrations = status.migrations.slice(0, 5).map((m) => `${m.id} ${m.kind} ${m.method} ${m.state}`);
  if (migrations.length > 0) lines.push(`migrations: ${migrations.join('; ')}`);
  return lines;
}

function hex(n: bigint): string {
  return n >= 1n << 64n ? '2^64' : `0x${n.toString(16).padStart(16, '0')}`;
}
