/// <reference lib="dom" />
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PDFDocument } from 'pdf-lib';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { artifactPath, chromiumMissing, launchBrowser, serveApp, type ServedApp } from '../helpers/browser.js';
import { keepFavourites, tinyGenerator, TWO_BIRDS } from '../helpers/favourites.js';
import { tempDir } from '../helpers/paths.js';

const skip = chromiumMissing();
let tmp: ReturnType<typeof tempDir>;
let app: ServedApp;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let page: Page;
let out: string;

before(async () => {
  if (skip) return;
  tmp = tempDir('browser-export');
  const home = join(tmp.dir, 'home');
  out = join(tmp.dir, 'prints');
  mkdirSync(out);
  // Two real favourites of a tiny generator, kept through the CLI before the server owns the home.
  const generator = await tinyGenerator(join(tmp.dir, 'g.safetensors'), 2);
  await keepFavourites(home, generator, TWO_BIRDS);
  // A third favourite whose generator file is then lost.
  const lost = await tinyGenerator(join(tmp.dir, 'lost.safetensors'), 4);
  await keepFavourites(home, lost, [['1', 'Lost bird']]);
  rmSync(lost);
  app = await serveApp(home);
  browser = await launchBrowser();
  page = await browser.context.newPage();
});

after(async () => {
  if (skip) return;
  await browser.close();
  await app.stop();
  tmp.cleanup();
});

test(
  'Favourites → Export…: the Export view opens with exactly the selected favourites, and prints them as PDFs',
  { skip },
  async () => {
    await page.goto(app.url);
    await page.getByRole('button', { name: 'Favourites', exact: true }).click();
    const favs = page.getByTestId('favourite-list');
    await favs.getByRole('checkbox', { name: 'select Lost bird' }).waitFor({ timeout: 30_000 });
    const exportButton = page.getByRole('button', { name: 'Export…', exact: true });
    assert.equal(await exportButton.isDisabled(), true, 'nothing selected: nothing to export');
    await favs.getByRole('checkbox', { name: 'select Avis fictitia' }).check();
    await favs.getByRole('checkbox', { name: 'select Pica imaginaria' }).check();
    await page.getByTestId('favourite-count').getByText('3 favourites · 2 selected').waitFor();
    await favs.getByRole('img', { name: 'Pica imaginaria' }).waitFor({ timeout: 60_000 });
    await page.screenshot({ path: artifactPath('favourites-export-selected.png') });
    await exportButton.click();

    // The Export view, with those two ticked and the third not.
    const list = page.getByTestId('export-favourites');
    const ticked = async (name: RegExp): Promise<boolean> => list.getByRole('checkbox', { name }).isChecked();
    await list.getByText('Lost bird').waitFor({ timeout: 30_000 });
    assert.deepEqual(
      [await ticked(/Avis fictitia/), await ticked(/Pica imaginaria/), await ticked(/Lost bird/)],
      [true, true, false],
    );
    await page.getByRole('button', { name: 'Export 2 prints' }).waitFor();

    const pdfs = join(tmp.dir, 'pdfs');
    mkdirSync(pdfs);
    await page.getByLabel('Paper', { exact: true }).selectOption('A5');
    await page.getByLabel('DPI', { exact: true }).selectOption('150');
    await page.getByLabel('Format', { exact: true }).selectOption('pdf');
    await page.getByLabel('Export folder').fill(pdfs);
    await page.screenshot({ path: artifactPath('favourites-export-handed-over.png') });
    await page.getByRole('button', { name: 'Export 2 prints' }).click();
    await page
      .getByTestId('export-progress')
      .getByText(/2 \/ 2.*done/)
      .waitFor({ timeout: 120_000 });
    await page.screenshot({ path: artifactPath('favourites-export-done.png') });

    const files = ['plate-001-avis-fictitia.pdf', 'plate-002-pica-imaginaria.pdf'];
    assert.deepEqual(readdirSync(pdfs).sort(), files);
    for (const f of files) {
      const pdf = await PDFDocument.load(readFileSync(join(pdfs, f)));
      assert.equal(pdf.getPageCount(), 1, f);
      const { width, height } = pdf.getPage(0).getSize();
      // A5 portrait: 148 × 210 mm = 419.53 × 595.28 pt.
      assert.deepEqual([width.toFixed(2), height.toFixed(2)], ['419.53', '595.28'], f);
    }
  },
);

