/// <reference lib="dom" />
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import type { Download, Page } from 'playwright-core';
import { artifactPath, chromiumMissing, launchBrowser, serveApp, type ServedApp } from '../helpers/browser.js';
import { keepFavourites, tinyGenerator, TWO_BIRDS } from '../helpers/favourites.js';
import { tempDir } from '../helpers/paths.js';

// The studio watched from another room, through `serve`: what the server makes, the page can
// have; a second server on the same machine does not lock the page out; and when the server is
// gone the page says its state is stale and offers nothing that cannot work.

const skip = chromiumMissing();
let tmp: ReturnType<typeof tempDir>;
let home: string;
let app: ServedApp;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let page: Page;

before(async () => {
  if (skip) return;
  tmp = tempDir('browser-afar');
  home = join(tmp.dir, 'home');
  const generator = await tinyGenerator(join(tmp.dir, 'g.safetensors'), 2);
  await keepFavourites(home, generator, TWO_BIRDS);
  app = await serveApp(home);
  browser = await launchBrowser();
  page = await browser.context.newPage();
  await page.goto(app.url);
  await page.getByTestId('count-accepted').filter({ hasText: '24' }).waitFor({ timeout: 120_000 });
});

after(async () => {
  if (skip) return;
  await browser.close();
  await app.stop();
  tmp.cleanup();
});

const saved = async (download: Download): Promise<Buffer> => readFileSync((await download.path())!);

test(
  'a print made on the server downloads from the page, one file or the whole batch, byte for byte',
  { skip },
  async () => {
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    const list = page.getByTestId('export-favourites');
    await list.getByText('Pica imaginaria').waitFor({ timeout: 30_000 });
    // The folder starts at the home's exports/, and a disabled button says why it is.
    const exportsFolder = join(home, 'exports');
    assert.equal(await page.getByLabel('Export folder').inputValue(), exportsFolder);
    const print = page.getByRole('button', { name: /^Export \d* ?prints?$/ });
    assert.equal(await print.isDisabled(), true);
    assert.equal(await page.getByTestId('why-print').innerText(), 'To print, tick at least one favourite.');
    assert.equal(await print.getAttribute('title'), 'tick at least one favourite');
    assert.equal(await page.getByTestId('why-timelapse').innerText(), 'For a time-lapse, choose a run.');
    await page.screenshot({ path: artifactPath('afar-export-why.png') });

    await list.getByRole('checkbox', { name: /Avis fictitia/ }).check();
    await list.getByRole('checkbox', { name: /Pica imaginaria/ }).check();
    assert.equal(await page.getByTestId('why-print').count(), 0, 'nothing to explain once it can print');
    await page.getByLabel('Paper', { exact: true }).selectOption('A5');
    await page.getByLabel('DPI', { exact: true }).selectOption('150');
    await page.getByLabel('Format', { exact: true }).selectOption('png');
    await page.getByRole('radio', { name: /^Lanczos/ }).check();
    await page.getByRole('button', { name: 'Export 2 prints' }).click();
    await page
      .getByTestId('export-progress')
      .getByText(/2 \/ 2.*done/)
      .waitFor({ timeout: 120_000 });

    const names = ['plate-001-avis-fictitia.png', 'plate-002-pica-imaginaria.png'];
    const written = page.getByTestId('export-written');
    for (const name of names) {
      const link = written.getByRole('link', { name, exact: true });
      const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
      assert.equal(download.suggestedFilename(), name);
      assert.deepEqual(await saved(download), readFileSync(join(exportsFolder, name)), `${name}: the bytes written`);
    }
    const [zip] = await Promise.all([
      page.waitForEvent('download'),
      written.getByRole('button', { name: 'Download all 2 as a zip' }).click(),
    ]);
    assert.match(zip.suggestedFilename(), /^plumage-prints-\d+\.zip$/);
    const entries = unzipSync(new Uint8Array(await saved(zip)));
    assert.deepEqual(Object.keys(entries).sort(), names);
    for (const name of names) assert.deepEqual(Buffer.from(entries[name]!), readFileSync(join(exportsFolder, name)));
    await page.screenshot({ path: artifactPath('afar-downloads.png') });
  },
);

