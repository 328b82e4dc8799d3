// The snippets board's canister: a ShardORM shard (every canister of the cluster runs this Wasm;
// the manager too) plus the board's own methods. Each method runs on the shard that owns its page
// (@RoutedBy), so the read-modify-write happens where the data is; the collection's access rule
// (ownerOnly, models.ts) makes edits and deletes by anyone but the owner fail on that shard.
import { IDL, time, update } from 'azle';
import { caller, repository, RoutedBy, shardCanister } from 'shardorm/canister';
import { Snippet } from '../models';

const SnippetIdl = IDL.Record({ pageId: IDL.Text, id: IDL.Text, body: IDL.Text, owner: IDL.Principal, createdAt: IDL.Nat64, editedAt: IDL.Opt(IDL.Nat64) });
const PageIdl = IDL.Record({ items: IDL.Vec(SnippetIdl), cursor: IDL.Opt(IDL.Text) });
const Result = (ok: IDL.Type) => IDL.Variant({ ok, err: IDL.Text });
/** Longest snippet body, in UTF-16 code units (the entity limit is larger; a board wants short notes). */
const MAX_BODY_CHARS = 16 * 1024;
const PAGE_SIZE = 50;

type Wire = { pageId: string; id: string; body: string; owner: Snippet['owner']; createdAt: bigint; editedAt: [] | [bigint] };
const wire = (s: Snippet): Wire => ({ pageId: s.pageId, id: s.id, body: s.body, owner: s.owner, createdAt: s.createdAt, editedAt: s.editedAt === undefined ? [] : [s.editedAt] });

async function attempt<T>(run: () => Promise<T>): Promise<{ ok: T } | { err: string }> {
  try {
    return { ok: await run() };
  } catch (e) {
    return { err: `${(e as Error).name}: ${(e as Error).message}` };
  }
}

function checkBody(body: string): void {
  if (body.length === 0 || body.length > MAX_BODY_CHARS) throw new RangeError(`a snippet body has 1..${MAX_BODY_CHARS} characters`);
}

export default [
  shardCanister({ entities: [Snippet] }),
  class SnippetsBoard {
    @update([IDL.Text, IDL.Text, IDL.Text], Result(SnippetIdl))
    @RoutedBy(([pageId]: [string, string, string]) => pageId)
    async addSnippet(pageId: string, id: string, body: string) {
      return attempt(async () => {
        checkBody(body);
        return wire(await repository(Snippet).insert(Object.assign(new Snippet(), { pageId, id, body, owner: caller(), createdAt: time() })));
      });
    }

    @update([IDL.Text, IDL.Text, IDL.Text], Result(SnippetIdl))
    @RoutedBy(([pageId]: [string, string, string]) => pageId)
    async editSnippet(pageId: string, id: string, body: string) {
      return attempt(async () => {
        checkBody(body);
        const edited = await repository(Snippet).update({ pageId, id }, { body, editedAt: time() });
        if (edited === undefined) throw new RangeError(`no snippet ${id} on page ${pageId}`);
        return wire(edited);
      });
    }

    @update([IDL.Text, IDL.Text], Result(IDL.Bool))
    @RoutedBy(([pageId]: [string, string]) => pageId)
    async deleteSnippet(pageId: string, id: string) {
      return attempt(() => repository(Snippet).delete({ pageId, id }));
    }

    @update([IDL.Text, IDL.Opt(IDL.Text)], Result(PageIdl))
    @RoutedBy(([pageId]: [string, [] | [string]]) => pageId)
    async listSnippets(pageId: string, cursor: [] | [string]) {
      return attempt(async () => {
        const p = await repository(Snippet).scan({ shardKey: pageId, after: cursor[0], limit: PAGE_SIZE });
        return { items: p.items.map(wire), cursor: p.cursor === undefined ? [] : [p.cursor] };
      });
    }
  },
];
