// The sample dapp's canister (a snippets board). This first version keeps snippets in one
// canister's stable memory; it becomes a ShardORM cluster member when the canister glue lands.
import { IDL, msgCaller, query, StableBTreeMap, trap, update } from 'azle';

const Snippet = IDL.Record({ id: IDL.Text, pageId: IDL.Text, body: IDL.Text, owner: IDL.Principal });
type Snippet = { id: string; pageId: string; body: string; owner: ReturnType<typeof msgCaller> };

const MAX_BODY_BYTES = 64 * 1024;

export default class {
  snippets = new StableBTreeMap<string, Snippet>(0);

  @update([IDL.Text, IDL.Text, IDL.Text], Snippet)
  put(pageId: string, id: string, body: string): Snippet {
    if (new TextEncoder().encode(body).length > MAX_BODY_BYTES) trap(`body is larger than ${MAX_BODY_BYTES} bytes`);
    const existing = this.snippets.get(id);
    if (existing !== undefined && existing.owner.toText() !== msgCaller().toText()) {
      trap(`snippet ${id} belongs to ${existing.owner.toText()}; only its owner may edit it`);
    }
    const snippet = { id, pageId, body, owner: msgCaller() };
    this.snippets.insert(id, snippet);
    return snippet;
  }

  @query([IDL.Text], IDL.Opt(Snippet))
  get(id: string): [Snippet] | [] {
    const snippet = this.snippets.get(id);
    return snippet === undefined ? [] : [snippet];
  }

  @query([], IDL.Nat64)
  count(): bigint {
    return BigInt(this.snippets.len());
  }
}
