/// <reference lib="dom" />
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { artifactPath, chromiumMissing, launchBrowser, serveApp, type ServedApp } from '../helpers/browser.js';
import { CLI, tempDir } from '../helpers/paths.js';
import { writePlates } from '../helpers/plates.js';
import { webgpuAdapterProblem } from '../helpers/webgpu.js';

const skip = chromiumMissing();
let tmp: ReturnType<typeof tempDir>;
let app: ServedApp;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let page: Page;
let gen: string;

before(async () => {
  if (skip) return;
  tmp = tempDir('browser-gallery');
  gen = join(tmp.dir, 'tiny.safetensors');
  await promisify(execFile)(process.execPath, [CLI, 'init', '--preset', 'tiny', '--seed', '4', '--out', gen]);
  app = await serveApp(join(tmp.dir, 'home'));
  browser = await launchBrowser();
  page = await browser.context.newPage();
  await page.goto(app.url);
});

after(async () => {
  if (skip) return;
  await browser.close();
  await app.stop();
  tmp.cleanup();
});

/** Birds in the grid whose image has loaded. */
const loadedBirds = (p: Page, atLeast: number) =>
  p.waitForFunction(
    (n) =>
      Array.from(document.querySelectorAll<HTMLImageElement>('[data-testid="bird-grid"] img')).filter(
        (i) => i.complete && i.naturalWidth > 0,
      ).length >= n,
    atLeast,
    { timeout: 90_000 },
  );

test(
  'Gallery: open a generator file, birds stream in and page on, a bird is kept and style-mixed',
  { skip },
  async () => {
    await page.getByRole('button', { name: 'Gallery' }).click();
    await page.getByPlaceholder('/path/to/generator.safetensors').fill(gen);
    await page.getByRole('button', { name: 'Open file' }).click();
    await loadedBirds(page, 24);
    assert.match(await page.getByTestId('gallery-source').innerText(), /tiny\.safetensors · 32²/);
    await page.screenshot({ path: artifactPath('gallery-grid.png') });

    // The grid fills the screen, then scrolling to its end asks for the next page.
    const cells = () => page.locator('[data-testid="bird-grid"] .bird').count();
    await page.waitForTimeout(500);
    const filled = await cells();
    await page.getByTestId('bird-grid').evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="bird-grid"] .bird').length > n, filled, {
      timeout: 30_000,
    });
    await loadedBirds(page, filled + 1);

    await page.getByLabel('Jump to seed').fill('1000');
    await page.getByRole('button', { name: 'Go' }).click();
    await page.locator('[data-testid="bird-grid"] .bird').first().filter({ hasText: '1000' }).waitFor();
    await loadedBirds(page, 4);

    await page.locator('[data-testid="bird-grid"] .bird').first().click();
    const detail = page.getByTestId('bird-detail');
    await detail.waitFor();
    await page.waitForFunction(
      () => (document.querySelector<HTMLInputElement>('[data-testid="fav-name"]')?.value ?? '') !== '',
    );
    const suggested = await page.getByTestId('fav-name').inputValue();
    assert.match(suggested, /^[A-Z][a-z]+ [a-z]+$/, 'a Latin binomial');
    await detail.getByLabel('Note').fill('first bird');
    await page.getByTestId('favourite').click();
    await page.getByTestId('saved').filter({ hasText: suggested }).waitFor();

    await page.getByTestId('mix-seed').fill('1003');
    await page.getByTestId('mix-layers').selectOption('coarse');
    await detail.getByRole('button', { name: 'Mix' }).click();
    await page.waitForFunction(
      () => {
        const imgs = document.querySelectorAll<HTMLImageElement>('[data-testid="bird-detail"] img.large');
        return imgs.length === 2 && imgs[1]!.complete && imgs[1]!.naturalWidth > 0;
      },
      undefined,
      { timeout: 60_000 },
    );
    await detail.getByLabel('Note').fill('a mix');
    await page.getByTestId('favourite').filter({ hasText: 'the mix' }).click();
    await page.getByTestId('saved').filter({ hasText: '#2' }).waitFor();
    await page.screenshot({ path: artifactPath('gallery-detail.png') });
    await detail.getByRole('button', { name: 'Close' }).click();
  },
);

