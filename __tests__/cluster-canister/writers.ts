// Concurrent writers for the canister fault and scale tests: each is its own ShardedClient that
// enters at a random shard (so forwarding is exercised), wrapped by one HistoryRecorder, writing
// and reading a small key space so the writers collide. Every write carries a unique body, so
// the linearizability checker can tell writes apart. And the end-of-run checks: every key read
// through every shard as entry, the history linearizable, one full scan and count that agree.
import type { Agent } from '@dfinity/agent';
import { Principal } from '@dfinity/principal';
import { ShardedClient } from 'shardorm/client';
import { checkLinearizable, HistoryRecorder } from 'shardorm/testing';
import { Snippet } from '../../example-app/src/models.js';
import { AgentTransport } from '../../lib/client/transport.js';
import { partitionerFromJSON } from '../../lib/partition/index.js';
import { parseMap } from '../../lib/protocol/candid.js';
import { Dispatcher } from '../../lib/repository/dispatch.js';
import { Repository } from '../../lib/repository/repository.js';
import { Xoshiro128, randomBelow } from '../../lib/random/prng.js';
import { deployExampleCluster, passTime, type CanisterCluster } from './harness.js';
import { shardsOf, status } from './fault-run.js';

/** Shard-key values and rows per value of the writers' key space. */
export const PAGES = 8;
export const ROWS_PER_PAGE = 4;

export type SnippetKey = { pageId: string; id: string };

export function everyKey(pages = PAGES, rows = ROWS_PER_PAGE): SnippetKey[] {
  const keys: SnippetKey[] = [];
  for (let p = 0; p < pages; p++) for (let r = 0; r < rows; r++) keys.push({ pageId: `page-${p}`, id: `row-${r}` });
  return keys;
}

export function snippet(key: SnippetKey, body: string, owner: Principal): Snippet {
  return Object.assign(new Snippet(), { ...key, body, owner, createdAt: 0n });
}

export class Writers {
  private stopped = false;
  private loops: Promise<void>[] = [];
  /** Operations completed (any outcome), for the test's own sanity checks. */
  ops = 0;

  constructor(private readonly options: { agent: Agent; entry: Principal; recorder: HistoryRecorder; owner: Principal; count: number; seed: number; padding?: number }) {}

  async start(): Promise<void> {
    const { agent, entry, recorder, count, seed } = this.options;
    for (let w = 0; w < count; w++) {
      const client = await ShardedClient.connect({ agent, entry, routing: 'random', seed: seed * 100 + w });
      const repo = recorder.wrap(client.repository(Snippet), `writer-${w}`);
      this.loops.push(this.loop(repo, `w${w}`, new Xoshiro128(seed * 100 + w)));
    }
  }

