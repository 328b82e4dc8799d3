// The HTTP server behind `shardorm web`: the sample dapp's page (example-app/src/web/, bundled for
// the browser with esbuild once at start), its /config.json (which cluster and replica to talk to),
// and, in memory mode, the stand-in cluster's JSON API. In cluster mode the browser talks to the
// replica itself with @dfinity/agent (the replica answers CORS), signing as its own identity.
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryBackend, send } from './web-memory.js';

const webDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../example-app/src/web');

/** How long close() lets requests in flight finish before it ends their connections. */
const CLOSE_GRACE_MS = 5_000;

export type WebConfig =
  | { mode: 'cluster'; host: string; entry: string; limitBytes?: number }
  | { mode: 'memory' };

export interface WebServer {
  url: string;
  close(): Promise<void>;
}

/** Bundles the page's TypeScript (and lib/client, @dfinity/agent) into one browser script. */
export async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [join(webDir, 'main.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    alias: { shardorm: resolve(webDir, '../../../lib/index.ts') },
    define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

export async function startWebServer(options: { port: number; host?: string; config: WebConfig }): Promise<WebServer> {
  const [script, html] = await Promise.all([bundlePage(), readFile(join(webDir, 'index.html'), 'utf8')]);
  const memory = options.config.mode === 'memory' ? new MemoryBackend() : undefined;
  let inFlight = 0;
  let settled: (() => void) | undefined;
  const server: Server = createServer((req, res) => {
    inFlight++;
    res.once('close', () => {
      if (--inFlight === 0) settled?.();
    });
    const url = new URL(req.url ?? '/', 'http://localhost');
    void (async () => {
      if (memory && (await memory.handle(req, res, url))) return;
      if (url.pathname === '/' || url.pathname === '/index.html') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(html);
      } else if (url.pathname === '/app.js') {
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
        res.end(script);
      } else if (url.pathname === '/config.json') send(res, 200, options.config);
      else send(res, 404, { error: `no page ${url.pathname}` });
    })().catch((error: Error) => send(res, 500, { error: error.message }));
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port, options.host ?? '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    // server.close() alone waits for every keep-alive connection to end, and a page that polls
    // keeps one busy forever: close the idle ones, let answers in flight finish (bounded), then
    // end the rest.
    async close() {
      const closed = new Promise<void>((ok) => server.close(() => ok()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([new Promise<void>((ok) => (settled = ok)), new Promise<void>((ok) => (timer = setTimeout(ok, CLOSE_GRACE_MS)))]);
        clearTimeout(timer);
      }
      server.closeAllConnections();
      await closed;
    },
  };
}