test('Favourites: listed with pictures, filtered, interpolated (preview, play, export GIF)', { skip }, async () => {
  await page.getByRole('button', { name: 'Favourites' }).click();
  const list = page.getByTestId('favourite-list');
  await page.waitForFunction(
    () =>
      Array.from(document.querySelectorAll<HTMLImageElement>('[data-testid="favourite-list"] img')).filter(
        (i) => i.complete && i.naturalWidth > 0,
      ).length === 2,
    undefined,
    { timeout: 60_000 },
  );
  assert.match(await list.innerText(), /seed 1000 × 1003 \(4-8\)/);
  await page.getByPlaceholder('name or note').fill('first bird');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="favourite-list"] li').length === 1);
  await page.getByPlaceholder('name or note').fill('');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="favourite-list"] li').length === 2);

  for (const box of await list.getByLabel('select').all()) await box.check();
  const form = page.getByTestId('interpolate');
  await form.getByLabel('Frames').fill('8');
  await form.getByRole('button', { name: 'Preview' }).click();
  await page.waitForFunction(
    () => {
      const img = document.querySelector<HTMLImageElement>('[data-testid="strip"]');
      return img?.complete && img.naturalWidth === 8 * 128;
    },
    undefined,
    { timeout: 60_000 },
  );
  await form.getByRole('button', { name: 'Play' }).click();
  const positions = new Set<string>();
  for (let i = 0; i < 6; i++) {
    positions.add(await page.getByTestId('player').evaluate((el) => getComputedStyle(el).backgroundPosition));
    await page.waitForTimeout(120);
  }
  assert.ok(positions.size > 1, 'playing moves through the frames');
  const outDir = join(tmp.dir, 'exports');
  await form.getByLabel('Export as').selectOption('gif');
  await form.getByLabel('Folder').fill(outDir);
  await form.getByRole('button', { name: 'Export' }).click();
  await page.getByTestId('exported').waitFor({ timeout: 60_000 });
  // Newest first, so the boxes were ticked #2 then #1: that is the path's order.
  const file = join(outDir, 'interpolation-2-1-w.gif');
  assert.equal(await page.getByTestId('exported').innerText(), `Wrote ${file}`);
  assert.ok(existsSync(file));
  assert.equal((await sharp(file).metadata()).pages, 8);
  await page.screenshot({ path: artifactPath('favourites.png') });
});

test(
  'Evolution: one seed through every checkpoint of a run, a picture per checkpoint with its kimg',
  { skip },
  async () => {
    // A run of its own, trained by the CLI before a server owns its home: a checkpoint every step
    // (the tiny preset's batch of 8 is 0.008 kimg), two steps.
    const home = join(tmp.dir, 'evolution-home');
    const plates = join(tmp.dir, 'evolution-plates');
    mkdirSync(plates);
    writePlates(plates, 8);
    await promisify(execFile)(process.execPath, [CLI, 'train', '--dataset', plates, '--preset', 'tiny', '--kimg', '0.016', '--checkpoint-kimg', '0.008', '--snapshot-kimg', '0.016', '--home', home]); // prettier-ignore
    // Checkpoints only: the run's folder also holds the G_ema files written with each grid (gema-…).
    const files = readdirSync(join(home, 'checkpoints', 'run-1')).filter((f) => /^ckpt-.*\.safetensors$/.test(f));
    assert.ok(files.length >= 2, `the run wrote ${files.length} checkpoints`);

    const served = await serveApp(home);
    const p = await browser.context.newPage();
    try {
      await p.goto(served.url);
      await p.getByRole('button', { name: 'Gallery' }).click();
      // The run opens at its latest checkpoint by itself.
      await loadedBirds(p, 4);
      const listed = await p.getByLabel('Checkpoint').locator('option').allInnerTexts();
      assert.equal(listed.length, files.length, 'every checkpoint on disk is offered');
      const kimgs = listed.map((t) => Number.parseFloat(t));

      await p.locator('[data-testid="bird-grid"] .bird').first().click();
      const detail = p.getByTestId('bird-detail');
      await detail.getByRole('button', { name: `Evolution through ${files.length} checkpoints` }).click();
      const row = p.getByTestId('evolution');
      await p.waitForFunction(
        (n) =>
          Array.from(document.querySelectorAll<HTMLImageElement>('[data-testid="evolution"] img')).filter(
            (i) => i.complete && i.naturalWidth > 0,
          ).length === n,
        files.length,
        { timeout: 90_000 },
      );
      await detail.getByRole('button', { name: `Evolution through ${files.length} checkpoints` }).waitFor();
      await p.screenshot({ path: artifactPath('gallery-evolution.png') });

      // One picture per checkpoint, in order, each labelled with its checkpoint's kimg.
      const captions = await row.locator('figcaption').allInnerTexts();
      assert.deepEqual(
        captions.map((c) => Number.parseFloat(c)),
        kimgs,
      );
      for (const c of captions) assert.match(c, /^[\d.]+ kimg$/);
      // And the bird changes as the run trains: no two checkpoints draw the same pixels.
      const pixels = await row.locator('img').evaluateAll((imgs) =>
        (imgs as HTMLImageElement[]).map((img) => {
          const canvas = document.createElement('canvas');
          canvas.width = img.naturalWidth;
          canvas.height = img.naturalHeight;
          const ctx = canvas.getContext('2d')!;
          ctx.drawImage(img, 0, 0);
          return Array.from(ctx.getImageData(0, 0, canvas.width, canvas.height).data).join(',');
        }),
      );
      assert.equal(pixels.length, files.length);
      assert.equal(new Set(pixels).size, pixels.length, 'each checkpoint draws a different bird');
    } finally {
      await p.close();
      await served.stop();
    }
  },
);

