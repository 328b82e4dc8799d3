// The shard–manager link on the local replica, with a stand-in manager canister (fixtures/
// manager_stub): a shard above max_shard_bytes asks the manager for a split once per epoch (a
// one-way call), the manager principal may call manager-only methods without being a
// controller, and drain_cycles returns the shard's cycles to it.
import { IDL } from '@dfinity/candid';
import { join } from 'node:path';
import { RangePartitioner } from 'shardorm';
import { LocalReplica } from 'shardorm/replica';
import { buildAzleCanister } from '../../lib/build/azle.js';
import { Note } from '../fixtures/shard_app/models.js';
import { admin, buildShardApp, initArg, NO_SETTINGS, nodeRepository, shardActor, stranger } from './shard-cluster.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
let replica: LocalReplica;

beforeAll(async () => {
  replica = await LocalReplica.create({ seed: 8 });
}, 60_000);

afterAll(() => replica?.close());

test('the manager hears of a full shard once per epoch, may call manager-only methods, and receives drained cycles', async () => {
  const stubWasm = (await buildAzleCanister({ root: join(process.cwd(), '__tests__/fixtures/manager_stub'), name: 'manager_stub' })).wasm;
  const manager = await replica.setupCanister({ wasm: stubWasm, controllers: [admin], sender: admin });
  const shard = await replica.createCanister({ controllers: [admin], sender: admin, cycles: 10_000_000_000_000n });
  const map = RangePartitioner.even([shard.toText()]);
  await replica.installCode({ canisterId: shard, wasm: await buildShardApp(), arg: initArg(map, { manager, settings: { ...NO_SETTINGS, max_shard_bytes: 400n } }), sender: admin });
  const requests = async () => IDL.decode([IDL.Vec(IDL.Text)], await replica.queryCall(manager, 'requests', new Uint8Array(IDL.encode([], []))))[0];

  const notes = nodeRepository(replica, Note, { map, entry: shard });
  for (let n = 1n; n <= 3n; n++) await notes.insert(Object.assign(new Note(), { owner: 'o', n, body: 'small' }));
  await replica.runUntilIdle();
  expect(await requests()).toEqual([]); // still below 400 bytes
  for (let n = 4n; n <= 12n; n++) await notes.insert(Object.assign(new Note(), { owner: 'o', n, body: 'x'.repeat(40) }));
  await replica.runUntilIdle();
  expect(await requests()).toEqual([`split ${shard.toText()} @0`]); // asked once, not after every write

  const asManager = IDL.decode([IDL.Text], await replica.updateCall(manager, 'splitPointOf', new Uint8Array(IDL.encode([IDL.Principal], [shard]))))[0];
  expect(asManager).toBe('ok');
  expect((await shardActor(replica, shard, stranger).split_point()).err.code).toBe('FORBIDDEN');

  const before = replica.getCyclesBalance(manager);
  const drained = (await shardActor(replica, shard).drain_cycles()).ok as bigint;
  expect(drained).toBeGreaterThan(1_000_000_000_000n);
  expect(replica.getCyclesBalance(manager) - before).toBe(drained);
  expect(replica.getCyclesBalance(shard)).toBeLessThan(200_000_000_000n);
});
