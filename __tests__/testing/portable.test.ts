// shardorm/testing must run anywhere a repository runs (Node, a browser, a canister): it bundles
// for esbuild's "neutral" platform, which has no Node built-ins, and pulls in neither the replica
// nor the cluster implementation (the MemoryCluster adapter only uses its type).
import { build } from 'esbuild';

test('shardorm/testing bundles without Node built-ins, the replica or the cluster', async () => {
  const r = await build({
    entryPoints: ['lib/testing/index.ts'],
    bundle: true,
    platform: 'neutral',
    format: 'esm',
    mainFields: ['module', 'main'],
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(r.metafile.inputs).filter((f) => f.startsWith('lib/'));
  expect(inputs).toContain('lib/testing/checker.ts');
  expect(inputs).toContain('lib/testing/recorder.ts');
  expect(inputs.filter((f) => f.startsWith('lib/replica/') || f.startsWith('lib/cluster/'))).toEqual([]);
});
