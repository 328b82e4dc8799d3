// The worked example of docs/testing.md, run as a test (docs.test.ts keeps the two identical).
import { IDL } from '@dfinity/candid';
import { writeFileSync } from 'node:fs';
import { ConflictError, Field, MemoryCluster, PrimaryKey, ShardedCollection, ShardKey, Version, type Repository } from 'shardorm';
import { checkLinearizable, formatSimulationFailure, HistoryRecorder, memoryClusterTarget, simulate } from 'shardorm/testing';

@ShardedCollection({ name: 'seats' })
class Seat {
  @ShardKey @Field(IDL.Text) show!: string;
  @PrimaryKey @Field(IDL.Nat32) number!: number;
  @Field(IDL.Opt(IDL.Text)) holder?: string;
  @Version @Field(IDL.Nat64) version!: bigint;
}

// The application code under test: claim a free seat with an optimistic (@Version) update.
async function claim(seats: Repository<Seat>, show: string, number: number, who: string): Promise<boolean> {
  const seat = await seats.get({ show, number });
  if (seat === undefined || seat.holder !== undefined) return false;
  try {
    await seats.update({ show, number }, { holder: who, version: seat.version });
    return true;
  } catch (e) {
    if (e instanceof ConflictError) return false; // someone else was faster
    throw e;
  }
}

test('concurrent claims are linearizable and no seat is claimed twice', async () => {
  const cluster = MemoryCluster.create({ shards: 4, entry: 'random', seed: 1 });
  const rec = new HistoryRecorder();
  const setup = rec.wrap(cluster.repository(Seat), 'setup');
  for (let number = 0; number < 6; number++) await setup.insert(Object.assign(new Seat(), { show: 'gala', number }));

  // Eight clients, each with its own repository (like eight browser tabs), all at once.
  const claims = await Promise.all(
    Array.from({ length: 8 }, (_, c) => {
      const seats = rec.wrap(cluster.repository(Seat), `client-${c}`);
      return Promise.all([0, 1, 2].map((i) => claim(seats, 'gala', (c + i) % 6, `client-${c}`)));
    }),
  );

  const result = checkLinearizable(rec.history());
  if (result.ok !== true) {
    writeFileSync('seats-history.json', JSON.stringify(rec.history())); // re-check it offline later
    throw new Error(result.ok === false ? result.explanation : result.explanation);
  }
  expect(claims.flat().filter(Boolean).length).toBe(6); // every seat claimed exactly once
});

test('my cluster configuration survives faults, splits and merges (seeded, replayable)', async () => {
  for (const seed of [1, 2, 3]) {
    const cluster = MemoryCluster.create({ shards: 2, maxShardBytes: 4000, entry: 'random', seed });
    const r = await simulate({
      seed,
      cluster: memoryClusterTarget(cluster),
      clients: 4,
      operations: 150,
      faults: { replyLoss: 0.05, split: 0.02, merge: 0.02 },
      replayCommand: (s) => `SEED=${s} npm test -- seats`,
    });
    if (!r.ok) throw new Error(formatSimulationFailure(r));
  }
});
