/// <reference lib="dom" />
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Page } from 'playwright-core';
import WebSocket from 'ws';
import { artifactPath, chromiumMissing, launchBrowser, serveApp, type ServedApp } from '../helpers/browser.js';
import { SAMPLE_PLATES, tempDir, waitFor } from '../helpers/paths.js';

// The page stays honest when the server goes away and comes back, and when the core fails.
const skip = chromiumMissing();
let tmp: ReturnType<typeof tempDir>;
let home: string;
let folder: string;
let app: ServedApp;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let page: Page;
const plates = readdirSync(SAMPLE_PLATES).filter((f) => f.endsWith('.jpg'));

before(async () => {
  if (skip) return;
  tmp = tempDir('browser-resilience');
  home = join(tmp.dir, 'home');
  folder = join(tmp.dir, 'plates');
  mkdirSync(folder);
  for (const p of plates.slice(0, 3)) copyFileSync(join(SAMPLE_PLATES, p), join(folder, p));
  app = await serveApp(home);
  browser = await launchBrowser();
  page = await browser.context.newPage();
  await page.goto(app.url);
  await page.getByLabel('Folder of images').fill(folder);
  await page.getByLabel('Resolution').selectOption('64');
  await page.getByRole('button', { name: 'Use this folder' }).click();
  await page.getByTestId('count-accepted').filter({ hasText: /^3$/ }).waitFor({ timeout: 60_000 });
});

after(async () => {
  if (skip) return;
  await browser.close();
  await app.stop();
  tmp.cleanup();
});

test('the page reconnects after the server restarts, and live updates resume', { skip }, async () => {
  const { port } = new URL(app.url);
  await app.stop();
  await page.getByTestId('connection-lost').waitFor({ timeout: 10_000 });
  // While the server is away no request can be made: the controls are off, and the page says why.
  assert.equal(await page.getByRole('button', { name: 'Use this folder' }).isDisabled(), true);
  assert.match(await page.getByTestId('connection-lost').innerText(), /The Plumage server is gone/);
  await page.screenshot({ path: artifactPath('resilience-reconnecting.png') });

  // Same port, same home: the same token, so the page's cookie still opens the socket.
  const restarted = await serveApp(home, Number(port));
  app = restarted;
  assert.equal(new URL(restarted.url).searchParams.get('token'), new URL(page.url()).searchParams.get('token'));
  await page.getByTestId('connection-lost').waitFor({ state: 'detached', timeout: 15_000 });
  // Events flow again: a plate dropped into the watched folder shows up without a reload.
  copyFileSync(join(SAMPLE_PLATES, plates[3]!), join(folder, plates[3]!));
  await page.getByTestId('count-accepted').filter({ hasText: /^4$/ }).waitFor({ timeout: 30_000 });
});

/** Accepted count of the first dataset, asked of the server directly (not through the page). */
async function acceptedOnServer(url: string): Promise<number> {
  const u = new URL(url);
  const ws = new WebSocket(`ws://${u.host}/api?token=${u.searchParams.get('token')}`);
  try {
    return await new Promise<number>((resolve, reject) => {
      ws.once('error', reject);
      ws.once('open', () => ws.send(JSON.stringify({ id: 1, method: 'listDatasets' })));
      ws.on('message', (d) => {
        const f = JSON.parse(String(d)) as { id?: number; result?: { folder: string; counts: { accepted: number } }[] };
        if (f.id === 1) resolve(f.result?.find((x) => x.folder === folder)?.counts.accepted ?? -1);
      });
    });
  } finally {
    ws.close();
  }
}

test('what changed while the page was away is shown once it reconnects', { skip }, async () => {
  // Keep the page from reconnecting until the restarted server has already announced the change
  // (to nobody): only asking again on reconnect can bring it to the page.
  let hold = true;
  await page.routeWebSocket(
    (u) => u.pathname === '/api',
    (ws) => (hold ? void ws.close() : ws.connectToServer()),
  );
  const { port } = new URL(app.url);
  await app.stop();
  await page.getByTestId('connection-lost').waitFor({ timeout: 10_000 });
  copyFileSync(join(SAMPLE_PLATES, plates[4]!), join(folder, plates[4]!));
  app = await serveApp(home, Number(port));
  await waitFor(async () => (await acceptedOnServer(app.url)) === 5, 30_000, 'the restarted server to ingest');
  assert.equal(await page.getByTestId('count-accepted').innerText(), '4');
  hold = false;
  await page.getByTestId('connection-lost').waitFor({ state: 'detached', timeout: 15_000 });
  await page.getByTestId('count-accepted').filter({ hasText: /^5$/ }).waitFor({ timeout: 5_000 });
});

test('a failed core call shows its error, never an empty view', { skip }, async () => {
  // Damage the database under the running server: its next read of the datasets fails.
  const db = new Database(join(home, 'plumage.db'));
  try {
    db.exec('ALTER TABLE datasets RENAME TO datasets_damaged');
  } finally {
    db.close();
  }
  await page.reload();
  const banner = page.getByTestId('error-banner');
  await banner.waitFor({ timeout: 10_000 });
  assert.match(await banner.innerText(), /no such table: datasets/);
  await page.screenshot({ path: artifactPath('resilience-error-banner.png') });
});
