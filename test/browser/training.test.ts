/// <reference lib="dom" />
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { artifactPath, chromiumMissing, openStudioPage, type StudioPage } from '../helpers/browser.js';
import { SMALL, randomGenerator } from '../helpers/hostile-files.js';

const skip = chromiumMissing();
let studio: StudioPage;
let page: Page;

before(async () => {
  if (skip) return;
  studio = await openStudioPage('browser-training');
  ({ page } = studio);
});

after(async () => {
  if (!skip) await studio.close();
});

const runState = (): Promise<string> => page.getByTestId('run-state').innerText();

test('create a tiny run on the sample plates, start it, and watch the grid and curves update', { skip }, async () => {
  await page.getByRole('button', { name: 'Training' }).click();
  await page.getByLabel('Length (kimg)').fill('100');
  await page.getByLabel('Snapshot every (kimg)').fill('0.016');
  await page.getByLabel('Checkpoint every (kimg)').fill('0.032');
  await page.getByText('Advanced').click();
  await page.getByLabel(/CPU replicas/).fill('2'); // both cores, whatever this machine has
  await page.getByRole('button', { name: 'Create run' }).click();
  await page.getByTestId('run-state').filter({ hasText: 'Ready' }).waitFor();
  assert.match(
    await page.getByTestId('run-config').innerText(),
    /tiny preset · 32² · batch 8 over 2 replicas · R1 γ 0\.0256 · ADA target 0\.6/,
  );
  await page.getByRole('button', { name: 'Start' }).click();
  await page.getByTestId('run-state').filter({ hasText: 'Training' }).waitFor();
  await page.getByTestId('runs').screenshot({ path: artifactPath('training-runs-list.png') }); // the small state badge
  await page
    .getByTestId('backend')
    .filter({ hasText: /Running on (CPU|CUDA)/ })
    .waitFor({ timeout: 60_000 });
  // On a CPU backend the trainer runs the two replicas and says so.
  if (/Running on CPU/.test(await page.getByTestId('backend').innerText()))
    assert.match(await page.getByTestId('backend').innerText(), /× 2 replicas/);
  // Grids arrive at every snapshot, curves at every tick.
  await page.waitForFunction(
    () => {
      const img = document.querySelector<HTMLImageElement>('[data-testid="grid"]');
      const scrub = document.querySelector<HTMLInputElement>('[data-testid="scrubber"]');
      return img?.complete && img.naturalWidth > 0 && scrub && Number(scrub.max) >= 2;
    },
    undefined,
    { timeout: 90_000 },
  );
  // At least two ticks: a measured speed in the stats and lines in the charts.
  await page.waitForFunction(
    () => {
      const stats = Array.from(document.querySelectorAll('[data-testid="stats"] strong')).map(
        (s) => s.textContent ?? '',
      );
      return (
        document.querySelectorAll('[data-testid="chart-losses"] canvas').length > 0 &&
        Number(stats[0]) > 0 &&
        Number(stats[1]) > 0 &&
        stats[3] !== '—'
      );
    },
    undefined,
    { timeout: 60_000 },
  );
  // Each chart is created once and then updated: the same uPlot element survives later ticks.
  const kimgBefore = await page.evaluate(() => {
    const w = window as unknown as { firstPlot: Element | null };
    w.firstPlot = document.querySelector('[data-testid="chart-losses"] .uplot');
    return document.querySelector('[data-testid="stats"] strong')?.textContent ?? '';
  });
  await page.waitForFunction(
    (before) => document.querySelector('[data-testid="stats"] strong')?.textContent !== before,
    kimgBefore,
    { timeout: 60_000 },
  );
  assert.ok(
    await page.evaluate(() => {
      const first = (window as unknown as { firstPlot: Element | null }).firstPlot;
      return !!first && first.isConnected && document.querySelector('[data-testid="chart-losses"] .uplot') === first;
    }),
    'the loss chart was rebuilt on a tick',
  );
  await page.screenshot({ path: artifactPath('training-running.png'), fullPage: true });
});

test('pause, resume and stop from the toolbar (and a keyboard shortcut)', { skip }, async () => {
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.getByTestId('run-state').filter({ hasText: 'Paused' }).waitFor({ timeout: 60_000 });
  await page.getByTestId('checkpoints').getByText(/kimg/).first().waitFor();
  await page.screenshot({ path: artifactPath('training-paused.png'), fullPage: true });
  await page.keyboard.press('Control+Shift+Enter'); // Resume
  await page.getByTestId('run-state').filter({ hasText: 'Training' }).waitFor({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Stop' }).click();
  await page.getByTestId('run-state').filter({ hasText: 'Stopped' }).waitFor({ timeout: 60_000 });
  assert.equal(await runState(), 'Stopped');
  // The time-lapse scrubber goes back to the first grid.
  await page.getByTestId('scrubber').fill('0');
  assert.match(await page.locator('.scrub span').innerText(), /^0\.00 kimg/);
  await page.screenshot({ path: artifactPath('training-stopped.png'), fullPage: true });
});

test('presets that cannot fit are greyed out; deleting a run leaves no error behind', { skip }, async () => {
  const problems: string[] = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  page.on('pageerror', (e) => problems.push(e.message));
  const option128 = page.locator('select[name="preset"] option[value="128"]'); // 64² fits wasm, in rounds
  if ((await page.getByTestId('preset-fit').count()) > 0) {
    assert.equal(await option128.isDisabled(), true);
    assert.match(await page.getByTestId('preset-fit').innerText(), /presets that cannot fit are greyed out/);
  }
  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: 'Delete…' }).click();
  await page.getByTestId('runs').getByText('No runs yet.').waitFor({ timeout: 30_000 });
  await page.waitForTimeout(500); // any late event or request would land here
  assert.deepEqual(
    problems.filter((p) => /no run with id|Uncaught/.test(p)),
    [],
  );
});

test('a run started from a generator file of another resolution says what it kept of it', { skip }, async () => {
  const file = join(studio.dir, 'sixteen.safetensors');
  await randomGenerator(file, SMALL, 5); // a 16² network for a 32² run: a transfer
  await page.getByLabel('Length (kimg)').fill('1');
  const from = page.getByLabel(/Start from imported weights/);
  if (!(await from.isVisible())) await page.getByText('Advanced').click();
  await from.fill(file);
  await page.getByRole('button', { name: 'Create run' }).click();
  const line = page.getByTestId('started-from');
  await line.waitFor({ timeout: 30_000 }).catch(async (err: Error) => {
    await page.screenshot({ path: artifactPath('training-started-from-failed.png'), fullPage: true });
    throw new Error(`${err.message}\n${await page.locator('main').innerText()}`); // what the view said instead
  });
  assert.match(
    await line.innerText(),
    /^Started from .*sixteen\.safetensors: G, G_ema — \d+ of \d+ tensors kept; started fresh: .*G\.synthesis\.b32/,
  );
  await page.screenshot({ path: artifactPath('training-started-from.png'), fullPage: true });
});
