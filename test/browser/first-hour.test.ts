/// <reference lib="dom" />
/**
 * The first hour of a new user, on the bundled sample plates: open, ingest, create a tiny run,
 * start it, see the first grid and curves, pause, resume, play the time-lapse to its end and see
 * the view follow the live grid again, enlarge the grid, fork, stop — each step screenshotted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { artifactPath, chromiumMissing, openStudioPage, type StudioPage } from '../helpers/browser.js';
import { SAMPLE_PLATES } from '../helpers/paths.js';

const skip = chromiumMissing();
let studio: StudioPage;
let page: Page;

before(async () => {
  if (skip) return;
  studio = await openStudioPage('browser-first-hour');
  ({ page } = studio);
});

after(async () => {
  if (!skip) await studio.close();
});

const shot = (name: string): Promise<Buffer> => page.screenshot({ path: artifactPath(`first-hour-${name}.png`) });
const text = (testid: string): Promise<string> => page.getByTestId(testid).innerText();
const gridKimg = (): Promise<number> =>
  page.getByTestId('grid').evaluate((img) => Number((img as HTMLImageElement).dataset.kimg));

test('a folder that is not there: the error stands alone, not under the old "Watching …" line', { skip }, async () => {
  await page.getByLabel('Folder of images').fill(join(studio.dir, 'no such plates'));
  await page.getByRole('button', { name: 'Use this folder' }).click();
  await page
    .getByRole('alert')
    .filter({ hasText: /folder not found: .*no such plates/ })
    .waitFor();
  assert.equal(await page.getByText(/^Watching/).count(), 0);
  await shot('1-missing-folder');
});

test('open the sample plates at 64², subject crop; the Training form defaults to that dataset', { skip }, async () => {
  await page.getByLabel('Folder of images').fill(SAMPLE_PLATES);
  await page.getByLabel('Resolution').selectOption('64');
  await page.getByLabel('Crop').selectOption('subject');
  await page.getByRole('button', { name: 'Use this folder' }).click();
  await page.getByTestId('count-accepted').filter({ hasText: /^24$/ }).waitFor({ timeout: 120_000 });
  await page.getByText(/^Watching/).waitFor({ timeout: 60_000 });
  await shot('2-ingested');
  // A thumbnail opens the file large, with its path.
  await page.getByTestId('thumb-grid').locator('button').first().click();
  const dialog = page.getByTestId('source-dialog');
  await dialog.getByTestId('source-preview').waitFor();
  await page.waitForFunction(() => {
    const img = document.querySelector<HTMLImageElement>('[data-testid="source-preview"]');
    return img?.complete && img.naturalWidth > 128;
  });
  assert.match(await dialog.getByTestId('source-file').innerText(), /sample-plates\/plate-.*\.jpg$/);
  await shot('2b-source-preview');
  await dialog.getByRole('button', { name: 'Close' }).click();
  // Both datasets of the samples are listed (256² centre from the first start, 64² subject); forget one.
  const list = page.getByTestId('dataset-list');
  assert.equal(await list.locator('li').count(), 2);
  page.once('dialog', (d) => void d.accept());
  await list.locator('li', { hasText: '256² · centre' }).getByRole('button', { name: 'Forget…' }).click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="dataset-list"] li').length === 1);
  assert.match(await list.innerText(), /64² · subject · 24 images/);
  await page.getByRole('button', { name: 'Training' }).click();
  const chosen = await page.locator('select[name="dataset"] option:checked').innerText();
  assert.match(chosen, /sample-plates · 64² · subject · 24 images/);
  assert.match(await text('tiny-hint'), /tiny trains at 32² from any dataset/);
});

test(
  'create a tiny run and start it: the charts say what will appear, then the first grid and curves',
  { skip },
  async () => {
    await page.getByLabel('Length (kimg)').fill('100');
    await page.getByLabel('Snapshot every (kimg)').fill('0.016');
    await page.getByLabel('Checkpoint every (kimg)').fill('0.032');
    await page.getByRole('button', { name: 'Create run' }).click();
    await page.getByTestId('run-state').filter({ hasText: 'Ready' }).waitFor();
    assert.match(await text('charts-hint'), /drawn here from the first tick/);
    assert.equal(await page.getByTestId('chart-losses').count(), 0, 'no empty chart frames before the first tick');
    assert.equal(await page.getByTestId('eta').count(), 0, 'no ETA before it trains');
    await shot('3-created');

    await page.getByRole('button', { name: 'Start' }).click();
    await page.getByTestId('run-state').filter({ hasText: 'Training' }).waitFor();
    await page.waitForFunction(
      () => {
        const img = document.querySelector<HTMLImageElement>('[data-testid="grid"]');
        return img?.complete && img.naturalWidth > 0 && document.querySelector('[data-testid="chart-ada"] canvas');
      },
      undefined,
      { timeout: 120_000 },
    );
    // Two ticks: a measured speed, so the ETA and the training time show.
    await page.getByTestId('eta').waitFor({ timeout: 60_000 });
    // The kimg figure and the runs list follow the ticks (not the checkpoints).
    await page.waitForFunction(
      () => {
        const big = document.querySelector('[data-testid="kimg"]')?.textContent ?? '';
        const list = document.querySelector('[data-testid="runs"] .meta')?.textContent ?? '';
        return Number(big) > 0 && list.includes(`${Number(big).toFixed(2)} / 100 kimg`);
      },
      undefined,
      { timeout: 30_000 },
    );
    assert.ok(await page.getByTestId('chart-scores').locator('canvas').count());
    assert.equal(await page.getByTestId('charts-hint').count(), 0);
    await shot('4-first-grid-and-curves');
  },
);

test('pause: no ETA, and the training time stands still; resume carries on', { skip }, async () => {
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await page.getByTestId('run-state').filter({ hasText: 'Paused' }).waitFor({ timeout: 60_000 });
  assert.equal(await page.getByTestId('eta').count(), 0, 'no ETA while paused');
  const pausedAt = await text('elapsed');
  await page.waitForTimeout(3000);
  assert.equal(await text('elapsed'), pausedAt, 'paused time is not training time');
  assert.match(
    (await page.getByRole('button', { name: 'Pause', exact: true }).getAttribute('title')) ?? '',
    /writes a checkpoint/,
  );
  assert.match(
    (await page.getByRole('button', { name: 'Stop', exact: true }).getAttribute('title')) ?? '',
    /ends the run early/,
  );
  await shot('5-paused');
  // Resume says where it continues from: the checkpoint the pause wrote.
  await page.getByRole('button', { name: /^Resume from \d+\.\d{3} kimg$/ }).click();
  await page.getByTestId('run-state').filter({ hasText: 'Training' }).waitFor({ timeout: 30_000 });
  await page.getByTestId('eta').waitFor({ timeout: 60_000 });
});

test('play the time-lapse to its end: the view follows the live grid again', { skip }, async () => {
  await page.waitForFunction(
    () => Number(document.querySelector<HTMLInputElement>('[data-testid="scrubber"]')?.max) >= 2,
    undefined,
    { timeout: 120_000 },
  );
  await page.getByTestId('play').click();
  await page.getByTestId('latest').waitFor(); // playing: pinned to a past frame
  await shot('6-playing');
  await page.getByTestId('following').waitFor({ timeout: 60_000 });
  const atEnd = await gridKimg();
  // A new snapshot shows by itself, with no click on "Latest".
  await page.waitForFunction(
    (k) => Number(document.querySelector<HTMLImageElement>('[data-testid="grid"]')?.dataset.kimg) > k,
    atEnd,
    { timeout: 120_000 },
  );
  await shot('7-following-live');
});

test('the grid enlarges crisply (whole-number, nearest-neighbour) and can be saved', { skip }, async () => {
  await page.getByTestId('grid-enlarge').click();
  const large = page.getByTestId('grid-large');
  await large.waitFor();
  const { natural, shown, rendering } = await large.evaluate((img) => {
    const i = img as HTMLImageElement;
    return {
      natural: i.naturalWidth,
      shown: i.getBoundingClientRect().width,
      rendering: getComputedStyle(i).imageRendering,
    };
  });
  assert.ok(natural > 0 && shown >= 2 * natural, `enlarged: ${natural} px shown at ${shown} px`);
  assert.equal(shown % natural, 0, 'a whole-number scale');
  assert.equal(rendering, 'pixelated');
  const download = page.waitForEvent('download');
  await page.getByTestId('save-enlarged').click();
  const file = await download;
  assert.match(file.suggestedFilename(), /^run-1-[\d.]+kimg-x\d+\.png$/);
  await shot('8-enlarged');
  await page.getByTestId('grid-dialog').getByRole('button', { name: 'Close' }).click();
});

test('fork copies the length and intervals and says the length is a total', { skip }, async () => {
  await page.getByRole('button', { name: 'Fork…' }).click();
  assert.equal(await page.getByLabel('Length (kimg, total)').inputValue(), '100');
  assert.equal(await page.getByLabel('Snapshot every (kimg)').inputValue(), '0.016');
  assert.equal(await page.getByLabel('Checkpoint every (kimg)').inputValue(), '0.032');
  assert.match(await text('fork-length'), /the fork starts at [\d.]+ kimg, so it trains [\d.]+ kimg more/);
  await page.getByRole('button', { name: 'Cancel fork' }).click();
});

test('at 820 px the toolbar wraps and the runs list keeps one line per run; stop', { skip }, async () => {
  await page.setViewportSize({ width: 820, height: 860 });
  const del = await page.getByRole('button', { name: 'Delete…' }).boundingBox();
  assert.ok(del && del.x + del.width <= 820, `Delete… is inside the window (${JSON.stringify(del)})`);
  const name = page.getByTestId('runs').locator('.name').first();
  const lineHeight = await name.evaluate((el) => parseFloat(getComputedStyle(el).lineHeight) || 16);
  assert.ok((await name.boundingBox())!.height < 2 * lineHeight, 'the run name stays on one line');
  await shot('9-narrow');
  await page.setViewportSize({ width: 1280, height: 860 });
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await page.getByTestId('run-state').filter({ hasText: 'Stopped' }).waitFor({ timeout: 60_000 });
  assert.equal(await page.getByTestId('eta').count(), 0, 'no ETA once stopped');
  await shot('10-stopped');
});
