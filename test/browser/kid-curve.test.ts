/// <reference lib="dom" />
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { artifactPath, chromiumMissing, openStudioPage, type StudioPage } from '../helpers/browser.js';

const skip = chromiumMissing();
let studio: StudioPage;
let page: Page;

before(async () => {
  if (skip) return;
  studio = await openStudioPage('browser-kid');
  ({ page } = studio);
});

after(async () => {
  if (!skip) await studio.close();
});

/** Series labels of the KID chart's legend, as shown. */
const legend = (): Promise<string[]> =>
  page.locator('[data-testid="chart-kid"] .u-legend .u-series .u-label').allInnerTexts();

test('each checkpoint’s KID is drawn beside the losses with its plain label and spread', { skip }, async () => {
  await page.getByRole('button', { name: 'Training' }).click();
  await page.getByLabel('Length (kimg)').fill('0.032');
  await page.getByLabel('Snapshot every (kimg)').fill('0.016');
  await page.getByLabel('Checkpoint every (kimg)').fill('0.016');
  await page.getByText('Advanced').click();
  assert.ok(await page.getByLabel(/Score each checkpoint/).isChecked(), 'on by default');
  await page.getByLabel(/Birds per score/).fill('8');
  await page.getByRole('button', { name: 'Create run' }).click();
  await page.getByTestId('run-state').filter({ hasText: 'Ready' }).waitFor();
  await page.getByRole('button', { name: 'Start' }).click();
  // Before a score lands, the panel says what will come (and never calls it a FID).
  await page.getByTestId('kid-hint').waitFor({ timeout: 120_000 });
  assert.match(await page.getByTestId('kid-hint').innerText(), /Plumage KID \(InceptionV3 mixed5, 8 images\)/);
  // Two checkpoints (0.016 and 0.032 kimg), two points: live, from the checkpointScored events.
  await page.waitForFunction(
    () => {
      const note = document.querySelector('[data-testid="kid-note"]')?.textContent ?? '';
      return document.querySelector('[data-testid="chart-kid"] canvas') && /at 0\.032 kimg/.test(note);
    },
    undefined,
    { timeout: 1_200_000 },
  );
  assert.equal(
    await page.locator('[data-testid="chart-kid"] .u-title').innerText(),
    'Plumage KID (InceptionV3 mixed5, 8 images)',
  );
  assert.deepEqual(await legend(), ['kimg', '#1 (this run)', '− spread', '+ spread']);
  const note = await page.getByTestId('kid-note').innerText();
  assert.match(note, /not comparable with published FID or KID figures/);
  assert.match(note, /Latest: \d\.\d{4} ± \d\.\d{4} at 0\.032 kimg; memorisation \d+\.\d %/);
  await page.getByTestId('chart-kid').scrollIntoViewIfNeeded();
  await page.screenshot({ path: artifactPath('kid-curve.png'), fullPage: true });
});
