/// <reference lib="dom" />
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { artifactPath, chromiumMissing, launchBrowser, serveApp, type ServedApp } from '../helpers/browser.js';
import { CLI, tempDir } from '../helpers/paths.js';

// The UI tells the truth where the user is looking (issue 17, item 4), tried as a new user would.

const skip = chromiumMissing();
const run = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;
let app: ServedApp;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let page: Page;
let g4: string;
/** Responses of 400 and above while the page loaded. */
const failed: string[] = [];

before(async () => {
  if (skip) return;
  tmp = tempDir('browser-ui-truth');
  const home = join(tmp.dir, 'home');
  g4 = join(tmp.dir, 'g4.safetensors');
  const g5 = join(tmp.dir, 'g5.safetensors');
  await run(process.execPath, [CLI, 'init', '--preset', 'tiny', '--seed', '4', '--out', g4]);
  await run(process.execPath, [CLI, 'init', '--preset', 'tiny', '--seed', '5', '--out', g5]);
  // Favourite #1 comes from another generator file than the ones kept in the Gallery below.
  await run(process.execPath, [CLI, 'favourite', 'add', '--checkpoint', g5, '--seed', '2', '--name', 'Alia avis', '--home', home]); // prettier-ignore
  app = await serveApp(home);
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('response', (r) => r.status() >= 400 && failed.push(`${r.status()} ${new URL(r.url()).pathname}`));
  await page.goto(app.url);
  await page.getByTestId('count-accepted').filter({ hasText: '24' }).waitFor({ timeout: 120_000 });
});

after(async () => {
  if (skip) return;
  await browser.close();
  await app.stop();
  tmp.cleanup();
});

const inDialog = (p: Page): Promise<boolean> =>
  p.evaluate(() => document.activeElement?.closest('[data-testid="bird-detail"]') != null);

test('the sample plates say they are samples and how to use your own folder; the favicon loads', { skip }, async () => {
  const note = await page.getByTestId('samples-note').innerText();
  assert.match(note, /These are the 24 sample plates that come with Plumage/);
  assert.match(note, /To train on your own pictures, put them in a folder/);
  assert.match(note, /Folder of images above and press Use this folder/);
  const icon = await page.evaluate(async () => {
    const href = document.querySelector<HTMLLinkElement>('link[rel="icon"]')?.href;
    if (!href) return null;
    const r = await fetch(href);
    return { status: r.status, type: r.headers.get('content-type') };
  });
  assert.deepEqual(icon, { status: 200, type: 'image/svg+xml' });
  assert.deepEqual(failed, [], 'nothing the page asked for was missing');
  await page.screenshot({ path: artifactPath('ui-dataset-samples.png') });
});

