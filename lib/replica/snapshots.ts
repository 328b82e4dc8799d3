// Canister snapshots and canister_status. A snapshot is an O(pages) clone of the Wasm-visible state
// (heap and stable pages are immutable and shared), so taking or loading one costs microseconds
// per MiB. A snapshot may be loaded onto another canister when the caller controls both (the
// clone-and-prune split of ShardORM relies on it). Snapshots can be downloaded and uploaded in
// chunks (read/upload_canister_snapshot_metadata/data).
import { cloneExecutionState, type Canister, type ExecutionState } from './canister.js';
import { ErrorCode, RejectCode } from './errors.js';
import { HeapStore } from './heap.js';
import { refuse, refuseWith, type CanisterGate, type EngineView, type ManagementCall } from './management-call.js';
import { CHUNK_BYTES } from './chunked-install.js';
import { managementMethodNotFound } from './rejections.js';
import { sha256 } from './module-cache.js';
import { forEachPageSpan, StableMemory, WASM_PAGE } from './stable-memory.js';

export const MAX_SNAPSHOTS_PER_CANISTER = 10;
export const MAX_SNAPSHOT_DATA_CHUNK = 2_000_000;
/** Bytes the IC accounts per global (`size_of::<Global>()`: an 8-byte value and its tag). */
const GLOBAL_BYTES = 16;

interface Snapshot {
  id: Uint8Array;
  owner: Canister;
  takenAt: bigint;
  state: ExecutionState;
  chunkStore: Map<string, Uint8Array>;
  version: bigint;
  source: 'taken_from_canister' | 'metadata_upload';
  /** Module bytes of an uploaded snapshot (compiled when loaded). */
  uploadedWasm?: Uint8Array;
  /**
   * False until a checkpoint has written the snapshot out, when it was taken of a canister with
   * unflushed changes (or uploaded): until then it loads only onto its own canister, as on the IC.
   */
  checkpointed: boolean;
}

export class SnapshotManager {
  private byId = new Map<string, Snapshot>();
  private nextIndex = 0n;

  constructor(
    private readonly engine: EngineView,
    private readonly management: CanisterGate
  ) {}

  status(c: Canister): Record<string, unknown> {
    const s = c.state;
    const snapshots = this.of(c).reduce((n, snap) => n + snapshotSize(snap), 0n);
    // As the IC accounts it (CanisterState::memory_usage): execution memory (heap, stable,
    // globals, Wasm binary, icp: custom sections), canister history, chunk store, snapshots.
    const metrics = {
      wasm_memory_size: BigInt(s.heap.byteLength),
      stable_memory_size: BigInt(s.stable.byteLength),
      global_memory_size: globalsBytes(s),
      wasm_binary_size: BigInt(s.module?.original.length ?? 0),
      custom_sections_size: BigInt(s.module?.customSectionsSize ?? 0),
      canister_history_size: BigInt(c.history.memoryBytes),
      wasm_chunk_store_size: chunkStoreBytes(c.chunkStore),
      snapshots_size: snapshots
    };
    return {
      status: { [c.status]: null },
      ready_for_migration: false,
      version: c.version,
      settings: {
        controllers: c.settings.controllers,
        compute_allocation: c.settings.computeAllocation,
        memory_allocation: c.settings.memoryAllocation,
        freezing_threshold: c.settings.freezingThreshold,
        reserved_cycles_limit: c.settings.reservedCyclesLimit,
        log_visibility: { [c.settings.logVisibility]: null },
        wasm_memory_limit: c.settings.wasmMemoryLimit,
        wasm_memory_threshold: c.settings.wasmMemoryThreshold,
        environment_variables: []
      },
      module_hash: s.module ? [s.module.hash] : [],
      memory_size: Object.values(metrics).reduce((a, b) => a + b, 0n),
      memory_metrics: metrics,
      cycles: c.cycles,
      reserved_cycles: 0n,
      idle_cycles_burned_per_day: 0n,
      query_stats: { num_calls_total: 0n, num_instructions_total: 0n, request_payload_bytes_total: 0n, response_payload_bytes_total: 0n }
    };
  }

