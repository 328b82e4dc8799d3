// `shardorm/replica` is one import for the engine and its HTTP interface: `listen` is there.
import { HttpAgent } from '@dfinity/agent';
import { LocalReplica } from 'shardorm/replica';

test('importing shardorm/replica gives LocalReplica.listen, serving the IC HTTP interface', async () => {
  const replica = await LocalReplica.create({ seed: 7 });
  const handle = await replica.listen({ port: 0 });
  try {
    const agent = await HttpAgent.create({ host: handle.url, shouldFetchRootKey: true });
    expect(agent.rootKey?.byteLength).toBe(133); // DER prefix (37) + 96-byte BLS12-381 G2 key
  } finally {
    await handle.close();
    await replica.tearDown();
  }
});