test(
  'a run: Start is the next thing to press, the header shows it training on every view, legends show values, the Gallery draws its G_ema',
  { skip },
  async () => {
    await page.getByRole('button', { name: 'Training' }).click();
    await page.getByLabel('Length (kimg)').fill('100');
    await page.getByLabel('Snapshot every (kimg)').fill('0.016');
    await page.getByLabel('Checkpoint every (kimg)').fill('100');
    const create = page.getByRole('button', { name: 'Create run' });
    assert.match((await create.getAttribute('class')) ?? '', /primary/, 'with no run, creating one is the next step');
    await create.click();
    await page.getByTestId('run-state').filter({ hasText: 'Ready' }).waitFor();
    // Created is not started: Start is now the primary button, and has the focus.
    const start = page.getByTestId('start');
    assert.match((await start.getAttribute('class')) ?? '', /primary/);
    assert.doesNotMatch((await create.getAttribute('class')) ?? '', /primary/);
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'start');
    assert.match(await page.getByTestId('start-hint').innerText(), /created but not training yet: press Start/);
    await page.screenshot({ path: artifactPath('ui-training-created.png') });
    await start.click();
    await page
      .getByTestId('backend')
      .filter({ hasText: /Running on / })
      .waitFor({ timeout: 90_000 });

    // Chart legends show each series' latest value without a hover.
    await page.mouse.move(0, 0);
    await page.waitForFunction(
      () => {
        const values = Array.from(
          document.querySelectorAll('[data-testid="chart-losses"] .u-legend .u-series .u-value'),
        );
        const g = values[1]?.textContent ?? '--'; // [0] is kimg, [1] G's loss
        return Number.isFinite(Number.parseFloat(g));
      },
      undefined,
      { timeout: 120_000 },
    );
    for (const chart of ['chart-losses', 'chart-scores', 'chart-ada']) {
      const values = await page.locator(`[data-testid="${chart}"] .u-legend .u-series .u-value`).allInnerTexts();
      assert.ok(Number.isFinite(Number.parseFloat(values[0]!)), `${chart}: the kimg of the latest tick (${values[0]})`);
      assert.ok(Number.isFinite(Number.parseFloat(values[1]!)), `${chart}: a value, not "--" (${values.join(' ')})`);
    }
    await page.screenshot({ path: artifactPath('ui-training-legends.png'), fullPage: true });

    // On another view, the header says that the run trains and how far it is.
    await page.getByRole('button', { name: 'Gallery' }).click();
    const indicator = page.getByTestId('training-indicator');
    assert.match(await indicator.innerText(), /Training #1 · [\d.]+ \/ 100 kimg/);
    // The Gallery draws the run before it has any checkpoint: its G_ema, written with each grid.
    await page
      .getByTestId('gallery-source')
      .filter({ hasText: /run #1 · [\d.]+ kimg \(G_ema as it trains\)/ })
      .waitFor();
    await page.waitForFunction(
      () =>
        Array.from(document.querySelectorAll<HTMLImageElement>('[data-testid="bird-grid"] img')).filter(
          (i) => i.complete && i.naturalWidth > 0,
        ).length >= 4,
      undefined,
      { timeout: 120_000 },
    );
    const shown = await page.getByTestId('gallery-source').innerText();
    // As the run writes its next grid, a newer G_ema is offered.
    await page.getByTestId('gallery-newer').waitFor({ timeout: 120_000 });
    await page.screenshot({ path: artifactPath('ui-gallery-live.png') });
    await page.getByTestId('gallery-newer').getByRole('button', { name: 'Draw from it' }).click();
    await page.waitForFunction(
      (before) => document.querySelector('[data-testid="gallery-source"]')?.textContent?.trim() !== before.trim(),
      shown,
    );
    // Its birds' dialog says why there is no Evolution yet.
    await page.locator('[data-testid="bird-grid"] .bird:not([disabled])').first().click();
    assert.match(
      await page.getByTestId('evolution-later').innerText(),
      /appears once the run has written two checkpoints; it has none so far and writes one every 100 kimg or 10 min/,
    );
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Favourites', exact: true }).click();
    await indicator.waitFor();

    await page.getByRole('button', { name: 'Training' }).click();
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByTestId('run-state').filter({ hasText: 'Paused' }).waitFor({ timeout: 90_000 });
    // Paused, nothing runs: the page says where it last ran, not that it is running.
    assert.match(await page.getByTestId('backend').innerText(), /^Last ran on .*\(paused: nothing is training now\)/);
    await indicator.waitFor({ state: 'detached' });
    await page.screenshot({ path: artifactPath('ui-training-paused.png') });
  },
);

test(
  'the bird dialog takes the focus and gives it back; tiles are named; a mix shows its donor; a note stays with its bird',
  { skip },
  async () => {
    await page.getByRole('button', { name: 'Gallery' }).click();
    await page.getByPlaceholder('/path/to/generator.safetensors').fill(g4);
    await page.getByRole('button', { name: 'Open file' }).click();
    const tile = page.getByRole('button', {
      name: 'Bird, seed 0, ψ 0.70, from g4.safetensors: open it to keep, name or style-mix it',
      exact: true,
    });
    await tile.waitFor({ timeout: 120_000 });
    await page.waitForFunction(
      () => !document.querySelector('[data-testid="bird-grid"] .bird')?.hasAttribute('disabled'),
    );

    await tile.click();
    const detail = page.getByTestId('bird-detail');
    await detail.waitFor();
    assert.ok(await inDialog(page), 'the focus moved into the dialog');
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      assert.ok(await inDialog(page), `Tab ${i + 1} stayed in the dialog, not on the tiles behind it`);
    }
    await page.keyboard.press('Escape');
    await detail.waitFor({ state: 'detached' });
    assert.equal(
      await page.evaluate(() => document.activeElement?.getAttribute('aria-label')),
      'Bird, seed 0, ψ 0.70, from g4.safetensors: open it to keep, name or style-mix it',
      'the focus went back to the tile',
    );

    await tile.click();
    await page.waitForFunction(
      () => (document.querySelector<HTMLInputElement>('[data-testid="fav-name"]')?.value ?? '') !== '',
    );
    await detail.getByLabel('Note').fill('first bird');
    await page.getByTestId('favourite').click();
    await page.getByTestId('saved').waitFor();
    assert.equal(await detail.getByLabel('Note').inputValue(), '', 'the kept note is not offered for the next bird');
    await page.getByTestId('mix-seed').fill('1003');
    await page.getByTestId('mix-layers').selectOption('coarse');
    await detail.getByRole('button', { name: 'Mix', exact: true }).click();
    await page.getByTestId('mix-donor').waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId('mix-donor').innerText(), 'layers 4-8 (coarse) from seed 1003');
    assert.equal(await page.getByTestId('mix-caption').innerText(), 'seed 0 with layers 4-8 from seed 1003');
    assert.equal(await detail.getByLabel('Note').inputValue(), '');
    await detail.getByLabel('Note').fill('a mix');
    await page.getByTestId('favourite').filter({ hasText: 'the mix' }).click();
    await page.getByTestId('saved').filter({ hasText: '#3' }).waitFor();
    await page.waitForFunction(() =>
      Array.from(document.querySelectorAll<HTMLImageElement>('[data-testid="bird-detail"] img.large')).every(
        (i) => i.complete,
      ),
    );
    await page.screenshot({ path: artifactPath('ui-bird-dialog-mix.png') });
    await detail.getByRole('button', { name: 'Close' }).click();

    // The next bird starts clean.
    await page.getByRole('button', { name: /^Bird, seed 1, / }).click();
    await detail.waitFor();
    assert.equal(await detail.getByLabel('Note').inputValue(), '');
    assert.equal(await page.getByTestId('saved').count(), 0);
    await page.keyboard.press('Escape');
  },
);

