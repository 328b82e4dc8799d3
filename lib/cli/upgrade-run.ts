// A rolling upgrade of a cluster, as `shardorm upgrade` and the tests run it: the new Wasm goes into
// the manager's chunk store beside the one it creates shards from (deployCluster's uploadChunks,
// without clearing, unless the store is full: makeRoom), `start_upgrade` starts the manager's
// persisted roll-out (one shard at a time: module check, stop, upgrade, start, schema upgrade
// hooks), and this loop follows `upgrade_status` (nudging the manager with `drive`) until it is
// done or failed. Once every shard runs the new module, the manager itself is upgraded from its
// own chunk store (stopped first, so no tick is cut short), which keeps the store intact — unlike
// dfx, which clears it.
import { Actor, type ActorSubclass, type Agent } from '@dfinity/agent';
import { IDL } from '@dfinity/candid';
import type { Principal } from '@dfinity/principal';
import { bytesToHex } from '@noble/hashes/utils';
import { sha256 } from '@noble/hashes/sha2';
import { uploadChunks, wasmChunks } from '../client/deploy.js';
import { managementCanister, type ManagementCanister } from '../client/management.js';
import { fromWireError, type WireError } from '../model/errors.js';
import { managerIdlFactory } from '../protocol/manager-candid.js';

/** Polls of upgrade_status before the command gives up following (the roll-out goes on in the manager). */
export const MAX_UPGRADE_POLLS = 2_000;
/** Wall-clock pause between polls when no `wait` is given. */
export const UPGRADE_POLL_MS = 500;
/** Chunks the IC's Wasm chunk store of one canister holds (100 MiB of 1 MiB chunks). */
export const CHUNK_STORE_CHUNKS = 100;

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
  cluster_status(): Promise<Reply<{ migrations: Array<{ id: string; kind: string; state: string }> }>>;
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
  await makeRoom({ management, actor, manager, wasm });
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

/**
 * Makes room for `wasm` in the manager's chunk store. The IC's store holds CHUNK_STORE_CHUNKS
 * chunks and deletes none on its own, and every roll-out adds its module's, so after a few dozen
 * upgrades it is full. Emptying it is safe between migrations and roll-outs. The store is read
 * only to install a fresh shard (a streamed split or merge target), which waits while a roll-out
 * runs, and to upgrade the shards, which this roll-out does from the chunks uploaded next.
 */
async function makeRoom(options: { management: ActorSubclass<ManagementCanister>; actor: ManagerRollout; manager: Principal; wasm: Uint8Array }): Promise<void> {
  const { management, actor, manager, wasm } = options;
  const stored = new Set((await management.stored_chunks({ canister_id: manager })).map((c) => bytesToHex(Uint8Array.from(c.hash))));
  const needed = wasmChunks(wasm).map((chunk) => bytesToHex(sha256(chunk)));
  const missing = new Set(needed.filter((h) => !stored.has(h))).size;
  if (stored.size + missing <= CHUNK_STORE_CHUNKS) return;
  const status = ok(await actor.cluster_status());
  const busy = status.migrations.find((m) => !SETTLED_STATES.includes(m.state));
  if (busy !== undefined) {
    throw new Error(`the manager's chunk store is full (${stored.size} of ${CHUNK_STORE_CHUNKS} chunks) and ${busy.kind} ${busy.id} is ${busy.state}: wait until it is done (\`shardorm status\`), then run the upgrade again`);
  }
  await management.clear_chunk_store({ canister_id: manager });
}

/** Migration and roll-out states after which nothing reads the chunk store. */
const SETTLED_STATES = ['done', 'rolled-back', 'failed'];

async function whileWaiting<T>(p: Promise<T>, wait: () => Promise<void>): Promise<T> {
  let settled = false;
  const done = p.finally(() => (settled = true));
  done.catch(() => undefined);
  for (let i = 0; i < MAX_UPGRADE_POLLS && !settled; i++) await wait();
  return done;
}
