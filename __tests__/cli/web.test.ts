// The snippets board in a real browser (playwright-core driving Debian's chromium, never a browser
// download): the page loads and shows at least one shard, adding a snippet shows it, the load
// generator makes at least two shards, an edit by a second browser identity is refused with a
// readable message; a screenshot is saved under .cache/test-output/. Two sources: the in-process
// stand-in cluster (`shardorm web --memory`) and a real cluster on the embedded replica.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { deployCluster } from '../../lib/client/deploy.js';
import { buildAzleCanister } from '../../lib/build/azle.js';
import { startWebServer, type WebServer } from '../../lib/cli/web-server.js';
import { agentFor, replica, tempDir, writeEd25519Pem } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT = join(process.cwd(), '.cache', 'test-output');
const UI_WAIT_MS = 60_000;

if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (the .ci/run script does this)`);
mkdirSync(OUTPUT, { recursive: true });

/** Whole-test bound of a browser case; each step below fails with its own name before it. */
const CASE_MS = 300_000;
const STEP_MARGIN_MS = 5_000;

/**
 * Runs the named step, failing with its name when it does not finish within `ms` or before the
 * case's deadline (a stuck page otherwise shows only jest's timeout, not the step that hung).
 */
async function step<T>(deadline: number, name: string, ms: number, run: () => Promise<T>): Promise<T> {
  const bound = Math.max(1, Math.min(ms, deadline - Date.now() - STEP_MARGIN_MS));
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`browser step "${name}" did not finish in ${bound} ms`)), bound)));
  try {
    return await Promise.race([run(), late]);
  } finally {
    clearTimeout(timer);
  }
}

async function exercise(browser: Browser, server: WebServer, screenshot: string): Promise<void> {
  const deadline = Date.now() + CASE_MS;
  const first = await step(deadline, 'open a page', UI_WAIT_MS, async () => (await browser.newContext()).newPage());
  await step(deadline, 'load the page', UI_WAIT_MS, () => first.goto(server.url));
  await first.waitForSelector('body[data-ready="true"]', { timeout: UI_WAIT_MS });
  await first.waitForSelector('.shard', { timeout: UI_WAIT_MS });
  expect(await first.locator('.shard').count()).toBeGreaterThanOrEqual(1);

  await first.fill('#body', 'hello from the browser');
  await first.click('#save');
  await step(deadline, 'the added snippet shows', UI_WAIT_MS, () => first.waitForSelector('#snippets li', { timeout: UI_WAIT_MS }));
  expect(await first.locator('#snippets li .body').first().textContent()).toBe('hello from the browser');
  const id = await first.locator('#snippets li').first().getAttribute('data-id');

  await first.click('#load');
  await step(deadline, 'the load generator makes a second shard', UI_WAIT_MS * 3, () => first.waitForFunction(() => document.querySelectorAll('.shard').length >= 2, undefined, { timeout: UI_WAIT_MS * 3, polling: 500 }));
  await step(deadline, 'the load generator finishes', UI_WAIT_MS * 3, () => first.waitForSelector('#load-status:text("wrote 200 snippets")', { timeout: UI_WAIT_MS * 3 }));

  const second = await step(deadline, 'open a second identity', UI_WAIT_MS, async () => (await browser.newContext()).newPage());
  await step(deadline, 'load the page as the second identity', UI_WAIT_MS, () => second.goto(server.url));
  await second.waitForSelector('body[data-ready="true"]', { timeout: UI_WAIT_MS });
  expect(await second.locator('#me').textContent()).not.toBe(await first.locator('#me').textContent());
  await second.fill('#snippet-id', id!);
  await second.fill('#body', 'overwritten by a stranger');
  await second.click('#save');
  await step(deadline, "the stranger's edit is refused", UI_WAIT_MS, () => second.waitForSelector('#message.error', { timeout: UI_WAIT_MS }));
  expect(await second.locator('#message').textContent()).toMatch(/^not saved: .*(denied|not allowed|owner|access)/i);
  await first.reload();
  await first.waitForSelector('#snippets li', { timeout: UI_WAIT_MS });
  expect(await first.locator('#snippets li .body').first().textContent()).toBe('hello from the browser');
  await step(deadline, 'screenshot', UI_WAIT_MS, () => shoot(first, screenshot));
}

async function shoot(page: Page, name: string): Promise<void> {
  const path = join(OUTPUT, name);
  await page.waitForTimeout(1_000); // let the bars' transitions settle
  await page.screenshot({ path, fullPage: true });
  expect(existsSync(path)).toBe(true);
}

let browser: Browser;
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new'] });
});
afterAll(async () => browser?.close());

test('the page over the stand-in cluster (shardorm web --memory): shards, add, load, refused edit, screenshot', async () => {
  const server = await startWebServer({ port: 0, config: { mode: 'memory' } });
  try {
    await exercise(browser, server, 'web-memory.png');
  } finally {
    await server.close();
  }
}, CASE_MS + 10_000);

// The same steps against a cluster deployed on the embedded replica.
const embedded = await replica();
const work = tempDir('web');
const agent = await agentFor(embedded.url, writeEd25519Pem(work));
const built = await buildAzleCanister({ root: process.cwd(), name: 'shardorm_example' });
const cluster = await deployCluster({ agent, wasm: built.wasm, maxShardBytes: 64 * 1024 });
afterAll(async () => embedded.close());

test('the page over a real cluster on the embedded replica (REAL)', async () => {
  const server = await startWebServer({ port: 0, config: { mode: 'cluster', host: embedded.url, entry: cluster.manager.toText(), limitBytes: 64 * 1024 } });
  try {
    await exercise(browser, server, 'web-cluster.png');
  } finally {
    await server.close();
  }
}, 600_000);