test(
  'Export: choose favourites and paper, watch the progress, get the files; asked before replacing',
  { skip },
  async () => {
    await page.goto(app.url);
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    const list = page.getByTestId('export-favourites');
    await list.getByText('Avis fictitia').waitFor({ timeout: 30_000 });
    // What each upscaler does is said where the choice is made.
    await page.getByText(/invents plausible fine detail/).waitFor();
    await page.getByText(/adds no detail/).waitFor();

    await list.getByRole('checkbox', { name: /Avis fictitia/ }).check();
    await list.getByRole('checkbox', { name: /Pica imaginaria/ }).check();
    await page.getByLabel('Paper', { exact: true }).selectOption('A5');
    await page.getByLabel('DPI', { exact: true }).selectOption('150');
    await page.getByLabel('Format', { exact: true }).selectOption('png');
    await page.getByLabel('Export folder').fill(out);
    await page.screenshot({ path: artifactPath('export-options.png') });
    await page.getByRole('button', { name: 'Export 2 prints' }).click();

    const progress = page.getByTestId('export-progress');
    await progress.getByText(/2 \/ 2.*done/).waitFor({ timeout: 120_000 });
    await page.getByTestId('export-written').getByText('plate-002-pica-imaginaria.png').waitFor();
    await page.screenshot({ path: artifactPath('export-done.png') });
    assert.deepEqual(readdirSync(out).sort(), ['plate-001-avis-fictitia.png', 'plate-002-pica-imaginaria.png']);
    const meta = await sharp(join(out, 'plate-001-avis-fictitia.png')).metadata();
    assert.deepEqual([meta.width, meta.height, meta.density], [874, 1240, 150]);

    // Again: nothing is replaced until the user says so.
    const mtime = statSync(join(out, 'plate-001-avis-fictitia.png')).mtimeMs;
    await page.getByRole('button', { name: 'Export 2 prints' }).click();
    const confirm = page.getByRole('alertdialog', { name: 'Replace files' });
    await confirm.getByText('These 2 files exist').waitFor();
    await page.screenshot({ path: artifactPath('export-replace.png') });
    await confirm.getByRole('button', { name: 'Keep them' }).click();
    assert.equal(statSync(join(out, 'plate-001-avis-fictitia.png')).mtimeMs, mtime);

    await page.getByRole('button', { name: 'Contact sheet (PDF)' }).click();
    await page.getByTestId('export-written').getByText('contact-sheet.pdf').waitFor({ timeout: 60_000 });

    // Bad input gets its reason, and nothing is written: a relative folder means nothing to a server.
    await page.getByLabel('Export folder').fill('prints');
    await page.getByRole('button', { name: 'Export 2 prints' }).click();
    await page
      .getByRole('alert')
      .getByText(/the export folder must be an absolute path/)
      .waitFor();
    await page.screenshot({ path: artifactPath('export-error.png') });

    // A favourite whose generator file is gone is named, and removed only when the user says so.
    await page.getByLabel('Export folder').fill(out);
    await list.getByRole('checkbox', { name: /Lost bird/ }).check();
    await page.getByRole('button', { name: 'Export 3 prints' }).click();
    const gone = page.getByRole('alertdialog', { name: 'Generator files gone' });
    await gone.getByText(/lost\.safetensors/).waitFor();
    await page.screenshot({ path: artifactPath('export-missing.png') });
    await gone.getByRole('button', { name: 'Remove it' }).click();
    await list.getByText('Lost bird').waitFor({ state: 'detached' });
    assert.equal(await list.getByRole('checkbox').count(), 2);
    assert.deepEqual(readdirSync(out).sort(), [
      'contact-sheet.pdf',
      'plate-001-avis-fictitia.png',
      'plate-002-pica-imaginaria.png',
    ]);
  },
);
