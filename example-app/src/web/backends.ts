// Where the page gets its data. `cluster`: straight from the replica with @dfinity/agent, as this
// browser's own Ed25519 identity (kept in localStorage): the shard map from the manager's status,
// snippets through ShardedClient. `memory`: the CLI server's stand-in cluster (JSON over fetch).
import { HttpAgent } from '@dfinity/agent';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import { ShardedClient } from '../../../lib/client/client.js';
import { Snippet } from '../models.js';

export interface ShardView {
  canisterId: string;
  range: [string, string];
  entities: number;
  /** What the split limit is on. */
  logicalBytes: number;
  memoryBytes: number;
}

export interface StatusView {
  epoch: number;
  limitBytes?: number | null;
  shards: ShardView[];
}

export interface SnippetView {
  pageId: string;
  id: string;
  body: string;
  owner: string;
}

export interface Backend {
  source: string;
  me: string;
  status(): Promise<StatusView>;
  list(pageId: string): Promise<SnippetView[]>;
  /** Adds (id undefined) or edits a snippet; edits by a non-owner are refused with a readable error. */
  save(pageId: string, id: string | undefined, body: string): Promise<SnippetView>;
  load(count: number): Promise<number>;
}

export type PageConfig = { mode: 'cluster'; host: string; entry: string; limitBytes?: number } | { mode: 'memory' };

const IDENTITY_KEY = 'shardorm-identity';
/** Snippets the load generator writes per request. */
export const LOAD_BATCH = 50;
const MAX_LISTED = 100;

export function browserIdentity(): Ed25519KeyIdentity {
  const saved = localStorage.getItem(IDENTITY_KEY);
  if (saved !== null) return Ed25519KeyIdentity.fromJSON(saved);
  const fresh = Ed25519KeyIdentity.generate();
  localStorage.setItem(IDENTITY_KEY, JSON.stringify(fresh.toJSON()));
  return fresh;
}

export async function connect(config: PageConfig): Promise<Backend> {
  const identity = browserIdentity();
  const me = identity.getPrincipal().toText();
  if (config.mode === 'memory') return memoryBackend(me);
  const agent = await HttpAgent.create({ host: config.host, identity, shouldFetchRootKey: true });
  const client = await ShardedClient.connect({ agent, entry: config.entry });
  const snippets = client.repository(Snippet);
  let sequence = 0;
  const view = (s: Snippet): SnippetView => ({ pageId: s.pageId, id: s.id, body: s.body, owner: s.owner.toText() });
  return {
    source: `cluster ${config.entry} at ${config.host}`,
    me,
    async status() {
      const s = await client.status();
      return { epoch: s.epoch, limitBytes: config.limitBytes, shards: s.shards.map((x) => ({ canisterId: x.canisterId, range: [String(x.range[0]), String(x.range[1])], entities: x.entities, logicalBytes: x.logicalBytes, memoryBytes: x.memoryBytes })) };
    },
    async list(pageId) {
      return (await snippets.scan({ shardKey: pageId, limit: MAX_LISTED })).items.map(view);
    },
    async save(pageId, id, body) {
      const owner = identity.getPrincipal();
      if (id === undefined) return view(await snippets.insert({ pageId, id: `${Date.now().toString(36)}-${++sequence}`, body, owner, createdAt: BigInt(Date.now()) }));
      const updated = await snippets.update({ pageId, id }, { body, owner, editedAt: BigInt(Date.now()) });
      if (updated === undefined) throw new Error(`there is no snippet ${id} on page ${pageId}`);
      return view(updated);
    },
    async load(count) {
      const owner = identity.getPrincipal();
      for (let done = 0; done < count; done += LOAD_BATCH) {
        const n = Math.min(LOAD_BATCH, count - done);
        await snippets.insertMany(Array.from({ length: n }, (_, i) => ({ pageId: `load-${(done + i) % 97}`, id: `l${Date.now().toString(36)}-${done + i}`, body: 'x'.repeat(200), owner, createdAt: BigInt(Date.now()) })));
      }
      return count;
    },
  };
}

function memoryBackend(me: string): Backend {
  const call = async <T>(path: string, body?: unknown): Promise<T> => {
    const res = await fetch(path, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, caller: me }) });
    const json = await res.json();
    if (!res.ok) throw new Error(json.error ?? `HTTP ${res.status}`);
    return json as T;
  };
  return {
    source: 'in-process stand-in cluster (shardorm web --memory)',
    me,
    status: () => call<StatusView>('/api/status'),
    list: (pageId) => call<SnippetView[]>(`/api/snippets?pageId=${encodeURIComponent(pageId)}`),
    save: (pageId, id, body) => call<SnippetView>('/api/snippets', { pageId, id, body }),
    load: async (count) => {
      for (let done = 0; done < count; done += LOAD_BATCH) await call('/api/load', { count: Math.min(LOAD_BATCH, count - done) });
      return count;
    },
  };
}
