// What a ShardNode needs from where it runs: its storage, its peers (other members and the
// manager) and facts about its canister. The canister glue (lib/canister) and MemoryCluster
// (lib/cluster) provide them; the node and its migration sides use nothing else.
import type { ShardId } from '../partition/index.js';
import type { BatchAck, DeltaBatch, RowsBatch } from '../protocol/housekeeping.js';
import type { ShardTransport } from '../protocol/ops.js';
import type { OrderedKv } from '../repository/store.js';
import type { DeltaLogStore } from './delta-log.js';
import type { StateCell } from './state.js';

export interface ShardStorage {
  kv: OrderedKv;
  log: DeltaLogStore;
  state: StateCell;
}

/** What a shard calls on other members. Transport failures are typed: UnavailableError = not executed. */
export interface ShardPeers extends ShardTransport {
  applyRows(target: ShardId, batch: RowsBatch): Promise<BatchAck>;
  applyDelta(target: ShardId, batch: DeltaBatch): Promise<BatchAck>;
  /** Best effort: asks the manager for a split or merge of this shard. */
  requestTopologyChange(request: { kind: 'split' | 'merge'; shard: ShardId; epoch: number }): void;
}

/** Facts about the canister the node runs in. */
export interface ShardHost {
  isController(principal: string): boolean;
  memoryBytes(): number;
  cycles(): bigint;
}