test(
  'favourites say when an edit is saved; a mix interpolates in W; an interpolation error is said beside its controls',
  { skip },
  async () => {
    await page.getByRole('button', { name: 'Favourites', exact: true }).click();
    const list = page.getByTestId('favourite-list');
    await list.locator('li').nth(2).waitFor();
    // Newest first: #3 (the mix), #2 (seed 0 of g4), #1 (g5).
    const name2 = list.locator('li').nth(1).getByLabel('name');
    await name2.fill('Avis prima');
    await name2.press('Tab');
    await page.getByTestId('saved-name-2').filter({ hasText: 'Saved ✓' }).waitFor();
    const note2 = list.locator('li').nth(1).getByLabel('note');
    await note2.fill('the first one kept');
    await note2.press('Tab');
    await page.getByTestId('saved-note-2').filter({ hasText: 'Saved ✓' }).waitFor();

    const form = page.getByTestId('interpolate');
    await list.getByLabel('select Avis prima').check();
    await form.getByLabel('Space').selectOption('z');
    assert.equal(await form.getByLabel('Space').inputValue(), 'z');
    // Selecting the style mix: Z cannot carry it, so W is chosen and Z is not offered.
    await list.locator('li').nth(0).getByRole('checkbox').check();
    assert.equal(await form.getByLabel('Space').inputValue(), 'w');
    assert.equal(await form.locator('option[value="z"]').isDisabled(), true);
    assert.match(await page.getByTestId('interp-w-only').innerText(), /has no single z, so it is interpolated in W/);
    await form.getByLabel('Frames').fill('4');
    await form.getByRole('button', { name: 'Preview' }).click();
    await page.getByTestId('strip').waitFor({ timeout: 60_000 });

    // A bird of another generator file cannot join: the reason appears in the interpolation's own
    // form, and the strip of the earlier selection is gone.
    await list.getByLabel('select Alia avis').check();
    await form.getByRole('button', { name: 'Preview' }).click();
    const error = form.getByTestId('interp-error');
    await error.waitFor();
    assert.match(await error.innerText(), /come from 2 different generator files; an interpolation needs one/);
    assert.equal(await page.getByTestId('strip').count(), 0, 'no strip left that looks valid');
    assert.equal(await page.locator('.favourites > p.error').count(), 0, 'nothing at the top of the page');
    await page.screenshot({ path: artifactPath('ui-favourites-interpolation-error.png') });
  },
);

test(
  'the Export view says a 32² bird prints soft on A4, picks Lanczos, and offers a paper that is not',
  { skip },
  async () => {
    await page.locator('header').getByRole('button', { name: 'Export', exact: true }).click();
    await page.getByLabel('All (3)').check();
    const advice = page.getByTestId('print-advice');
    await advice.locator('li.soft').waitFor();
    const text = await advice.innerText();
    assert.match(text, /Plates 1, 2, 3 \(32²\): 18\.1 px per inch on A4 after ×4 — Lanczos\./);
    assert.match(text, /Under 50: they will print visibly soft whichever upscaler\./);
    await page.screenshot({ path: artifactPath('ui-export-advice.png') });
    await advice.getByRole('button', { name: 'Use 95 × 135 mm (50 px per inch)' }).click();
    assert.equal(await page.getByLabel('Paper', { exact: true }).inputValue(), 'custom');
    await advice
      .locator('li:not(.soft)')
      .filter({ hasText: '50 px per inch on 95 × 135 mm after ×4 — Lanczos.' })
      .waitFor();
    assert.equal(await advice.locator('li.soft').count(), 0);
  },
);
