// The HTTP gateway on real Wasm (the http_gateway Azle fixture), reached with plain HTTP clients
// the way a browser reaches dfx's or PocketIC's gateway: `?canisterId=<id>` with fetch, and the
// `<id>.localhost` host (which Node cannot resolve, so sent to 127.0.0.1 with that Host header).
import { HttpAgent } from '@dfinity/agent';
import { Ed25519KeyIdentity } from '@dfinity/identity';
import { request } from 'node:http';
import { join } from 'node:path';
import { buildAzleCanister } from '../../lib/build/azle.js';
import { createCanister, installWasm } from '../../lib/cli/deploy.js';
import { managementCanister } from '../../lib/cli/management.js';
import type { HttpServerHandle } from '../../lib/replica/http/index.js';
import { LocalReplica } from '../../lib/replica/http/listen.js';

let replica: LocalReplica;
let server: HttpServerHandle;
let canisterId: string;

beforeAll(async () => {
  const built = await buildAzleCanister({ root: join(process.cwd(), '__tests__/fixtures/http_gateway'), name: 'http_gateway' });
  replica = await LocalReplica.create({ startTime: Date.now() });
  server = await replica.listen({ port: 0 });
  const management = managementCanister(await HttpAgent.create({ host: server.url, identity: Ed25519KeyIdentity.generate(), shouldFetchRootKey: true }));
  const id = await createCanister(management);
  await installWasm(management, id, built.wasm);
  canisterId = id.toText();
}, 180_000);
afterAll(async () => {
  await server.close();
  await replica.close();
});

const viaQuery = (path: string, init?: RequestInit) => fetch(`${server.url}${path}${path.includes('?') ? '&' : '?'}canisterId=${canisterId}`, init);

/** A GET with the given Host header (what a browser sends for http://<id>.localhost:<port>/…). */
function viaHost(host: string, path: string): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, headers: { host } }, res => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', chunk => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('?canisterId= maps a request to http_request: method, url, headers and body reach the canister', async () => {
  const get = await viaQuery('/hello?x=1', { headers: { 'x-probe': 'p1' } });
  expect([get.status, get.headers.get('x-served-by'), get.headers.get('content-type')]).toEqual([200, 'http_request', 'text/plain; charset=utf-8']);
  expect(await get.text()).toBe(`hello GET /hello?x=1&canisterId=${canisterId} probe=p1 body= v=2`);
  expect(get.headers.get('access-control-allow-origin')).toBeNull(); // CORS is the canister's to set
  const post = await viaQuery('/hello', { method: 'POST', body: 'abc' });
  expect(await post.text()).toBe(`hello POST /hello?canisterId=${canisterId} probe=- body=abc v=2`);
});

test('<canister id>.localhost and <canister id>.raw.localhost hosts reach the canister', async () => {
  for (const host of [`${canisterId}.localhost:${server.port}`, `${canisterId}.raw.localhost:${server.port}`]) {
    const reply = await viaHost(host, '/hello');
    expect(reply).toMatchObject({ status: 200, text: 'hello GET /hello probe=- body= v=2', headers: { 'x-served-by': 'http_request' } });
  }
  // /api/ stays the IC API on a canister's host (a page served there talks to the replica).
  expect((await viaHost(`${canisterId}.localhost:${server.port}`, '/api/v2/status')).status).toBe(200);
});

test('a response asking upgrade = opt true is answered by http_request_update, whose change is kept', async () => {
  expect(await (await viaQuery('/count')).text()).toBe('count=0');
  const first = await viaQuery('/count', { method: 'POST' });
  expect([first.status, first.headers.get('x-served-by'), await first.text()]).toEqual([201, 'http_request_update', `count=1 after POST /count?canisterId=${canisterId}`]);
  expect(await (await viaQuery('/count', { method: 'POST' })).text()).toMatch(/^count=2 /);
  expect(await (await viaQuery('/count')).text()).toBe('count=2');
});

test('a streaming Callback strategy is followed until its token runs out, token handed back unchanged', async () => {
  const streamed = await viaQuery('/stream');
  expect([streamed.status, await streamed.text()]).toEqual([200, 'chunk 0;chunk 1;chunk 2;chunk 3;']);
});

test('the canister\'s own status codes pass through; unknown or malformed canister ids are refused', async () => {
  const missing = await viaQuery('/nowhere');
  expect([missing.status, await missing.text()]).toEqual([404, 'no route for GET /nowhere']);
  const unknown = await fetch(`${server.url}/hello?canisterId=rrkah-fqaaa-aaaaa-aaaaq-cai`);
  expect([unknown.status, await unknown.text()]).toEqual([404, expect.stringContaining('did not answer http_request')]);
  const malformed = await fetch(`${server.url}/hello?canisterId=not-a-principal`);
  expect([malformed.status, await malformed.text()]).toEqual([400, expect.stringContaining('names no canister')]);
  // Without a canister, a non-API path is still the API's 404.
  expect((await fetch(`${server.url}/hello`)).status).toBe(404);
});
