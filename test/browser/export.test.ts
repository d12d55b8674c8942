/// <reference lib="dom" />
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { artifactPath, chromiumMissing, launchBrowser, serveApp, type ServedApp } from '../helpers/browser.js';
import { CLI, tempDir } from '../helpers/paths.js';

const skip = chromiumMissing();
const run = promisify(execFile);
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
  const generator = join(tmp.dir, 'g.safetensors');
  await run(process.execPath, [CLI, 'init', '--preset', 'tiny', '--seed', '2', '--out', generator]);
  for (const [seed, name] of [
    ['5', 'Avis fictitia'],
    ['9', 'Pica imaginaria'],
  ] as const) {
    await run(process.execPath, [
      CLI,
      'favourite',
      'add',
      '--checkpoint',
      generator,
      '--seed',
      seed,
      '--name',
      name,
      '--home',
      home,
    ]);
  }
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

    await page.getByRole('checkbox', { name: /All \(2\)/ }).check();
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

    // Bad input gets its reason, and nothing is written.
    await page.getByLabel('Export folder').fill(join(tmp.dir, 'nowhere'));
    await page.getByRole('button', { name: 'Export 2 prints' }).click();
    await page
      .getByRole('alert')
      .getByText(/export folder not found/)
      .waitFor();
    await page.screenshot({ path: artifactPath('export-error.png') });
  },
);
