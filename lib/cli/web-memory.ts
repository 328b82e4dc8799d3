// The page's stand-in cluster: ShardORM's own MemoryCluster (the same manager logic, migrations and
// shard nodes, in this process) behind a small JSON API, so the web page runs and splits with no
// replica. NOT authenticated: the caller's principal is whatever the page says (the real-cluster
// mode signs every call in the browser). Used by `shardorm web --memory` and the page's fake test.
import { Principal } from '@dfinity/principal';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MemoryCluster } from '../cluster/memory-cluster.js';
import { Snippet } from '../../example-app/src/models.js';

/** Split threshold of the stand-in (small, so a few hundred snippets make several shards). */
export const MEMORY_MAX_SHARD_BYTES = 16 * 1024;
/** Snippets one load-generator request writes at most. */
export const MAX_LOAD_BATCH = 500;
/** Request bodies the API reads at most. */
const MAX_BODY_BYTES = 64 * 1024;
const MAX_LIST = 100;

export class MemoryBackend {
  private readonly cluster = MemoryCluster.create({ maxShardBytes: MEMORY_MAX_SHARD_BYTES, entities: [Snippet] });
  private sequence = 0;

  status(): unknown {
    const shards = this.cluster.shards();
    return {
      epoch: this.cluster.partitioner.epoch,
      limitBytes: MEMORY_MAX_SHARD_BYTES,
      shards: shards.map((s) => ({ canisterId: s.id, range: [String(s.range?.start ?? 0n), String(s.range?.end ?? 0n)], entities: s.entries, logicalBytes: s.bytes, memoryBytes: s.bytes })),
    };
  }

  /** Handles /api/* requests; false when the path is not the API's. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    if (!url.pathname.startsWith('/api/')) return false;
    try {
      const body = req.method === 'POST' ? await readJson(req) : {};
      const caller = typeof body.caller === 'string' ? Principal.fromText(body.caller) : Principal.anonymous();
      const repo = this.cluster.repository(Snippet, { caller: caller.toText() });
      let answer: unknown;
      switch (`${req.method} ${url.pathname}`) {
        case 'GET /api/status':
          answer = this.status();
          break;
        case 'GET /api/snippets': {
          const pageId = url.searchParams.get('pageId') ?? '';
          answer = (await repo.scan({ shardKey: pageId, limit: MAX_LIST })).items.map(snippetJSON);
          break;
        }
        case 'POST /api/snippets': {
          const id = typeof body.id === 'string' && body.id !== '' ? body.id : `s${++this.sequence}-${Date.now().toString(36)}`;
          const key = { pageId: String(body.pageId), id };
          const existing = await repo.get(key);
          const saved = existing
            ? await repo.update(key, { body: String(body.body), owner: caller, editedAt: BigInt(Date.now()) })
            : await repo.insert({ ...key, body: String(body.body), owner: caller, createdAt: BigInt(Date.now()) });
          await this.cluster.maintain();
          answer = snippetJSON(saved!);
          break;
        }
        case 'POST /api/load': {
          const count = Math.min(MAX_LOAD_BATCH, Math.max(1, Number(body.count) || 1));
          const batch = Array.from({ length: count }, (_, i) => ({ pageId: `load-${(this.sequence + i) % 97}`, id: `l${++this.sequence}`, body: 'x'.repeat(200), owner: caller, createdAt: BigInt(Date.now()) }));
          await repo.insertMany(batch);
          await this.cluster.maintain();
          answer = { written: count };
          break;
        }
        default:
          answer = undefined;
      }
      if (answer === undefined) send(res, 404, { error: `no API ${req.method} ${url.pathname}` });
      else send(res, 200, answer);
    } catch (error) {
      send(res, 400, { error: (error as Error).message.split('\n')[0] });
    }
    return true;
  }
}

function snippetJSON(s: Snippet): unknown {
  return { pageId: s.pageId, id: s.id, body: s.body, owner: s.owner.toText(), createdAt: String(s.createdAt), editedAt: s.editedAt === undefined ? null : String(s.editedAt) };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > MAX_BODY_BYTES) throw new Error(`request body over ${MAX_BODY_BYTES} bytes`);
  }
  return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
}

export function send(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}
