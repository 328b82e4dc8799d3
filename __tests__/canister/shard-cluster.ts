// Helpers of the shard-canister tests: a two-shard cluster of the shard_app fixture on one
// LocalReplica, Candid actors per shard and sender, and Repositories in Node that talk to the
// shards through the generic interface (the client SDK's job, reduced to what the tests need).
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { join } from 'node:path';
import { Dispatcher, fromWireError, isReadOnly, RangePartitioner, Repository, requestToCandid, responseFromCandid, shardIdlFactory, type EntityClass, type Op, type ShardTransport } from 'shardorm';
import { LocalReplica } from 'shardorm/replica';
import { buildAzleCanister } from '../../lib/build/azle.js';
import { InitArgIdl } from '../../lib/canister/init-arg.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
export type Actor = Record<string, (...args: any[]) => Promise<any>>;

export const admin = Principal.selfAuthenticating(new Uint8Array(32).fill(1));
export const stranger = Principal.selfAuthenticating(new Uint8Array(32).fill(2));
export const alice = Principal.selfAuthenticating(new Uint8Array(32).fill(3));
export const mallory = Principal.selfAuthenticating(new Uint8Array(32).fill(4));

export const NO_SETTINGS = { max_shard_bytes: 0n, max_shard_memory_bytes: 0n, min_shard_bytes: 0n };

export function initArg(map: RangePartitioner, options: { manager?: Principal; settings?: typeof NO_SETTINGS } = {}): Uint8Array {
  const arg = { role: { shard: null }, map: JSON.stringify(map.toJSON()), manager: options.manager ? [options.manager] : [], settings: options.settings ?? NO_SETTINGS };
  return new Uint8Array(IDL.encode([InitArgIdl], [[arg]]));
}

export async function buildShardApp(): Promise<Uint8Array> {
  return (await buildAzleCanister({ root: join(process.cwd(), '__tests__/fixtures/shard_app'), name: 'shard_app' })).wasm;
}

export function shardActor(replica: LocalReplica, id: Principal, sender: Principal = admin): Actor {
  return replica.createActor<Actor>(shardIdlFactory, id, { sender });
}

/** A Repository in Node that enters the cluster at `entry` through the generic interface. */
export function nodeRepository<T extends object>(replica: LocalReplica, ctor: EntityClass<T>, options: { map: RangePartitioner; entry: Principal; sender?: Principal }): Repository<T> {
  const sender = options.sender ?? admin;
  const transport: ShardTransport = {
    async send(to, request) {
      const actor = shardActor(replica, Principal.fromText(to), sender);
      const reply = isReadOnly(request) ? await actor.read(requestToCandid(request)) : await actor.execute(requestToCandid(request));
      if ('err' in reply) throw fromWireError(reply.err);
      return responseFromCandid(reply.ok);
    },
  };
  return new Repository(ctor, new Dispatcher({ transport, map: options.map, entry: () => options.entry.toText(), sleep: async () => undefined }));
}

export interface ShardCluster {
  replica: LocalReplica;
  wasm: Uint8Array;
  a: Principal;
  b: Principal;
  map: RangePartitioner;
  shard(id: Principal, sender?: Principal): Actor;
  /** A repository in Node entering the cluster at `entry` as `sender`. */
  repository<T extends object>(ctor: EntityClass<T>, options: { entry: Principal; sender?: Principal }): Repository<T>;
}

export async function startShardCluster(seed: number): Promise<ShardCluster> {
  const wasm = await buildShardApp();
  const replica = await LocalReplica.create({ seed });
  const a = await replica.createCanister({ controllers: [admin], sender: admin });
  const b = await replica.createCanister({ controllers: [admin], sender: admin });
  const map = RangePartitioner.even([a.toText(), b.toText()]);
  for (const id of [a, b]) await replica.installCode({ canisterId: id, wasm, arg: initArg(map), sender: admin });
  return {
    replica, wasm, a, b, map,
    shard: (id, sender) => shardActor(replica, id, sender),
    repository: (ctor, { entry, sender }) => nodeRepository(replica, ctor, { map, entry, sender }),
  };
}

/** The ops a repository call would send (captured, not sent). */
export async function opsOf<T extends object>(ctor: EntityClass<T>, map: RangePartitioner, run: (repo: Repository<T>) => Promise<unknown>): Promise<Op[]> {
  let captured: Op[] | undefined;
  const capture: ShardTransport = {
    send: async (_to, request) => {
      captured = request.ops;
      throw new Error('captured');
    },
  };
  await run(new Repository(ctor, new Dispatcher({ transport: capture, map }))).catch(() => undefined);
  if (captured === undefined) throw new Error('the repository call sent nothing');
  return captured;
}
