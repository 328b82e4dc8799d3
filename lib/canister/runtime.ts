// The one shard of this canister: its ShardNode over stable memory, built once per Wasm instance
// (at init, at post_upgrade, or lazily on the first message after a snapshot load). Everything
// in shardorm/canister — the shard methods, repository(), @RoutedBy, the prune timer — reaches
// the node through here, so a canister has exactly one.
import { Principal } from '@dfinity/principal';
import { canisterCycleBalance, canisterSelf, isController } from 'azle';
import { DeclarationError, ValidationError } from '../model/errors.js';
import type { EntityClass } from '../model/metadata.js';
import { EntityRegistry } from '../model/registry.js';
import { ShardNode } from '../shard/node.js';
import type { ShardHost, ShardStorage } from '../shard/ports.js';
import type { ShardState } from '../shard/state.js';
import { canisterPeers } from './peers.js';
import { stableDeltaLog, stableStateCell } from './stable-cells.js';
import { SHARD_STORE_MEMORY_IDS, stableKv } from './stable-store.js';

export interface ShardCanisterOptions {
  /** Every entity class this shard stores (all shards of a cluster list the same ones). */
  entities: EntityClass[];
  /** Largest encoded entity accepted (default 1.5 MiB, one IC message). */
  maxEntityBytes?: number;
}

interface Runtime {
  registry: EntityRegistry;
  storage: ShardStorage;
  maxEntityBytes?: number;
  node?: ShardNode;
  /** Canister memory in bytes, refreshed by the maintenance timer from canister_status. */
  memoryBytes: number;
}

let runtime: Runtime | undefined;
/** Run whenever a node is (re)built: the maintenance timer arms itself here. */
const onStart: ((node: ShardNode) => void)[] = [];

export function whenNodeStarts(hook: (node: ShardNode) => void): void {
  onStart.push(hook);
}

/** Sets up the shard's storage and entities. One shardCanister() per canister. */
export function configureShard(options: ShardCanisterOptions): void {
  if (runtime !== undefined) throw new DeclarationError('shardCanister() was called twice: a canister is one shard; export its class once');
  if (!Array.isArray(options?.entities) || options.entities.length === 0) {
    throw new DeclarationError('shardCanister({ entities }) needs the entity classes this shard stores, e.g. shardCanister({ entities: [Snippet] })');
  }
  runtime = {
    registry: new EntityRegistry(options.entities),
    storage: { kv: stableKv({ memoryIds: SHARD_STORE_MEMORY_IDS }), log: stableDeltaLog(), state: stableStateCell() },
    maxEntityBytes: options.maxEntityBytes,
    memoryBytes: 0,
  };
}

function configured(): Runtime {
  if (runtime === undefined) throw new DeclarationError('shardorm/canister used before shardCanister({ entities }): export the shard class in this canister');
  return runtime;
}

export function selfId(): string {
  return canisterSelf().toText();
}

const host: ShardHost = {
  isController: (p) => isController(Principal.fromText(p)),
  memoryBytes: () => configured().memoryBytes,
  cycles: () => canisterCycleBalance(),
};

/** Builds the node; `initial` is the state of a fresh install (ignored when one is persisted). */
export function startNode(initial?: ShardState): ShardNode {
  const rt = configured();
  const storage = rt.storage;
  if (initial === undefined && storage.state.load() === undefined) {
    throw new ValidationError(`${selfId()} holds no shard: it is the cluster's manager (or was installed without shardCanister); send data calls to a shard`);
  }
  rt.node = new ShardNode(selfId(), storage, rt.registry, canisterPeers(() => storage.state.load()?.manager), { initial, host, maxEntityBytes: rt.maxEntityBytes });
  for (const hook of onStart) hook(rt.node);
  return rt.node;
}

/**
 * This canister's shard. A snapshot loaded onto another canister brings the source's heap along
 * (its node, with the source's id): the node is rebuilt from stable state when the id differs.
 */
export function shardNode(): ShardNode {
  const node = configured().node;
  return node !== undefined && node.id === selfId() ? node : startNode();
}

export function shardStorage(): ShardStorage {
  return configured().storage;
}

export function shardRegistry(): EntityRegistry {
  return configured().registry;
}

export function setMemoryBytes(bytes: number): void {
  configured().memoryBytes = bytes;
}

export function maxEntityBytes(): number | undefined {
  return configured().maxEntityBytes;
}
