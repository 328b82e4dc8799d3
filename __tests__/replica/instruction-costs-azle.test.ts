// Instruction counting on a real Azle canister (__tests__/fixtures/instruction_costs): the cost
// classes that dominate Azle's counts on the IC — stable-memory writes and bytes crossing the
// System API — and the limit. bench/ic-conformance.bench.ts checks the same against the IC's
// recorded counts for Azle's own examples.
import { join } from 'node:path';
import { IDL } from '@dfinity/candid';
import type { Principal } from '@dfinity/principal';

import { buildAzleCanister } from '../../lib/build/azle.js';
import { LocalReplica } from '../../lib/replica/index.js';

/** The IC's instruction limit for one update message (our default, as on mainnet). */
const UPDATE_LIMIT = 40_000_000_000n;
const LONG = !!process.env.SHARDORM_LONG;
/**
 * Azle's stable_b_tree_map_instruction_threshold example inserts 10,000 small records in one
 * update: about 19 B instructions on the IC, over 40 B (IC0522) when every opcode counted 1. The
 * default suite runs a tenth of it against a tenth-and-a-bit of the limit (the IC's rule counts
 * ~1.9 B here, the old one ~4.2 B); SHARDORM_LONG runs the full batch against the real limit.
 */
const BATCH = LONG ? 10_000 : 1_000;
const LIMIT = LONG ? UPDATE_LIMIT : 3_000_000_000n;

let replica: LocalReplica;
let id: Principal;

beforeAll(async () => {
  const { wasm } = await buildAzleCanister({ root: join(process.cwd(), '__tests__/fixtures/instruction_costs'), name: 'instruction_costs' });
  replica = await LocalReplica.create({ seed: 5, instructionLimits: { update: LIMIT } });
  id = await replica.createCanister({ cycles: 10n ** 15n });
  await replica.installCode({ canisterId: id, wasm });
}, 120_000);
afterAll(async () => replica.tearDown());

async function counted(method: string, types: IDL.Type[], args: unknown[]): Promise<{ instructions: bigint; reply: Uint8Array }> {
  const before = replica.canister(id)!.instructionsExecuted;
  const reply = await replica.updateCall({ canisterId: id, method: method, arg: new Uint8Array(IDL.encode(types, args)) });
  return { instructions: replica.canister(id)!.instructionsExecuted - before, reply };
}

test(`${BATCH.toLocaleString('en-US')} StableBTreeMap inserts in one update stay under a ${LIMIT / 1_000_000_000n} B limit, as on the IC`, async () => {
  const { instructions, reply } = await counted('insertSmall', [IDL.Nat32], [BATCH]);
  const [counter] = IDL.decode([IDL.Nat64], reply) as unknown as [bigint];
  expect(counter).toBeLessThanOrEqual(instructions); // the counter is read before the reply is made
  expect(instructions - counter).toBeLessThan(10_000_000n);
  expect(instructions).toBeLessThan((LIMIT * 3n) / 4n);
  expect(instructions).toBeGreaterThan(BigInt(BATCH) * 1_000_000n); // real work: ~1.9 M per insert
}, 300_000);

test('bytes in cost 1 instruction each and reply bytes 50 each', async () => {
  const echo = async (n: number): Promise<bigint> => (await counted('echo', [IDL.Vec(IDL.Nat8)], [new Uint8Array(n).fill(7)])).instructions;
  const small = await echo(100_000);
  const large = await echo(200_000);
  // 100,000 more bytes: at least 100,000 (msg_arg_data_copy) + 5,000,000 (msg_reply_data_append).
  expect(large - small).toBeGreaterThanOrEqual(51n * 100_000n);
  // And Azle's own per-byte work on a blob is far below the System API's.
  expect(large - small).toBeLessThan(100n * 100_000n);
}, 60_000);