  dispatch(method: string, call: ManagementCall): unknown[] {
    const a = call.args;
    switch (method) {
      case 'take_canister_snapshot': {
        const c = this.management.controlled(call, a.canister_id, method);
        requireStopped(c, 'take a snapshot of it');
        if (a.replace_snapshot[0]) this.delete(this.find(a.replace_snapshot[0], c));
        this.checkRoom(c);
        const snap = this.add(c, c.cloneState(), new Map(c.chunkStore), 'taken_from_canister');
        if (a.uninstall_code?.[0]) c.setState({ ...c.state, module: undefined });
        return [describe(snap)];
      }
      case 'load_canister_snapshot': {
        const c = this.management.controlled(call, a.canister_id, method);
        requireStopped(c, 'load a snapshot onto it');
        const snap = this.lookup(a.snapshot_id);
        if (snap.owner !== c) {
          this.management.controlled(call, snap.owner.id, method);
          if (!snap.checkpointed) {
            refuse(
              RejectCode.CanisterReject,
              ErrorCode.CanisterRejectedMessage,
              `Snapshot ${Buffer.from(snap.id).toString('hex')} is not currently loadable on the specified canister ${c.idText}. Try again later. The call should succeed if you wait sufficiently long (usually ten minutes).`
            );
          }
        }
        const state = cloneExecutionState(snap.state);
        if (!state.module && snap.uploadedWasm) state.module = this.management.loadModule(snap.uploadedWasm);
        this.engine.rejectOpenContexts(c, `Canister ${c.idText} was restored from a snapshot.`);
        c.setState(state);
        if (snap.checkpointed) c.markCheckpointed(); // its memory is the snapshot's, already on disk
        c.chunkStore.clear();
        for (const [k, v] of snap.chunkStore) c.chunkStore.set(k, v);
        c.bumpVersion();
        c.generation++;
        this.management.recordChange(c, call, { kind: 'load_snapshot', canisterVersion: snap.version, snapshotId: snap.id, takenAt: snap.takenAt });
        return [];
      }
      case 'list_canister_snapshots':
        return [this.of(this.management.controlled(call, a.canister_id, method)).map(describe)];
      case 'delete_canister_snapshot':
        this.delete(this.find(a.snapshot_id, this.management.controlled(call, a.canister_id, method)));
        return [];
      case 'read_canister_snapshot_metadata': {
        const snap = this.find(a.snapshot_id, this.management.controlled(call, a.canister_id, method));
        const s = snap.state;
        return [
          {
            source: { [snap.source]: null },
            taken_at_timestamp: snap.takenAt,
            wasm_module_size: BigInt(wasmOf(snap).length),
            globals: s.globals.map((g) => (typeof g === 'bigint' ? { i64: g } : Number.isInteger(g) ? { i32: g } : { f64: g })),
            wasm_memory_size: BigInt(s.heap.byteLength),
            stable_memory_size: BigInt(s.stable.byteLength),
            wasm_chunk_store: [...snap.chunkStore.keys()].map((h) => ({ hash: Buffer.from(h, 'hex') })),
            canister_version: snap.version,
            certified_data: s.certifiedData,
            global_timer: [s.globalTimer === 0n ? { inactive: null } : { active: s.globalTimer }],
            on_low_wasm_memory_hook_status: [{ condition_not_satisfied: null }]
          }
        ];
      }
      case 'read_canister_snapshot_data': {
        const snap = this.find(a.snapshot_id, this.management.controlled(call, a.canister_id, method));
        return [{ chunk: this.readData(snap, a.kind) }];
      }
      case 'upload_canister_snapshot_metadata': {
        const c = this.management.controlled(call, a.canister_id, method);
        if (a.replace_snapshot[0]) this.delete(this.find(a.replace_snapshot[0], c));
        this.checkRoom(c);
        const timer = a.global_timer[0];
        const state: ExecutionState = {
          heap: new HeapStore(new Map(), pagesOf(a.wasm_memory_size)),
          globals: (a.globals as Record<string, number | bigint>[]).map((g) => Object.values(g)[0]),
          stable: new StableMemory(new Map(), pagesOf(a.stable_memory_size)),
          certifiedData: Uint8Array.from(a.certified_data),
          globalTimer: timer && 'active' in timer ? timer.active : 0n
        };
        const snap = this.add(c, state, new Map(), 'metadata_upload');
        snap.uploadedWasm = new Uint8Array(Number(a.wasm_module_size));
        return [{ snapshot_id: snap.id }];
      }
      case 'upload_canister_snapshot_data': {
        const snap = this.find(a.snapshot_id, this.management.controlled(call, a.canister_id, method));
        if (snap.source !== 'metadata_upload') refuse(RejectCode.CanisterReject, ErrorCode.InvalidManagementPayload, 'only snapshots created by upload_canister_snapshot_metadata accept data uploads');
        this.writeData(snap, a.kind, Uint8Array.from(a.chunk));
        return [];
      }
    }
    return refuseWith(managementMethodNotFound(method));
  }