  private async loop(repo: Repository<Snippet>, name: string, random: Xoshiro128): Promise<void> {
    const keys = everyKey();
    const pad = '.'.repeat(this.options.padding ?? 64);
    for (let seq = 0; !this.stopped; seq++) {
      const key = keys[randomBelow(random, keys.length)];
      const body = `${name}.${seq}${pad}`;
      const roll = randomBelow(random, 100);
      try {
        if (roll < 30) await repo.get(key);
        else if (roll < 55) await repo.upsert(snippet(key, body, this.options.owner));
        else if (roll < 70) await repo.insert(snippet(key, body, this.options.owner));
        else if (roll < 85) await repo.update(key, { body });
        else await repo.delete(key);
      } catch {
        // Recorded by the HistoryRecorder (conflicts, unavailable shards, unknown outcomes): part of the run.
      }
      this.ops++;
      await new Promise((r) => setImmediate(r));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}

/**
 * A repository whose every request enters at `shard` (it forwards what it does not own). `sleep`
 * is how its retries wait: on the in-process replica, time passes only when told, so a retry
 * waiting for a stopping shard must let replica time pass or the shard never finishes stopping.
 */
export function repositoryEnteringAt(agent: Agent, shard: string, mapText: string, sleep?: (ms: number) => Promise<void>): Repository<Snippet> {
  const dispatcher = new Dispatcher({ transport: new AgentTransport(agent), map: partitionerFromJSON(parseMap(mapText)), entry: () => shard, sleep });
  return new Repository(Snippet, dispatcher);
}

/**
 * The end-of-run checks on a quiet cluster: every key read entering at every shard (recorded, so
 * the checker holds the reads to the writes: nothing lost or resurrected), all entries agree, the
 * history is linearizable, a full scan returns each present key once and count agrees.
 */
export async function verifyCluster(options: { cluster: CanisterCluster; agent: Agent; recorder: HistoryRecorder; keys: SnippetKey[] }): Promise<{ present: number; shards: string[] }> {
  const { cluster, agent, recorder, keys } = options;
  const s = await status(cluster);
  const shards = shardsOf(s);
  const seen = new Map<string, string>();
  for (const shard of shards) {
    const repo = recorder.wrap(repositoryEnteringAt(agent, shard, s.map, (ms) => passTime(cluster.replica, ms)), `final-${shard}`);
    for (const key of keys) {
      const row = await repo.get(key).catch((e) => {
        throw new Error(`${key.pageId}/${key.id} entering at ${shard}: ${(e as Error).message}; shards: ${JSON.stringify(s.shards, (_k, v) => (typeof v === 'bigint' ? String(v) : v && v._isPrincipal ? v.toText() : v))}`);
      });
      const text = row === undefined ? 'absent' : row.body;
      const k = `${key.pageId}/${key.id}`;
      if (seen.has(k) && seen.get(k) !== text) throw new Error(`${k} reads ${text} entering at ${shard} but ${seen.get(k)} elsewhere`);
      seen.set(k, text);
    }
  }
  const check = checkLinearizable(recorder.history(), { scans: 'as-reads' });
  if (check.ok !== true) throw new Error(`history not linearizable: ${'explanation' in check ? check.explanation : JSON.stringify(check)}`);
  const present = [...seen.values()].filter((v) => v !== 'absent').length;
  const client = await ShardedClient.connect({ agent, entry: cluster.entry });
  const repo = client.repository(Snippet);
  const scanned: string[] = [];
  let after: string | undefined;
  do {
    const page = await repo.scan({ after, limit: 100 });
    scanned.push(...page.items.map((i) => `${i.pageId}/${i.id}`));
    after = page.cursor;
  } while (after !== undefined);
  const wanted = keys.map((k) => `${k.pageId}/${k.id}`);
  const scannedMine = scanned.filter((k) => wanted.includes(k));
  if (new Set(scannedMine).size !== scannedMine.length) throw new Error(`a full scan returned a key twice: ${scannedMine.join(' ')}`);
  if (scannedMine.length !== present) throw new Error(`a full scan found ${scannedMine.length} of the writers' keys, per-key reads ${present}`);
  if ((await repo.count()) !== scanned.length) throw new Error(`count() disagrees with a full scan (${scanned.length})`);
  // No canister is left stopped.
  for (const id of [...shards, cluster.manager.toText()]) {
    const st = await cluster.replica.canisterStatus({ canisterId: Principal.fromText(id), sender: cluster.deployer.getPrincipal() });
    if (!('running' in st.status)) throw new Error(`${id} is left ${Object.keys(st.status)[0]}`);
  }
  return { present, shards };
}

/**
 * A cluster of two shards holding every key of the writers' key space (inserted through
 * `recorder`, so the checker knows them): what the fault and upgrade tests start from, so every
 * announcement has a third shard to tell once they split.
 */
export async function deploySeededCluster(options: { seed: number; recorder: HistoryRecorder }): Promise<CanisterCluster> {
  const cluster = await deployExampleCluster({ seed: options.seed, minShardBytes: 0 });
  const seedRepo = options.recorder.wrap(cluster.client.repository(Snippet), 'seed');
  const owner = cluster.deployer.getPrincipal();
  for (const key of everyKey()) await seedRepo.insert(snippet(key, `seed ${key.pageId}/${key.id}`.padEnd(300, '.'), owner));
  const r = await cluster.managerActor.split_shard({ shard: cluster.entry, method: [] });
  if ('err' in r) throw new Error(`split_shard: ${r.err.message}`);
  await cluster.settle();
  return cluster;
}
