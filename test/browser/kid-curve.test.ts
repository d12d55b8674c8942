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

/** The KID panel's text (hint, note, error) and the run states listed: what a failure shows. */
const panelText = async (): Promise<string> =>
  `${await page.getByTestId('kid-panel').innerText()} | runs: ${await page.getByTestId('runs').innerText()}`;

/** Waits for the KID note to name a score at `kimg`; a timeout says what the panel showed instead. */
async function scoreAt(kimg: string, screenshot: string): Promise<void> {
  const t0 = Date.now();
  try {
    await page.waitForFunction(
      (k) => {
        const note = document.querySelector('[data-testid="kid-note"]')?.textContent ?? '';
        return document.querySelector('[data-testid="chart-kid"] canvas') !== null && note.includes(`at ${k} kimg`);
      },
      kimg,
      { timeout: 1_200_000 },
    );
  } catch (err) {
    await page.screenshot({ path: artifactPath(screenshot), fullPage: true });
    throw new Error(`${(err as Error).message}; the panel showed: ${await panelText()}`);
  }
  console.log(
    `# the score at ${kimg} kimg reached the chart ${((Date.now() - t0) / 1000).toFixed(0)} s after it was asked for`,
  );
}

test(
  'each checkpoint’s KID is drawn beside the losses with its plain label and spread; a fork shares the chart',
  { skip },
  async () => {
    await page.getByRole('button', { name: 'Training' }).click();
    await page.getByLabel('Length (kimg)').fill('0.032');
    await page.getByLabel('Snapshot every (kimg)').fill('0.016');
    await page.getByLabel('Checkpoint every (kimg)').fill('0.016');
    await page.getByText('Advanced').click();
    assert.ok(await page.getByLabel(/Score each checkpoint/).isChecked(), 'on by default');
    await page.getByLabel(/Birds per score/).fill('4');
    await page.getByRole('button', { name: 'Create run' }).click();
    await page.getByTestId('run-state').filter({ hasText: 'Ready' }).waitFor();
    await page.getByRole('button', { name: 'Start' }).click();
    // Before a score lands, the panel says what will come (and never calls it a FID).
    await page.getByTestId('kid-hint').waitFor({ timeout: 120_000 });
    assert.match(await page.getByTestId('kid-hint').innerText(), /Plumage KID \(InceptionV3 mixed5, 4 images\)/);
    // Checkpoints at 0.016 and 0.032 kimg: live, from the checkpointScored events.
    await scoreAt('0.032', 'kid-curve-failed.png');
    assert.equal(
      await page.locator('[data-testid="chart-kid"] .u-title').innerText(),
      'Plumage KID (InceptionV3 mixed5, 4 images)',
    );
    assert.deepEqual(await legend(), ['kimg', '#1 (this run)', '− spread', '+ spread']);
    const note = await page.getByTestId('kid-note').innerText();
    assert.match(note, /not comparable with published FID or KID figures/);
    assert.match(note, /Latest: \d\.\d{4} ± \d\.\d{4} at 0\.032 kimg; memorisation \d+\.\d %/);
    await page.getByTestId('chart-kid').scrollIntoViewIfNeeded();
    await page.screenshot({ path: artifactPath('kid-curve.png'), fullPage: true });

    // A fork continues from the last checkpoint with the same score: both runs on its chart.
    await page.getByRole('button', { name: 'Fork…' }).click();
    await page.getByLabel('Length (kimg, total)').fill('0.048');
    assert.equal(await page.getByLabel(/Birds per score/).inputValue(), '4', 'the parent’s birds per score');
    await page.getByRole('button', { name: 'Create run' }).click();
    await page.getByTestId('run-state').filter({ hasText: 'Ready' }).waitFor();
    // Before it has trained a tick, the fork's chart already shows its parent's scores. (The chart
    // stood behind the first tick: on a quick machine this fork's two steps end before a tick, and
    // its KID never showed at all.)
    assert.equal(await page.getByTestId('charts-hint').count(), 1, 'no tick yet');
    await page.locator('[data-testid="chart-kid"] canvas').waitFor();
    assert.ok(
      (await legend()).some((l) => l.startsWith('#1 ')),
      `the parent's curve on the fork's chart: ${(await legend()).join(', ')}`,
    );
    await page.getByRole('button', { name: 'Start' }).click();
    await scoreAt('0.048', 'kid-curve-forks-failed.png');
    const forked = await legend();
    assert.deepEqual(forked.slice(0, 4), ['kimg', '#2 (this run)', '− spread', '+ spread']);
    assert.match(forked[4] ?? '', /^#1 /, 'the parent run on the same chart, named in the legend');
    assert.equal(forked.length, 5);
    assert.match(await page.getByTestId('kid-note').innerText(), /and the 1 other run of this lineage/);
    await page.getByTestId('chart-kid').scrollIntoViewIfNeeded();
    await page.screenshot({ path: artifactPath('kid-curve-forks.png'), fullPage: true });
  },
);