  private readData(snap: Snapshot, kind: Record<string, any>): Uint8Array {
    if ('wasm_chunk' in kind) {
      const chunk = snap.chunkStore.get(Buffer.from(kind.wasm_chunk.hash).toString('hex'));
      return chunk ?? refuse(RejectCode.CanisterReject, ErrorCode.InvalidManagementPayload, 'no such chunk in the snapshot');
    }
    const [name, { offset, size }] = Object.entries(kind)[0] as [string, { offset: bigint; size: bigint }];
    const off = Number(offset);
    const len = Number(size);
    if (len > MAX_SNAPSHOT_DATA_CHUNK) refuse(RejectCode.CanisterReject, ErrorCode.InvalidManagementPayload, `read at most ${MAX_SNAPSHOT_DATA_CHUNK} bytes per call`);
    const total = regionSize(snap, name);
    if (off + len > total) refuse(RejectCode.CanisterReject, ErrorCode.InvalidManagementPayload, `${name} range ${off}+${len} is beyond its size ${total}`);
    if (name === 'wasm_module') return wasmOf(snap).slice(off, off + len);
    const out = new Uint8Array(len);
    if (name === 'stable_memory') snap.state.stable.read(off, len, out, 0);
    else {
      forEachPageSpan(off, len, (page, inPage, at, n) => {
        const data = snap.state.heap.page(page); // absent pages are zero, as `out` already is
        if (data) out.set(data.subarray(inPage, inPage + n), at);
      });
    }
    return out;
  }

  private writeData(snap: Snapshot, kind: Record<string, any>, chunk: Uint8Array): void {
    if ('wasm_chunk' in kind) {
      snap.chunkStore.set(Buffer.from(sha256(chunk)).toString('hex'), chunk);
      return;
    }
    const [name, { offset }] = Object.entries(kind)[0] as [string, { offset: bigint }];
    const off = Number(offset);
    const total = regionSize(snap, name);
    if (off + chunk.length > total) refuse(RejectCode.CanisterReject, ErrorCode.InvalidManagementPayload, `${name} upload ${off}+${chunk.length} is beyond the size ${total} declared in the metadata`);
    if (name === 'wasm_module') snap.uploadedWasm!.set(chunk, off);
    else if (name === 'stable_memory') {
      snap.state.stable.write(off, chunk);
      snap.state.stable.commit();
    } else {
      forEachPageSpan(off, chunk.length, (page, inPage, at, n) => {
        const data = snap.state.heap.page(page)?.slice() ?? new Uint8Array(WASM_PAGE);
        data.set(chunk.subarray(at, at + n), inPage);
        snap.state.heap.setPage(page, data);
      });
    }
  }

  /** Every snapshot is on disk after a checkpoint. */
  onCheckpoint(): void {
    for (const snap of this.byId.values()) snap.checkpointed = true;
  }

  /** A deleted canister's snapshots go with it. */
  deleteAllOf(c: Canister): void {
    for (const snap of this.of(c)) this.delete(snap);
  }

