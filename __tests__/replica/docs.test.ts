// docs/replica.md lists exactly the System API the replica supports and the names it refuses.
import { readFileSync } from 'node:fs';
import { SUPPORTED_SYSTEM_API, UNSUPPORTED_SYSTEM_API } from 'shardorm/replica';

const doc = readFileSync('docs/replica.md', 'utf8');
const listed = (tag: string) =>
  [...(doc.split(`<!-- system-api:${tag} -->`)[1] ?? '').split(`<!-- /system-api:${tag} -->`)[0].matchAll(/`([a-z0-9_]+)`/g)].map((m) => m[1]).sort();

test('the documented System API lists match the replica', () => {
  expect(listed('supported')).toEqual([...SUPPORTED_SYSTEM_API].sort());
  expect(listed('unsupported')).toEqual([...UNSUPPORTED_SYSTEM_API].sort());
  expect(SUPPORTED_SYSTEM_API.filter((n) => UNSUPPORTED_SYSTEM_API.includes(n))).toEqual([]);
});
