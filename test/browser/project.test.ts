/// <reference lib="dom" />
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { artifactPath, chromiumMissing } from '../helpers/browser.js';
import { serveTrainedApp, type TrainedApp } from '../helpers/trained-app.js';

const skip = chromiumMissing();
let served: TrainedApp;
let home: string;
let app: TrainedApp['app'];
let browser: TrainedApp['browser'];

before(async () => {
  if (skip) return;
  served = await serveTrainedApp('browser-project');
  ({ home, app, browser } = served);
});

after(async () => {
  if (!skip) await served.close();
});

const exported = (): string[] => (existsSync(join(home, 'exports')) ? readdirSync(join(home, 'exports')) : []);

test(
  'Projection from the Gallery: pick a plate, watch the reconstruction and the ETA, cancel one, finish another and keep it',
  { skip, timeout: 600_000 },
  async () => {
    const p = await browser.context.newPage();
    try {
      await p.goto(app.url);
      await p.getByRole('button', { name: 'Gallery' }).click();
      await p.getByTestId('gallery-source').waitFor({ timeout: 120_000 });
      await p.getByTestId('project-open').click();
      const panel = p.getByTestId('project-panel');
      await panel.waitFor();
      // The dataset's plates are offered; picking one fills the image path.
      await panel
        .getByRole('button', { name: /^Plate / })
        .first()
        .click();
      assert.match(await p.getByTestId('project-image').inputValue(), /plates\/.+\.(png|jpg)$/);

      // A long one: progress frames and the ETA come, then Cancel stops it and nothing is written.
      await p.getByTestId('project-steps').fill('3000');
      await p.getByTestId('project-start').click();
      await p.waitForFunction(
        () => /about \d+ (s|min)/.test(document.querySelector('[data-testid="project-eta"]')?.textContent ?? ''),
        undefined,
        { timeout: 300_000 },
      );
      const firstFrame = await p.getByTestId('project-preview').getAttribute('src');
      assert.match(firstFrame ?? '', /^data:image\/png;base64,/);
      await p.waitForFunction(
        (before) => document.querySelector('[data-testid="project-preview"]')?.getAttribute('src') !== before,
        firstFrame,
        { timeout: 120_000 },
      );
      assert.match(await p.getByTestId('project-status').innerText(), /Step \d+ \/ 3000[\s\S]*PSNR/);
      await p.screenshot({ path: artifactPath('project-running.png') });
      await panel.getByRole('button', { name: 'Cancel' }).click();
      await panel.getByText('Cancelled: nothing was written.').waitFor({ timeout: 60_000 });
      assert.deepEqual(exported(), []);

      // A short one with a video: the result beside its target, the files, then kept as a favourite.
      await p.getByTestId('project-steps').fill('20');
      await p.getByTestId('project-video').selectOption('gif');
      await p.getByTestId('project-start').click();
      await p.getByTestId('project-done').waitFor({ timeout: 300_000 });
      assert.match(await p.getByTestId('project-done').innerText(), /^20 steps · distance [\d.]+ · PSNR [\d.]+ dB$/);
      const files = exported().sort();
      assert.equal(files.length, 3, files.join(', '));
      assert.ok(files.some((f) => f.endsWith('-projection.gif')) && files.some((f) => f.endsWith('-latent.json')));
      await p.getByRole('textbox', { name: "Favourite's name" }).fill('Plate, projected');
      await p.getByTestId('project-keep').click();
      await p.getByTestId('project-kept').waitFor({ timeout: 60_000 });
      await p.screenshot({ path: artifactPath('project-kept.png') });

      // It is a favourite like any other: listed, and drawn from its latent.
      await p.getByRole('button', { name: 'Favourites' }).click();
      await p.getByRole('checkbox', { name: 'select Plate, projected' }).waitFor({ timeout: 60_000 });
      await p.waitForFunction(
        () => {
          const img = document.querySelector<HTMLImageElement>('img[alt="Plate, projected"]');
          return img !== null && img.complete && img.naturalWidth > 0;
        },
        undefined,
        { timeout: 120_000 },
      );
    } finally {
      await p.close();
    }
  },
);

test(
  'Projection from the Dataset view: a plate\'s "Project into the network…" opens the panel with that plate and a run',
  { skip, timeout: 600_000 },
  async () => {
    const p = await browser.context.newPage();
    try {
      await p.goto(app.url);
      await p.getByRole('button', { name: 'Dataset', exact: true }).click();
      const thumb = p.getByTestId('thumb-grid').locator('button.open').first();
      await thumb.waitFor({ timeout: 60_000 });
      const plateName = await thumb.locator('img').getAttribute('alt');
      await thumb.click();
      await p.getByTestId('source-dialog').waitFor();
      const platePath = await p.getByTestId('source-file').innerText();
      await p.getByTestId('source-project').click();

      const dialog = p.getByTestId('project-dialog');
      await dialog.getByTestId('project-panel').waitFor({ timeout: 60_000 });
      // The plate is chosen (its absolute path, as the request takes it); the run that learned from it too.
      assert.equal(await dialog.getByTestId('project-image').inputValue(), platePath);
      assert.ok(platePath.endsWith(`/${plateName}`), `${platePath} is the plate ${plateName}`);
      assert.match(await dialog.getByTestId('project-run').locator('option:checked').innerText(), /^#1 .*\(32²\)$/);
      assert.match(await dialog.getByTestId('project-model').locator('option:checked').innerText(), /kimg/);

      await dialog.getByTestId('project-steps').fill('5');
      await dialog.getByTestId('project-start').click();
      await dialog.getByTestId('project-done').waitFor({ timeout: 300_000 });
      assert.match(
        await dialog.getByTestId('project-done').innerText(),
        /^5 steps · distance [\d.]+ · PSNR [\d.]+ dB$/,
      );
      assert.match(await dialog.getByTestId('project-live').innerText(), new RegExp(`Target: ${plateName}`));
      await p.screenshot({ path: artifactPath('project-from-dataset.png') });
      await dialog.getByTestId('project-dialog-close').click();
      await dialog.waitFor({ state: 'hidden' });
    } finally {
      await p.close();
    }
  },
);