test('two servers on 127.0.0.1: a page of one keeps its cookie while the other’s is set', { skip }, async () => {
  const otherDir = tempDir('browser-afar-other');
  const other = await serveApp(join(otherDir.dir, 'home'));
  try {
    const second = await browser.context.newPage();
    assert.equal((await second.goto(other.url))?.status(), 200);
    await second.close();
    // The first server's page, opened afresh without the token in its URL: its own cookie opens it.
    const { port } = new URL(app.url);
    const reply = await page.goto(`http://127.0.0.1:${port}/`);
    assert.equal(reply?.status(), 200, 'the other server’s cookie did not replace this one’s');
    await page.getByRole('button', { name: 'Dataset', exact: true }).waitFor();
    const link = await page.request.get(`http://127.0.0.1:${port}/exports/plate-001-avis-fictitia.png`);
    assert.equal(link.status(), 200, 'a download link rides on the cookie too');
    const cookies = await browser.context.cookies('http://127.0.0.1');
    assert.equal(new Set(cookies.map((c) => c.name)).size, 2, cookies.map((c) => c.name).join(', '));
  } finally {
    await other.stop();
    otherDir.cleanup();
  }
});

test(
  'the server gone: the page says its state is stale and switches its controls off; back, it says what paused the run',
  { skip },
  async () => {
    await page.goto(app.url);
    await page.getByRole('button', { name: 'Training', exact: true }).click();
    await page.getByLabel('Length (kimg)').fill('100');
    await page.getByLabel('Snapshot every (kimg)').fill('50');
    await page.getByLabel('Checkpoint every (kimg)').fill('0.016');
    await page.getByRole('button', { name: 'Create run' }).click();
    await page.getByRole('button', { name: 'Start' }).click();
    await page.getByTestId('run-state').filter({ hasText: 'Training' }).waitFor();
    await page.getByTestId('checkpoints').getByText(/kimg/).first().waitFor({ timeout: 120_000 });

    // Killed outright (no pause on the way out): the page's last word was "Training".
    const { port } = new URL(app.url);
    app.process.kill('SIGKILL');
    await page.getByTestId('connection-lost').waitFor({ timeout: 15_000 });
    const banner = await page.getByTestId('connection-lost').innerText();
    assert.match(banner, /The Plumage server is gone/);
    assert.match(banner, /may be out of date .* its controls are off until the server is back/s);
    assert.equal(await page.getByTestId('run-state').innerText(), 'Training (as last seen)');
    for (const name of ['Pause', 'Stop', 'Snapshot now', 'Create run', 'Dataset'])
      assert.equal(await page.getByRole('button', { name, exact: true }).isDisabled(), true, name);
    await page.keyboard.press('Control+Shift+P'); // the shortcut is off too: no request, no error
    assert.equal(await page.getByTestId('error-banner').count(), 0);
    await page.screenshot({ path: artifactPath('afar-stale.png') });

    // Started again with --port 0: the port it had, so this page finds it by itself.
    app = await serveApp(home, 0);
    assert.equal(new URL(app.url).port, port);
    await page.getByTestId('connection-lost').waitFor({ state: 'detached', timeout: 20_000 });
    await page
      .getByTestId('run-state')
      .filter({ hasText: /^Paused$/ })
      .waitFor({ timeout: 10_000 });
    const note = await page.getByTestId('paused-by').innerText();
    assert.match(note, /^Paused when the process training it died \(killed or crashed\), last heard of at /);
    const resume = page.getByRole('button', { name: /^Resume from \d+\.\d{3} kimg$/ });
    const kimg = /from (\d+\.\d{3}) kimg/.exec((await resume.innerText()) ?? '')![1];
    assert.ok(note.endsWith(`Resume continues from ${kimg} kimg.`), note);
    assert.equal(await resume.isDisabled(), false);
    await page.screenshot({ path: artifactPath('afar-reconnected.png') });
  },
);
