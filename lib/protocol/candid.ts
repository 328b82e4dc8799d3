// The one Candid interface every ShardORM canister serves (shards and the manager run the same
// Wasm), and the conversions between its wire values and the protocol's TypeScript types. Rust
// or Motoko clients can call it from docs/shard-interface.md; partition maps travel as their JSON
// text (PartitionerJSON), which every language parses.
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { ValidationError, type WireError } from '../model/errors.js';
import type { PartitionerJSON } from '../partition/index.js';
import type { BatchAck, DeltaBatch, MigrationPlan, RowsBatch, ShardReport } from './housekeeping.js';
import type { Op, OpResult, ShardRequest, ShardResponse } from './ops.js';
import { RebindShardIdl, RewriteCursorIdl, RewriteProgressIdl } from './lifecycle-candid.js';

const Key = { collection: IDL.Text, hash: IDL.Nat64, key: IDL.Vec(IDL.Nat8) };
export const OpIdl = IDL.Variant({
  get: IDL.Record(Key),
  put: IDL.Record({ ...Key, value: IDL.Vec(IDL.Nat8), mode: IDL.Variant({ insert: IDL.Null, upsert: IDL.Null }) }),
  update: IDL.Record({ ...Key, patch: IDL.Vec(IDL.Nat8) }),
  delete: IDL.Record(Key),
  scan: IDL.Record({ collection: IDL.Text, hash: IDL.Opt(IDL.Nat64), prefix: IDL.Vec(IDL.Nat8), after: IDL.Opt(IDL.Vec(IDL.Nat8)), limit: IDL.Nat32 }),
  count: IDL.Record({ collection: IDL.Text }),
  map: IDL.Null,
});
export const ErrorIdl = IDL.Record({ code: IDL.Text, message: IDL.Text });
export const OpResultIdl = IDL.Variant({
  value: IDL.Opt(IDL.Vec(IDL.Nat8)),
  deleted: IDL.Bool,
  rows: IDL.Vec(IDL.Tuple(IDL.Vec(IDL.Nat8), IDL.Vec(IDL.Nat8))),
  count: IDL.Nat64,
  map: IDL.Text,
  moved: IDL.Null,
  retry: IDL.Text,
  error: ErrorIdl,
});
export const ShardRequestIdl = IDL.Record({ ops: IDL.Vec(OpIdl), hops: IDL.Nat8, origin: IDL.Opt(IDL.Principal) });
export const ShardResponseIdl = IDL.Record({ results: IDL.Vec(OpResultIdl), epoch: IDL.Nat64, newer_at: IDL.Opt(IDL.Principal) });

/** `variant { ok: T; err: record { code; message } }`: every method answers typed errors this way. */
export function Reply(ok: IDL.Type): IDL.Type {
  return IDL.Variant({ ok, err: ErrorIdl });
}

export const PlanIdl = IDL.Record({
  id: IDL.Text,
  kind: IDL.Text,
  method: IDL.Text,
  source: IDL.Principal,
  target: IDL.Principal,
  start: IDL.Nat,
  end: IDL.Nat,
  next: IDL.Text,
});
export const DeltaBatchIdl = IDL.Record({
  migration: IDL.Text,
  entries: IDL.Vec(IDL.Record({ seq: IDL.Nat64, key: IDL.Vec(IDL.Nat8), value: IDL.Opt(IDL.Vec(IDL.Nat8)) })),
  adopt: IDL.Opt(IDL.Text),
});
export const RowsBatchIdl = IDL.Record({ migration: IDL.Text, rows: IDL.Vec(IDL.Tuple(IDL.Vec(IDL.Nat8), IDL.Vec(IDL.Nat8))) });
export const AckIdl = IDL.Record({ applied: IDL.Int });
export const SettingsIdl = IDL.Record({ max_shard_bytes: IDL.Nat64, max_shard_memory_bytes: IDL.Nat64, min_shard_bytes: IDL.Nat64 });
export const ReportIdl = IDL.Record({
  shard: IDL.Principal,
  epoch: IDL.Nat64,
  start: IDL.Nat,
  end: IDL.Nat,
  entities: IDL.Nat64,
  logical_bytes: IDL.Nat64,
  memory_bytes: IDL.Nat64,
  cycles: IDL.Nat,
  migration: IDL.Opt(IDL.Record({ id: IDL.Text, role: IDL.Text, fenced: IDL.Bool, logged: IDL.Nat64 })),
});
export const CopyProgressIdl = IDL.Record({ done: IDL.Bool, rows: IDL.Nat32, bytes: IDL.Nat64 });
export const CutoverIdl = IDL.Variant({ done: IDL.Null, retry: IDL.Null });

