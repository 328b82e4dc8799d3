// docs/shard-interface.md stays honest: its Candid blocks equal what the code generates from the
// one IDL (lib/protocol/candid.ts), and every method of that IDL is what the Azle build of a
// shard actually exports, type for type.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IDL } from '@dfinity/candid';
import { shardIdlFactory } from 'shardorm';
import { buildAzleCanister } from '../../lib/build/azle.js';
import { funcToDid, managerNotificationDid, routedMethodDid, shardInterfaceDid } from '../../lib/canister/did.js';

const candidBlocks = async (): Promise<string[]> => {
  const doc = await readFile(join(process.cwd(), 'docs/shard-interface.md'), 'utf8');
  return [...doc.matchAll(/```candid\n([\s\S]*?)\n```/g)].map((m) => m[1]);
};

test('the documented .did blocks are the generated interface, the hidden __routed method and the manager notification', async () => {
  const blocks = await candidBlocks();
  expect(blocks).toContain(shardInterfaceDid());
  expect(blocks).toContain(routedMethodDid());
  expect(blocks).toContain(managerNotificationDid());
});

test('a shard built with Azle serves every method of the IDL with the same types', async () => {
  const built = await buildAzleCanister({ root: join(process.cwd(), '__tests__/fixtures/shard_app'), name: 'shard_app' });
  const service = shardIdlFactory({ IDL }) as IDL.ServiceClass;
  for (const [name, func] of service._fields) {
    // Azle prints `name: (…) -> (…)` and writes composite queries as `query`.
    const line = `    ${name}: ${funcToDid(func).replace(/ composite_query$/, ' query')};`;
    expect(built.candid.split('\n')).toContain(line);
  }
  expect(built.candid).not.toContain('__routed');
}, 120_000);
