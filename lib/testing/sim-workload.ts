// simulate()'s workload: the entity every simulated client reads and writes, and a seeded choice
// of the next operation. Keys are few (groups × perGroup) so clients collide on them; writes are
// unique (client and sequence number in the payload) so the checker can tell them apart; half of
// the upserts and updates are @Version-conditional on the version the client last saw; scans
// page one shard key or fan out to every shard.
import { IDL } from '@dfinity/candid';
import '../model/symbol-metadata.js';
import { Field, PrimaryKey, ShardedCollection, ShardKey, Version } from '../model/decorators.js';
import { randomBelow, type Random } from '../random/prng.js';
import type { SimulatedRepository } from './simulation-target.js';

@ShardedCollection({ name: 'sim_records' })
export class SimRecord {
  @ShardKey @Field(IDL.Nat16) group!: number;
  @PrimaryKey @Field(IDL.Nat32) n!: number;
  @Field(IDL.Text) payload!: string;
  @Field(IDL.Text) writer!: string;
  @Version @Field(IDL.Nat64) version!: bigint;
}

export interface WorkloadShape {
  /** Shard-key values (1..65,536). */
  groups: number;
  /** Rows per shard-key value. */
  perGroup: number;
  /** Largest padding added to a payload, in bytes (drives automatic splits). */
  payloadBytes: number;
}

export type SimKey = { group: number; n: number };

export type SimOp =
  | { kind: 'get' | 'delete'; key: SimKey }
  | { kind: 'getMany'; keys: SimKey[] }
  | { kind: 'insert' | 'upsert'; entity: SimRecord }
  | { kind: 'update'; key: SimKey; patch: Partial<SimRecord> }
  | { kind: 'scan'; group?: number; limit: number }
  | { kind: 'count' };

/** Per-client memory: the version last seen per key, for conditional writes. */
export type SeenVersions = Map<string, bigint>;

export const keyId = (k: SimKey): string => `${k.group}/${k.n}`;

export function everyKey(shape: WorkloadShape): SimKey[] {
  const keys: SimKey[] = [];
  for (let group = 0; group < shape.groups; group++) for (let n = 0; n < shape.perGroup; n++) keys.push({ group, n });
  return keys;
}

export function nextOp(random: Random, shape: WorkloadShape, writer: string, seen: SeenVersions): SimOp {
  const key = (): SimKey => ({ group: randomBelow(random, shape.groups), n: randomBelow(random, shape.perGroup) });
  const payload = (): string => `${writer}:${'.'.repeat(randomBelow(random, shape.payloadBytes + 1))}`;
  const conditional = (k: SimKey): bigint | undefined => (randomBelow(random, 2) === 0 ? seen.get(keyId(k)) : undefined);
  const roll = randomBelow(random, 100);
  if (roll < 22) return { kind: 'get', key: key() };
  if (roll < 27) return { kind: 'getMany', keys: Array.from({ length: 1 + randomBelow(random, 4) }, key) };
  if (roll < 57) {
    const k = key();
    const entity = Object.assign(new SimRecord(), { ...k, payload: payload(), writer, version: roll < 42 ? 0n : (conditional(k) ?? 0n) });
    return { kind: roll < 42 ? 'insert' : 'upsert', entity };
  }
  if (roll < 77) {
    const k = key();
    const version = conditional(k);
    const patch: Partial<SimRecord> = version === undefined ? { payload: payload(), writer } : { payload: payload(), writer, version };
    return { kind: 'update', key: k, patch };
  }
  if (roll < 90) return { kind: 'delete', key: key() };
  if (roll < 93) return { kind: 'scan', group: randomBelow(random, shape.groups), limit: 1 + randomBelow(random, 5) };
  if (roll < 96) return { kind: 'scan', limit: 1 + randomBelow(random, 10) }; // fans out to every shard
  return { kind: 'count' };
}

/** Runs one op; remembers versions it saw. Errors propagate (the recorder has logged them). */
export async function runOp(repo: SimulatedRepository<SimRecord>, op: SimOp, seen: SeenVersions): Promise<void> {
  const note = (r: SimRecord | undefined): void => void (r !== undefined && seen.set(keyId(r), r.version));
  switch (op.kind) {
    case 'get':
      return note(await repo.get(op.key));
    case 'delete':
      await repo.delete(op.key);
      return void seen.delete(keyId(op.key));
    case 'getMany':
      return (await repo.getMany(op.keys)).forEach(note);
    case 'insert':
      return note(await repo.insert(op.entity));
    case 'upsert':
      return note(await repo.upsert(op.entity));
    case 'update':
      return note(await repo.update(op.key, op.patch));
    case 'scan':
      return (await repo.scan(op.group === undefined ? { limit: op.limit } : { shardKey: op.group, limit: op.limit })).items.forEach(note);
    case 'count':
      await repo.count();
  }
}
