// A rolling upgrade of a cluster, as `shardorm upgrade` and the tests run it: the new Wasm goes into
// the manager's chunk store beside the one it creates shards from (deployCluster's uploadChunks,
// without clearing), `start_upgrade` starts the manager's persisted roll-out (one shard at a time:
// stop, upgrade, start, schema upgrade hooks), and this loop follows `upgrade_status` (nudging the
// manager with `drive`) until it is done or failed. Once every shard runs the new module, the
// manager itself is upgraded from its own chunk store (stopped first, so no tick is cut short),
// which keeps the store intact — unlike dfx, which clears it.
import { Actor, type ActorSubclass, type Agent } from '@dfinity/agent';
import { IDL } from '@dfinity/candid';
import type { Principal } from '@dfinity/principal';
import { bytesToHex } from '@noble/hashes/utils';
import { sha256 } from '@noble/hashes/sha2';
import { uploadChunks } from '../client/deploy.js';
import { managementCanister } from '../client/management.js';
import { fromWireError, type WireError } from '../model/errors.js';
import { managerIdlFactory } from '../protocol/manager-candid.js';

/** Polls of upgrade_status before the command gives up following (the roll-out goes on in the manager). */
export const MAX_UPGRADE_POLLS = 2_000;
/** Wall-clock pause between polls when no `wait` is given. */
export const UPGRADE_POLL_MS = 500;

export interface ShardUpgradeStatus {
  canisterId: string;
  state: 'pending' | 'upgrading' | 'done' | 'failed';
  step: string;
  rewritten: number;
  error?: string;
}

export interface RolloutStatus {
  id: string;
  state: 'running' | 'done' | 'failed';
  wasmHash: string;
  shards: ShardUpgradeStatus[];
  lastError?: string;
}

export interface UpgradeResult extends RolloutStatus {
  /** The manager's own upgrade: done after a finished roll-out, unless it already ran the module. */
  manager: 'upgraded' | 'unchanged' | 'skipped';
  failedShard?: string;
}

type Reply<T> = { ok: T } | { err: WireError };
type StoredWasm = { wasm_hash: Uint8Array; chunk_hashes: Uint8Array[] };
/* eslint-disable @typescript-eslint/no-explicit-any */
type ManagerRollout = ActorSubclass<{
  start_upgrade(w: StoredWasm): Promise<Reply<string>>;
  upgrade_status(): Promise<Reply<[] | [any]>>;
  drive(): Promise<Reply<unknown>>;
}>;

function ok<T>(reply: Reply<T>): T {
  if ('err' in reply) throw fromWireError(reply.err);
  return reply.ok;
}

export function rolloutFromCandid(r: any): RolloutStatus {
  return {
    id: r.id, state: r.state, wasmHash: r.wasm_hash, lastError: r.last_error[0],
    shards: r.shards.map((s: any) => ({ canisterId: s.shard.toText(), state: s.state, step: s.step, rewritten: Number(s.rewritten), ...(s.error.length === 0 ? {} : { error: s.error[0] }) })),
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

function managerActor(agent: Agent, manager: Principal): ManagerRollout {
  return Actor.createActor(managerIdlFactory, { agent, canisterId: manager }) as ManagerRollout;
}

/** The last (or running) roll-out of a cluster, if it ever had one. */
export async function rolloutStatus(options: { agent: Agent; manager: Principal }): Promise<RolloutStatus | undefined> {
  const r = ok(await managerActor(options.agent, options.manager).upgrade_status());
  return r.length === 0 ? undefined : rolloutFromCandid(r[0]);
}

export interface RunUpgradeOptions {
  agent: Agent;
  manager: Principal;
  wasm: Uint8Array;
  /** Waits between polls (tests move replica time); default: UPGRADE_POLL_MS of wall time. */
  wait?: () => Promise<void>;
  onUpload?: (done: number, total: number) => void;
  onStatus?: (status: RolloutStatus) => void;
  /** Leave the manager on its module (default: upgrade it too once every shard is done). */
  skipManager?: boolean;
  /** Call `drive` before each poll (default true); false leaves the pace to the manager's timer. */
  drive?: boolean;
}

export async function runUpgrade(options: RunUpgradeOptions): Promise<UpgradeResult> {
  const { agent, manager, wasm } = options;
  const management = managementCanister(agent);
  const actor = managerActor(agent, manager);
  const wait = options.wait ?? (() => new Promise<void>((r) => setTimeout(r, UPGRADE_POLL_MS)));
  const chunks = await uploadChunks(management, manager, wasm, (_s, d, t) => options.onUpload?.(d, t), { keep: true });
  const stored = { wasm_hash: sha256(wasm), chunk_hashes: chunks };
  ok(await actor.start_upgrade(stored));
  let status: RolloutStatus | undefined;
  for (let poll = 0; poll < MAX_UPGRADE_POLLS; poll++) {
    if (options.drive !== false) ok(await actor.drive()); // the manager's timer ticks too; this only makes it sooner
    status = await rolloutStatus({ agent, manager });
    if (status === undefined) throw new Error('start_upgrade answered, but the manager reports no roll-out');
    options.onStatus?.(status);
    if (status.state !== 'running') break;
    await wait();
  }
  if (status === undefined || status.state === 'running') throw new Error(`roll-out still running after ${MAX_UPGRADE_POLLS} polls; it goes on in the manager: follow it with \`shardorm status\``);
  const failedShard = status.shards.find((s) => s.state === 'failed')?.canisterId;
  let managerOutcome: UpgradeResult['manager'] = 'skipped';
  if (status.state === 'done' && options.skipManager !== true) {
    const current = (await management.canister_status({ canister_id: manager })).module_hash[0];
    if (current !== undefined && bytesToHex(Uint8Array.from(current)) === status.wasmHash) managerOutcome = 'unchanged';
    else {
      // A stop waits for the manager's open calls (a timer tick); `wait` lets time pass meanwhile.
      await whileWaiting(management.stop_canister({ canister_id: manager }), wait);
      try {
        await management.install_chunked_code({
          mode: { upgrade: [{ skip_pre_upgrade: [], wasm_memory_persistence: [] }] }, target_canister: manager, store_canister: [manager],
          chunk_hashes_list: chunks.map((hash) => ({ hash })), wasm_module_hash: stored.wasm_hash, arg: new Uint8Array(IDL.encode([], [])), sender_canister_version: [],
        });
      } finally {
        await management.start_canister({ canister_id: manager });
      }
      managerOutcome = 'upgraded';
    }
  }
  return { ...status, manager: managerOutcome, ...(failedShard === undefined ? {} : { failedShard }) };
}

async function whileWaiting<T>(p: Promise<T>, wait: () => Promise<void>): Promise<T> {
  let settled = false;
  const done = p.finally(() => (settled = true));
  done.catch(() => undefined);
  for (let i = 0; i < MAX_UPGRADE_POLLS && !settled; i++) await wait();
  return done;
}