  private of(c: Canister): Snapshot[] {
    return [...this.byId.values()].filter((s) => s.owner === c);
  }

  private checkRoom(c: Canister): void {
    if (this.of(c).length >= MAX_SNAPSHOTS_PER_CANISTER) {
      refuse(RejectCode.CanisterReject, ErrorCode.CanisterOutOfMemory, `Canister ${c.idText} already has ${MAX_SNAPSHOTS_PER_CANISTER} snapshots; delete one or pass replace_snapshot`);
    }
  }

  private add(c: Canister, state: ExecutionState, chunkStore: Map<string, Uint8Array>, source: Snapshot['source']): Snapshot {
    const id = new Uint8Array([...c.id.toUint8Array(), ...u64(this.nextIndex++)]);
    const checkpointed = source === 'taken_from_canister' && !c.unflushed;
    const snap: Snapshot = { id, owner: c, takenAt: this.engine.time, state, chunkStore, version: c.version, source, checkpointed };
    this.byId.set(Buffer.from(id).toString('hex'), snap);
    return snap;
  }

  private delete(snap: Snapshot): void {
    this.byId.delete(Buffer.from(snap.id).toString('hex'));
  }

  private lookup(id: Uint8Array): Snapshot {
    const snap = this.byId.get(Buffer.from(id).toString('hex'));
    if (!snap) refuse(RejectCode.DestinationInvalid, ErrorCode.CanisterSnapshotNotFound, `Could not find the snapshot ID ${Buffer.from(id).toString('hex')}`);
    return snap!;
  }

  /** A snapshot that must belong to `c`. */
  private find(id: Uint8Array, c: Canister): Snapshot {
    const snap = this.lookup(id);
    if (snap.owner !== c) refuse(RejectCode.DestinationInvalid, ErrorCode.CanisterSnapshotNotFound, `The snapshot ${Buffer.from(id).toString('hex')} does not belong to canister ${c.idText}`);
    return snap;
  }
}

function wasmOf(snap: Snapshot): Uint8Array {
  return snap.state.module?.original ?? snap.uploadedWasm ?? new Uint8Array(0);
}

/** Size in bytes of one region a snapshot is downloaded/uploaded by (`wasm_module`, `main_memory`, `stable_memory`). */
function regionSize(snap: Snapshot, region: string): number {
  return region === 'wasm_module' ? wasmOf(snap).length : region === 'main_memory' ? snap.state.heap.byteLength : snap.state.stable.byteLength;
}

/** The IC's size of a snapshot: the state's memory (no custom sections), its chunk store, certified data. */
function snapshotSize(snap: Snapshot): bigint {
  const s = snap.state;
  return BigInt(wasmOf(snap).length + s.heap.byteLength + s.stable.byteLength + s.certifiedData.length) + globalsBytes(s) + chunkStoreBytes(snap.chunkStore);
}

/** Each exported global counts as the IC's `size_of::<Global>()`. */
function globalsBytes(s: ExecutionState): bigint {
  return BigInt(s.globals.length * GLOBAL_BYTES);
}

/** Every chunk takes a whole chunk slot (1 MiB) in the IC's chunk store, whatever its length. */
function chunkStoreBytes(store: Map<string, Uint8Array>): bigint {
  return BigInt(store.size * CHUNK_BYTES);
}

function describe(snap: Snapshot): Record<string, unknown> {
  return { id: snap.id, taken_at_timestamp: snap.takenAt, total_size: snapshotSize(snap) };
}

function pagesOf(bytes: bigint): number {
  return Math.ceil(Number(bytes) / WASM_PAGE);
}

function u64(n: bigint): number[] {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n);
  return [...b];
}

/** Snapshots capture or replace a whole state: as dfx and the IC docs require, the canister must be stopped. */
function requireStopped(c: Canister, action: string): void {
  if (c.status !== 'stopped') {
    refuse(RejectCode.CanisterError, ErrorCode.CanisterNotStopped, `Canister ${c.idText} must be stopped to ${action}; call stop_canister first (it is ${c.status})`);
  }
}