/** The shard methods (data and housekeeping), as an IDL service: what clients and peers call. */
export const shardIdlFactory: IDL.InterfaceFactory = () =>
  IDL.Service({
    execute: IDL.Func([ShardRequestIdl], [Reply(ShardResponseIdl)], []),
    read: IDL.Func([ShardRequestIdl], [Reply(ShardResponseIdl)], ['composite_query']),
    shard_report: IDL.Func([], [Reply(ReportIdl)], ['query']),
    split_point: IDL.Func([], [Reply(IDL.Opt(IDL.Nat64))], []),
    prepare_migration: IDL.Func([PlanIdl], [Reply(IDL.Null)], []),
    accept_migration: IDL.Func([PlanIdl], [Reply(IDL.Null)], []),
    apply_rows: IDL.Func([RowsBatchIdl], [Reply(AckIdl)], []),
    apply_delta: IDL.Func([DeltaBatchIdl], [Reply(AckIdl)], []),
    copy_batch: IDL.Func([IDL.Text], [Reply(CopyProgressIdl)], []),
    push_delta: IDL.Func([IDL.Text], [Reply(IDL.Nat64)], []),
    cutover: IDL.Func([IDL.Text], [Reply(CutoverIdl)], []),
    abort_migration: IDL.Func([IDL.Text], [Reply(IDL.Null)], []),
    adopt_map: IDL.Func([IDL.Text], [Reply(IDL.Bool)], []),
    update_settings: IDL.Func([SettingsIdl], [Reply(IDL.Null)], []),
    drain_cycles: IDL.Func([], [Reply(IDL.Nat)], []),
    upgrade_rows: IDL.Func([IDL.Opt(RewriteCursorIdl)], [Reply(RewriteProgressIdl)], []),
    rebind_shard: IDL.Func([RebindShardIdl], [Reply(IDL.Null)], []),
  });

// ---- conversions ---------------------------------------------------------------------------

type Bytes = Uint8Array | number[];
const bytes = (b: Bytes): Uint8Array => (b instanceof Uint8Array ? b : Uint8Array.from(b));
const opt = <T>(v: T | undefined): [] | [T] => (v === undefined ? [] : [v]);
const unopt = <T>(v: [] | [T]): T | undefined => (v.length === 0 ? undefined : v[0]);

/* eslint-disable @typescript-eslint/no-explicit-any */
export function opToCandid(op: Op): any {
  switch (op.kind) {
    case 'get':
    case 'delete':
      return { [op.kind]: { collection: op.collection, hash: op.hash, key: op.key } };
    case 'put':
      return { put: { collection: op.collection, hash: op.hash, key: op.key, value: op.value, mode: { [op.mode]: null } } };
    case 'update':
      return { update: { collection: op.collection, hash: op.hash, key: op.key, patch: op.patch } };
    case 'scan':
      return { scan: { collection: op.collection, hash: opt(op.hash), prefix: op.prefix, after: opt(op.after), limit: op.limit } };
    case 'count':
      return { count: { collection: op.collection } };
    case 'map':
      return { map: null };
  }
}

export function opFromCandid(v: any): Op {
  const [tag, body] = Object.entries(v)[0] as [string, any];
  switch (tag) {
    case 'get':
    case 'delete':
      return { kind: tag, collection: body.collection, hash: body.hash, key: bytes(body.key) };
    case 'put':
      return { kind: 'put', collection: body.collection, hash: body.hash, key: bytes(body.key), value: bytes(body.value), mode: 'insert' in body.mode ? 'insert' : 'upsert' };
    case 'update':
      return { kind: 'update', collection: body.collection, hash: body.hash, key: bytes(body.key), patch: bytes(body.patch) };
    case 'scan':
      return { kind: 'scan', collection: body.collection, hash: unopt(body.hash), prefix: bytes(body.prefix), after: mapOpt(unopt(body.after), bytes), limit: body.limit };
    case 'count':
      return { kind: 'count', collection: body.collection };
    case 'map':
      return { kind: 'map' };
  }
  throw new ValidationError(`unknown op ${tag}`);
}

function mapOpt<A, B>(v: A | undefined, f: (a: A) => B): B | undefined {
  return v === undefined ? undefined : f(v);
}

export function resultToCandid(r: OpResult): any {
  switch (r.kind) {
    case 'value':
      return { value: opt(r.value) };
    case 'deleted':
      return { deleted: r.existed };
    case 'rows':
      return { rows: r.rows };
    case 'count':
      return { count: BigInt(r.count) };
    case 'map':
      return { map: JSON.stringify(r.map) };
    case 'moved':
      return { moved: null };
    case 'retry':
      return { retry: r.reason };
    case 'error':
      return { error: r.error };
  }
}

export function resultFromCandid(v: any): OpResult {
  const [tag, body] = Object.entries(v)[0] as [string, any];
  switch (tag) {
    case 'value':
      return { kind: 'value', value: mapOpt(unopt(body), bytes) };
    case 'deleted':
      return { kind: 'deleted', existed: body };
    case 'rows':
      return { kind: 'rows', rows: body.map(([k, val]: [Bytes, Bytes]) => [bytes(k), bytes(val)]) };
    case 'count':
      return { kind: 'count', count: Number(body) };
    case 'map':
      return { kind: 'map', map: JSON.parse(body) as PartitionerJSON };
    case 'moved':
      return { kind: 'moved' };
    case 'retry':
      return { kind: 'retry', reason: body };
    case 'error':
      return { kind: 'error', error: body as WireError };
  }
  throw new ValidationError(`unknown result ${tag}`);
}

