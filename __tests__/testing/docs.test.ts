// docs/testing.md's worked example is the file docs-example.test.ts, character for character, so
// the example a reader copies is one that runs and passes.
import { readFileSync } from 'node:fs';

test('the worked example in docs/testing.md is the docs-example test', () => {
  const doc = readFileSync('docs/testing.md', 'utf8');
  const block = doc.split('<!-- example:start -->\n```ts\n')[1]?.split('```\n<!-- example:end -->')[0];
  expect(block).toBe(readFileSync('__tests__/testing/docs-example.test.ts', 'utf8'));
});
