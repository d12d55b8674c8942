/// <reference lib="dom" />
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { artifactPath, chromiumMissing, launchBrowser, serveApp, type ServedApp } from '../helpers/browser.js';
import { CLI, tempDir } from '../helpers/paths.js';
import { writePlates } from '../helpers/plates.js';

const skip = chromiumMissing();
let tmp: ReturnType<typeof tempDir>;
let app: ServedApp;
let browser: Awaited<ReturnType<typeof launchBrowser>>;

before(async () => {
  if (skip) return;
  tmp = tempDir('browser-insight');
  const home = join(tmp.dir, 'home');
  const plates = join(tmp.dir, 'plates');
  mkdirSync(plates);
  writePlates(plates, 6);
  // One step of the tiny preset, and a checkpoint after it: a run the Gallery opens.
  await promisify(execFile)(process.execPath, [CLI, 'train', '--dataset', plates, '--preset', 'tiny', '--kimg', '0.008', '--checkpoint-kimg', '0.008', '--snapshot-kimg', '0.008', '--home', home]); // prettier-ignore
  app = await serveApp(home);
  browser = await launchBrowser();
});

after(async () => {
  if (skip) return;
  await browser.close();
  await app.stop();
  tmp.cleanup();
});

test('the bird dialog shows the closest plates of the run, nearest first', { skip, timeout: 600_000 }, async () => {
  const p = await browser.context.newPage();
  try {
    await p.goto(app.url);
    await p.getByRole('button', { name: 'Gallery' }).click();
    await p.waitForFunction(
      () =>
        Array.from(document.querySelectorAll<HTMLImageElement>('[data-testid="bird-grid"] img')).some(
          (i) => i.complete && i.naturalWidth > 0,
        ),
      undefined,
      { timeout: 120_000 },
    );
    await p.locator('[data-testid="bird-grid"] .bird').first().click();
    await p.getByTestId('closest-plates').click();
    await p.waitForFunction(
      () =>
        Array.from(document.querySelectorAll<HTMLImageElement>('[data-testid="closest"] img')).filter(
          (i) => i.complete && i.naturalWidth > 0,
        ).length === 5,
      undefined,
      { timeout: 400_000 },
    );
    await p.screenshot({ path: artifactPath('bird-closest-plates.png') });
    const distances = (await p.getByTestId('closest').locator('figcaption').allInnerTexts()).map(Number);
    assert.equal(distances.length, 5);
    assert.ok(
      distances.every((d, i) => d > 0 && (i === 0 || d >= distances[i - 1]!)),
      `${distances}`,
    );
  } finally {
    await p.close();
  }
});