test(
  "Gallery on WebGPU: the grid's birds are wasm's within 1/255, and the server's log has no line of Dawn's",
  { skip: skip || (await webgpuAdapterProblem()) },
  async () => {
    // The generator process takes WebGPU as a GPU machine's would: first in the chain (lavapipe in
    // CI, a software adapter the automatic choice otherwise passes over).
    let log = '';
    const served = await serveApp(join(tmp.dir, 'webgpu-home'), 0, {
      env: {
        PLUMAGE_ALLOW_SOFTWARE_GPU: '1',
        PLUMAGE_DEBUG: '1',
        XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp',
      },
      onStderr: (t) => (log += t),
    });
    const reference = join(tmp.dir, 'webgpu-reference');
    await promisify(execFile)(process.execPath, [CLI, 'generate', '--checkpoint', gen, '--seeds', '0-3', '--backend', 'wasm', '--out', reference]); // prettier-ignore
    const p = await browser.context.newPage();
    try {
      await p.goto(served.url);
      await p.getByRole('button', { name: 'Gallery' }).click();
      await p.getByPlaceholder('/path/to/generator.safetensors').fill(gen);
      await p.getByRole('button', { name: 'Open file' }).click();
      await loadedBirds(p, 4);
      assert.match(log, /^plumage debug: the generator process draws on webgpu: WebGPU on /m);
      for (const seed of [0, 1, 2, 3]) {
        const bytes = await p.locator(`img[alt="seed ${seed}"]`).evaluate(async (img: HTMLImageElement) => {
          const r = await fetch(img.src);
          return Array.from(new Uint8Array(await r.arrayBuffer()));
        });
        const [gpu, cpu] = await Promise.all([
          sharp(Buffer.from(bytes)).raw().toBuffer(),
          sharp(join(reference, `seed${String(seed).padStart(4, '0')}.png`))
            .raw()
            .toBuffer(),
        ]);
        assert.equal(gpu.length, cpu.length);
        let worst = 0;
        gpu.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - cpu[i]!))));
        console.log(`gallery on webgpu, seed ${seed}: max |Δ| ${worst}/255 against wasm`);
        assert.ok(worst <= 1, `seed ${seed} differs from wasm's by ${worst}/255`);
      }
      await p.screenshot({ path: artifactPath('gallery-webgpu.png') });
    } finally {
      await p.close();
      await served.stop();
    }
    assert.doesNotMatch(log, /^Warning: maxDynamic/m, "Dawn's native warnings stay out of the server's log");
  },
);
