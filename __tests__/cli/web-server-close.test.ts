// `shardorm web` shuts down while a page keeps polling it: Node's server.close() alone waits for
// every keep-alive connection to end, and a connection that was answering at that moment and is then
// reused by the page's next poll never does. close() must finish, and the answer in flight must
// still arrive. No browser: a keep-alive client plays the polling page.
import { Agent, request } from 'node:http';
import { startWebServer } from '../../lib/cli/web-server.js';

const POLL_MS = 20;

test('close() finishes while a keep-alive client polls, after the request in flight is answered', async () => {
  const server = await startWebServer({ port: 0, config: { mode: 'memory' } });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(server.url);
  let polling = true;
  try {
    // A POST whose body is half sent when close() starts: its handler is still reading it.
    const body = JSON.stringify({ caller: '2vxsx-fae' });
    const post = request({ host: url.hostname, port: url.port, path: '/api/none', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
    const answered = new Promise<number>((resolve, reject) => {
      post.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      post.on('error', reject);
    });
    post.write(body.slice(0, 5));
    await new Promise((resolve) => post.once('socket', (socket) => socket.once('connect', resolve)));
    await new Promise((resolve) => setTimeout(resolve, 50)); // the server has the headers

    const closing = server.close();
    post.end(body.slice(5));
    expect(await answered).toBe(404); // read in full, then answered: no such API
    // The page polls on, reusing the connection.
    const poll = (): void => {
      if (!polling) return;
      request({ host: url.hostname, port: url.port, path: '/config.json', agent }, (res) => {
        res.resume();
        res.on('end', () => setTimeout(poll, POLL_MS));
      })
        .on('error', () => undefined) // the server ends the connection: expected
        .end();
    };
    poll();
    const outcome = await Promise.race([closing.then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('still open'), 3_000))]);
    expect(outcome).toBe('closed');
  } finally {
    polling = false;
    agent.destroy();
  }
});
