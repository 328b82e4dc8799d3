// A ShardORM cluster of the sample dapp on the local replica, deployed exactly as users deploy
// one (deployCluster over an agent), with helpers to drive the manager and to wait out backoffs.
import { Actor, type ActorSubclass } from '@dfinity/agent';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import type { Principal } from '@dfinity/principal';
import { join } from 'node:path';
import { fromWireError } from 'shardorm';
import { deployCluster, ShardedClient, type DeployClusterOptions } from 'shardorm/client';
import { LocalReplica, type LocalReplicaOptions } from 'shardorm/replica';
import { buildAzleCanister } from '../../lib/build/azle.js';
import { managerIdlFactory } from '../../lib/protocol/manager-candid.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type ManagerActor = ActorSubclass<Record<string, (...args: any[]) => Promise<any>>>;

let wasm: Promise<Uint8Array> | undefined;
export function exampleWasm(): Promise<Uint8Array> {
  wasm ??= buildAzleCanister({ root: process.cwd(), name: 'shardorm_example' }).then((b) => b.wasm);
  return wasm;
}

/**
 * Lets `ms` of replica time pass as it passes on the IC: with rounds. Time alone runs nothing; a
 * client retrying composite queries would otherwise wait for a manager tick that never comes.
 */
export async function passTime(replica: LocalReplica, ms: number): Promise<void> {
  await replica.advanceTime(ms);
  await replica.runUntilIdle();
}

export interface CanisterCluster {
  replica: LocalReplica;
  manager: Principal;
  entry: Principal;
  deployer: Ed25519KeyIdentity;
  client: ShardedClient;
  managerActor: ManagerActor;
  /** Ticks the manager until no migration is active and nothing is queued (bounded). */
  settle(maxTicks?: number): Promise<number>;
  close(): Promise<void>;
}

export async function deployExampleCluster(options: Partial<DeployClusterOptions> & { seed?: number; replica?: LocalReplicaOptions } = {}): Promise<CanisterCluster> {
  // Checkpoints every 5 s of replica time (the IC: every few hundred rounds): a snapshot waits a few ticks to be loadable.
  const replica = await LocalReplica.create({ seed: options.seed ?? 1, checkpointIntervalMs: 5_000, ...options.replica });
  const deployer = Ed25519KeyIdentity.generate(new Uint8Array(32).fill(options.seed ?? 1));
  const agent = replica.createAgent({ identity: deployer });
  const { manager, entry } = await deployCluster({ agent, wasm: await exampleWasm(), maxShardBytes: 1 << 20, ...options });
  const client = await ShardedClient.connect({ agent, entry });
  const managerActor = Actor.createActor(managerIdlFactory, { agent, canisterId: manager }) as ManagerActor;
  const settle = async (maxTicks = 400): Promise<number> => {
    for (let i = 0; i < maxTicks; i++) {
      const r = await managerActor.drive();
      if ('err' in r) throw fromWireError(r.err);
      const status = await managerActor.cluster_status();
      if ('err' in status) throw fromWireError(status.err);
      const active = status.ok.migrations.some((m: any) => !['done', 'rolled-back'].includes(m.state));
      // Every shard on the cluster's epoch too: a shard that missed the announcement gets the map
      // from a later tick (a drive while the timer's tick holds the lease does nothing itself).
      const behind = status.ok.shards.some((s: any) => s.epoch !== status.ok.epoch);
      if (!active && !behind && status.ok.queued === 0 && r.ok.effects === 0) return i;
      await passTime(replica, 1_000); // a waiting step (backoff, checkpoint rule) needs time to pass
    }
    const status = await managerActor.cluster_status();
    throw new Error(`the cluster did not settle in ${maxTicks} ticks: ${JSON.stringify('ok' in status ? status.ok.migrations : status, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
  };
  return { replica, manager, entry, deployer, client, managerActor, settle, close: () => replica.tearDown() };
}