export function requestToCandid(r: ShardRequest): any {
  return { ops: r.ops.map(opToCandid), hops: r.hops, origin: opt(mapOpt(r.origin, (p) => Principal.fromText(p))) };
}

export function requestFromCandid(v: any): ShardRequest {
  const origin = unopt(v.origin) as Principal | undefined;
  return { ops: v.ops.map(opFromCandid), hops: v.hops, ...(origin === undefined ? {} : { origin: origin.toText() }) };
}

export function responseToCandid(r: ShardResponse): any {
  return { results: r.results.map(resultToCandid), epoch: BigInt(r.epoch), newer_at: opt(mapOpt(r.newerAt, (p) => Principal.fromText(p))) };
}

export function responseFromCandid(v: any): ShardResponse {
  const newer = unopt(v.newer_at) as Principal | undefined;
  return { results: v.results.map(resultFromCandid), epoch: Number(v.epoch), ...(newer === undefined ? {} : { newerAt: newer.toText() }) };
}

export function planToCandid(p: MigrationPlan): any {
  return { ...p, source: Principal.fromText(p.source), target: Principal.fromText(p.target), next: JSON.stringify(p.next) };
}

export function planFromCandid(v: any): MigrationPlan {
  if (v.kind !== 'split' && v.kind !== 'merge') throw new ValidationError(`plan kind ${v.kind} must be split or merge`);
  if (v.method !== 'snapshot' && v.method !== 'stream') throw new ValidationError(`plan method ${v.method} must be snapshot or stream`);
  return { id: v.id, kind: v.kind, method: v.method, source: v.source.toText(), target: v.target.toText(), start: v.start, end: v.end, next: parseMap(v.next) };
}

export function parseMap(text: string): PartitionerJSON {
  try {
    return JSON.parse(text) as PartitionerJSON;
  } catch {
    throw new ValidationError('a partition map must be the JSON text of PartitionerJSON');
  }
}

export function deltaToCandid(b: DeltaBatch): any {
  return { migration: b.migration, entries: b.entries.map((e) => ({ seq: e.seq, key: e.key, value: opt(e.value) })), adopt: opt(mapOpt(b.adopt, (m) => JSON.stringify(m))) };
}

export function deltaFromCandid(v: any): DeltaBatch {
  const adopt = unopt(v.adopt) as string | undefined;
  return {
    migration: v.migration,
    entries: v.entries.map((e: any) => ({ seq: e.seq, key: bytes(e.key), ...(e.value.length === 0 ? {} : { value: bytes(e.value[0]) }) })),
    ...(adopt === undefined ? {} : { adopt: parseMap(adopt) }),
  };
}

export function rowsFromCandid(v: any): RowsBatch {
  return { migration: v.migration, rows: v.rows.map(([k, val]: [Bytes, Bytes]) => [bytes(k), bytes(val)]) };
}

export function ackFromCandid(v: any): BatchAck {
  return { applied: BigInt(v.applied) };
}

export function reportToCandid(r: ShardReport): any {
  return {
    shard: Principal.fromText(r.shard), epoch: BigInt(r.epoch), start: r.start, end: r.end, entities: BigInt(r.entities),
    logical_bytes: BigInt(r.logicalBytes), memory_bytes: BigInt(r.memoryBytes), cycles: r.cycles,
    migration: opt(mapOpt(r.migration, (m) => ({ ...m, logged: BigInt(m.logged) }))),
  };
}

export function reportFromCandid(v: any): ShardReport {
  const m = unopt(v.migration) as any;
  return {
    shard: v.shard.toText(), epoch: Number(v.epoch), start: v.start, end: v.end, entities: Number(v.entities),
    logicalBytes: Number(v.logical_bytes), memoryBytes: Number(v.memory_bytes), cycles: v.cycles,
    ...(m === undefined ? {} : { migration: { id: m.id, role: m.role, fenced: m.fenced, logged: Number(m.logged) } }),
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** `__routed`'s argument: a @RoutedBy method call forwarded by a member (hidden from the .did). */
export const RoutedCallIdl = IDL.Record({ method: IDL.Text, arg: IDL.Vec(IDL.Nat8), origin: IDL.Principal });

// ---- the manager's side, as shards see it -------------------------------------------------

/** What a shard asks the manager for (best effort, one-way): `request_topology_change`. */
export const TopologyChangeRequestIdl = IDL.Record({ kind: IDL.Variant({ split: IDL.Null, merge: IDL.Null }), shard: IDL.Principal, epoch: IDL.Nat64 });

/** The manager methods shards call. The manager role serves more (lib/manager); this is the shard-facing part. */
export const managerNotificationIdlFactory: IDL.InterfaceFactory = () =>
  IDL.Service({
    request_topology_change: IDL.Func([TopologyChangeRequestIdl], [], ['oneway']),
  });

export function topologyChangeToCandid(r: { kind: 'split' | 'merge'; shard: string; epoch: number }): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  return { kind: { [r.kind]: null }, shard: Principal.fromText(r.shard), epoch: BigInt(r.epoch) };
}
