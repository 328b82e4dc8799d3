// The manager canister's runner for rolling upgrades (lib/manager/rollout.ts): stop a shard, upgrade
// it with install_chunked_code from the manager's own chunk store, start it, and drive its schema
// upgrade hooks (`upgrade_rows`) batch by batch. Why stop first: an upgrade of a canister that
// still awaits replies makes the IC deliver those replies to the new module, whose callbacks are
// not the ones the old module registered (Azle's are closures in a heap the upgrade replaced), so
// a forwarded write would end with an unknown outcome. stop_canister waits until every open call
// context has finished; while stopped, callers get "stopped" answers, which clients and forwarding
// shards retry (a write that got one surely did not run).
import { IDL } from '@dfinity/candid';
import { hexToBytes } from '@noble/hashes/utils';
import type { RangePartitionerJSON } from '../partition/index.js';
import type { RewriteCursor, RolloutEffect, RolloutResult } from '../manager/rollout.js';
import { RewriteCursorIdl, RewriteProgressIdl } from '../protocol/manager-candid.js';
import { installShard, moduleHashOf, rejectText, startCanister, stopCanister, type ManagerContext } from './manager-effects.js';
import { callReply } from './peers.js';

/** An install that trapped (post_upgrade refused) or was refused for good: retrying cannot help. */
const PERMANENT = /trap|not a controller|only controllers|does not match|invalid wasm|module could not be/i;

export function icRolloutRunner(ctx: ManagerContext & { map(): RangePartitionerJSON }): { perform(effect: RolloutEffect): Promise<RolloutResult> } {
  return {
    async perform(effect: RolloutEffect): Promise<RolloutResult> {
      try {
        switch (effect.kind) {
          case 'check-module':
            return { ok: true, current: (await moduleHashOf(effect.shard)) === effect.wasmHash };
          case 'stop':
            await stopCanister(effect.shard);
            return { ok: true };
          case 'start':
            await startCanister(effect.shard);
            return { ok: true };
          case 'upgrade':
            try {
              await installShard(ctx, effect.shard, ctx.map(), 'upgrade', { hash: hexToBytes(effect.wasmHash), chunks: effect.chunks.map(hexToBytes) });
            } catch (e) {
              const text = rejectText(e);
              return { ok: false, error: text, permanent: PERMANENT.test(text) };
            }
            return { ok: true };
          case 'rewrite-rows': {
            const arg = effect.cursor === undefined ? [] : [effect.cursor];
            const p = (await callReply({ target: effect.shard, method: 'upgrade_rows', argType: IDL.Opt(RewriteCursorIdl), arg, okType: RewriteProgressIdl, write: true })) as {
              next: [] | [RewriteCursor]; rewritten: number;
            };
            const next = p.next[0];
            return { ok: true, rewritten: p.rewritten, done: next === undefined, ...(next === undefined ? {} : { next: { collection: next.collection, after: Uint8Array.from(next.after) } }) };
          }
        }
      } catch (e) {
        return { ok: false, error: rejectText(e) };
      }
    },
  };
}
