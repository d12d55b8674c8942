/// <reference lib="dom" />
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { artifactPath, chromiumMissing, launchBrowser, serveApp, type ServedApp } from '../helpers/browser.js';
import { tempDir } from '../helpers/paths.js';
import { plate, writePlates } from '../helpers/plates.js';

const skip = chromiumMissing();
let tmp: ReturnType<typeof tempDir>;
let app: ServedApp;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let page: Page;
let folder: string;
/** 103 distinct plates, for the virtualised grid. */
let many: string;
let lastOfMany: string;

before(async () => {
  if (skip) return;
  tmp = tempDir('browser');
  folder = join(tmp.dir, 'my plates');
  mkdirSync(folder);
  for (const p of [
    'plate-100-marsh-wren.jpg',
    'plate-128-cat-bird.jpg',
    'plate-113-blue-bird.jpg',
    'plate-196-labrador-falcon.jpg',
  ]) {
    copyFileSync(plate(p), join(folder, p));
  }
  copyFileSync(plate('plate-100-marsh-wren.jpg'), join(folder, 'marsh wren again.jpg'));
  writeFileSync(join(folder, 'caption.jpg'), 'Plate C. Marsh Wren — the caption, saved with the wrong name');
  many = join(tmp.dir, 'many plates');
  mkdirSync(many);
  lastOfMany = writePlates(many, 103).at(-1)!;
  app = await serveApp(join(tmp.dir, 'home'));
  browser = await launchBrowser();
  page = await browser.context.newPage();
});

after(async () => {
  if (skip) return;
  await browser.close();
  await app.stop();
  tmp.cleanup();
});

const count = (which: string): Promise<string> => page.getByTestId(`count-${which}`).innerText();

test('first start shows the bundled sample plates, with thumbnails', { skip }, async () => {
  await page.goto(app.url);
  await page.getByTestId('count-accepted').filter({ hasText: '24' }).waitFor({ timeout: 60_000 });
  await page.getByText(/Watching/).waitFor();
  await page.waitForFunction(() => {
    const imgs = Array.from(document.querySelectorAll<HTMLImageElement>('[data-testid="thumb-grid"] img'));
    return imgs.length >= 12 && imgs.every((i) => i.complete && i.naturalWidth === 128);
  });
  await page.screenshot({ path: artifactPath('dataset-samples.png') });
});

test('choosing a folder ingests it: counts, thumbnails and rejected reasons appear', { skip }, async () => {
  await page.getByLabel('Folder of images').fill(folder);
  await page.getByLabel('Resolution').selectOption('128');
  await page.getByLabel('Crop').selectOption('subject');
  await page.getByRole('button', { name: 'Use this folder' }).click();
  await page.getByTestId('count-accepted').filter({ hasText: /^4$/ }).waitFor({ timeout: 30_000 });
  assert.equal(await count('rejected'), '1');
  assert.equal(await count('duplicates'), '1');
  await page.waitForFunction(() => {
    const imgs = Array.from(document.querySelectorAll<HTMLImageElement>('[data-testid="thumb-grid"] img'));
    return imgs.length === 4 && imgs.every((i) => i.complete && i.naturalWidth === 128);
  });
  await page.screenshot({ path: artifactPath('dataset-folder.png') });

  await page.getByRole('button', { name: /rejected/ }).click();
  const rejected = page.getByTestId('rejected-list');
  await rejected.getByText('caption.jpg').waitFor();
  assert.match(await rejected.innerText(), /caption\.jpg\s+not an image \(the file holds text\)/);
  await page.getByRole('button', { name: /duplicates/ }).click();
  const dup = (await page.getByTestId('duplicate-list').innerText()).replace(/\s+/g, ' ').trim();
  assert.ok(
    [
      'marsh wren again.jpg same as plate-100-marsh-wren.jpg',
      'plate-100-marsh-wren.jpg same as marsh wren again.jpg',
    ].includes(dup),
    dup,
  );
  await page.screenshot({ path: artifactPath('dataset-rejected.png') });
});

test('the thumbnail grid is virtualised: 103 plates, only the rows in view exist', { skip }, async () => {
  await page.getByLabel('Folder of images').fill(many);
  await page.getByLabel('Resolution').selectOption('64');
  await page.getByLabel('Crop').selectOption('centre');
  await page.getByRole('button', { name: 'Use this folder' }).click();
  await page.getByTestId('count-accepted').filter({ hasText: /^103$/ }).waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: /accepted/ }).click();
  const grid = page.getByTestId('thumb-grid');
  await grid.locator('figure img').first().waitFor();
  const rendered = await grid.locator('figure').count();
  assert.ok(rendered > 0 && rendered < 103, `${rendered} cells in the DOM for 103 plates`);
  await grid.evaluate((el) => (el.scrollTop = el.scrollHeight));
  // The last plate by name is drawn once scrolled to (and its thumbnail loads).
  const lastPlate = grid.locator('figure', { hasText: lastOfMany });
  await lastPlate.waitFor();
  await lastPlate
    .locator('img')
    .evaluate((img: HTMLImageElement) => (img.complete ? null : new Promise((r) => (img.onload = r))));
  assert.ok((await grid.locator('figure').count()) < 103, 'still only the rows in view');
  await page.screenshot({ path: artifactPath('dataset-103-scrolled.png') });
  // back to the small folder for the next test
  await page.getByLabel('Folder of images').fill(folder);
  await page.getByLabel('Resolution').selectOption('128');
  await page.getByLabel('Crop').selectOption('subject');
  await page.getByRole('button', { name: 'Use this folder' }).click();
  await page.getByTestId('count-accepted').filter({ hasText: /^4$/ }).waitFor({ timeout: 30_000 });
});

test('the watched folder updates the page by itself', { skip }, async () => {
  await page.getByRole('button', { name: /accepted/ }).click();
  copyFileSync(plate('plate-14-prairie-warbler.jpg'), join(folder, 'new arrival.jpg'));
  await page.getByTestId('count-accepted').filter({ hasText: /^5$/ }).waitFor({ timeout: 15_000 });
});

test('a folder that does not exist gets a clear error, and the About box carries the credit', { skip }, async () => {
  await page.getByLabel('Folder of images').fill(join(tmp.dir, 'no such folder'));
  await page.getByRole('button', { name: 'Use this folder' }).click();
  await page
    .getByRole('alert')
    .filter({ hasText: /folder not found: .*no such folder/ })
    .waitFor();
  await page.getByRole('button', { name: 'About' }).click();
  const about = page.getByTestId('about');
  await about.getByText(/Courtesy of the John James Audubon Center at Mill Grove/).waitFor();
  await page.screenshot({ path: artifactPath('about.png') });
});
