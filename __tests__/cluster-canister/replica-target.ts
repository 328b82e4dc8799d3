// The SimulationTarget adapter for a canister cluster on the local replica, so shardorm/testing's
// simulate() runs on real canisters: clients are Repositories over the in-process agent entering
// at a seeded random shard, splits and merges are the manager's admin requests driven until they
// finish (while the clients' in-flight calls go on), and the faults are the replica's: a trap in a
// shard's `execute`, a rejected shard-to-shard call, a shard stopped for a few rounds. It lives
// under __tests__ because it imports the replica (lib/testing must not).
import type { Agent } from '@dfinity/agent';
import { Principal } from '@dfinity/principal';
import type { SimulatedRepository, SimulationTarget } from 'shardorm/testing';
import { digestOf } from 'shardorm/testing';
import { buildAzleCanister } from '../../lib/build/azle.js';
import { AgentTransport } from '../../lib/client/transport.js';
import type { EntityClass } from '../../lib/model/metadata.js';
import { partitionerFromJSON } from '../../lib/partition/index.js';
import { parseMap } from '../../lib/protocol/candid.js';
import { randomBelow, Xoshiro128 } from '../../lib/random/prng.js';
import { Dispatcher } from '../../lib/repository/dispatch.js';
import { Repository } from '../../lib/repository/repository.js';
import { shardsOf, status, stopCanister } from './fault-run.js';
import type { CanisterCluster } from './harness.js';

/** Replica time one settle() lets pass (ms), and the rounds a stopped shard stays stopped. */
export const SETTLE_MS = 10;
export const STOPPED_SETTLES = 4;

let wasm: Promise<Uint8Array> | undefined;
/** The shard Wasm holding SimRecord (__tests__/fixtures/sim_cluster). */
export function simClusterWasm(): Promise<Uint8Array> {
  wasm ??= buildAzleCanister({ root: `${process.cwd()}/__tests__/fixtures/sim_cluster`, name: 'sim_cluster' }).then((b) => b.wasm);
  return wasm;
}

export async function replicaClusterTarget(options: { cluster: CanisterCluster; agent: Agent; seed: number }): Promise<SimulationTarget> {
  const { cluster, agent } = options;
  const random = new Xoshiro128(options.seed);
  let map = (await status(cluster)).map;
  const refreshMap = async () => (map = (await status(cluster)).map);
  const sender = cluster.deployer.getPrincipal();

  /** Drives the manager until the requested change is finished; true when it is done. */
  const finish = async (known: Set<string>): Promise<boolean> => {
    await cluster.settle();
    const s = await status(cluster);
    await refreshMap();
    const m = s.migrations.find((x: { id: string }) => !known.has(x.id));
    return m?.state === 'done';
  };
  const ids = async () => new Set<string>((await status(cluster)).migrations.map((m: { id: string }) => m.id));

  return {
    name: 'replica cluster',
    repository: <T extends object>(ctor: EntityClass<T>): SimulatedRepository<T> => {
      const choose = new Xoshiro128(randomBelow(random, 0xffffffff));
      const dispatcher = new Dispatcher({
        transport: new AgentTransport(agent),
        map: partitionerFromJSON(parseMap(map)),
        entry: (_owner, shards) => shards[randomBelow(choose, shards.length)],
        bootstrap: async () => parseMap((await status(cluster)).map),
      });
      return new Repository(ctor, dispatcher);
    },
    split: async ({ random: r }) => {
      const shards = shardsOf(await status(cluster));
      const shard = shards[randomBelow(r, shards.length)];
      const known = await ids();
      const method = randomBelow(r, 2) === 0 ? 'snapshot' : 'stream';
      const res = await cluster.managerActor.split_shard({ shard: Principal.fromText(shard), method: [method] });
      if ('err' in res) return false;
      return finish(known);
    },
    merge: async ({ random: r }) => {
      const shards = shardsOf(await status(cluster));
      if (shards.length < 2) return false;
      const known = await ids();
      const res = await cluster.managerActor.merge_shard({ shard: Principal.fromText(shards[randomBelow(r, shards.length)]), into: [] });
      if ('err' in res) return false;
      return finish(known);
    },
    faultKinds: ['trap-execute', 'reject-forward', 'stop-shard'],
    fault: async ({ kind, random: r }) => {
      const shards = shardsOf(await status(cluster));
      const shard = shards[randomBelow(r, shards.length)];
      if (kind === 'trap-execute') cluster.replica.injectFault({ kind: 'trap', canister: shard, method: 'execute' });
      else if (kind === 'reject-forward') cluster.replica.injectFault({ kind: 'reject', from: shard, method: 'execute' });
      else {
        await stopCanister(cluster, Principal.fromText(shard));
        for (let i = 0; i < STOPPED_SETTLES; i++) await settleOnce(cluster);
        await cluster.replica.startCanister({ canisterId: Principal.fromText(shard), sender });
      }
    },
    settle: () => settleOnce(cluster),
    // The replica's own trace digest depends on how the agent's polling interleaves in real time;
    // the map and the rows per shard are what a seed decides.
    digest: async () => {
      const s = await status(cluster);
      return digestOf({ epoch: String(s.epoch), shards: s.shards.map((x: { entities: bigint }) => String(x.entities)) });
    },
  };
}

async function settleOnce(cluster: CanisterCluster): Promise<void> {
  await cluster.replica.runUntilIdle();
  await cluster.replica.advanceTime(SETTLE_MS);
  await new Promise((r) => setTimeout(r, 1));
}
