/// <reference lib="dom" />
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { artifactPath, chromiumMissing } from '../helpers/browser.js';
import { openGallery, serveTrainedApp, type TrainedApp } from '../helpers/trained-app.js';

const skip = chromiumMissing();
let served: TrainedApp;

before(async () => {
  if (!skip) served = await serveTrainedApp('browser-insight');
});

after(async () => {
  if (!skip) await served.close();
});

test('the bird dialog shows the closest plates of the run, nearest first', { skip, timeout: 600_000 }, async () => {
  const p = await openGallery(served);
  try {
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

test(
  'direction sliders: a slider moves the bird (the preview changes, its latency shown), kept as a favourite',
  { skip, timeout: 600_000 },
  async () => {
    const p = await openGallery(served);
    try {
      await p.locator('[data-testid="bird-grid"] .bird').nth(1).click();
      await p.getByTestId('direction-layers').selectOption('coarse');
      await p.getByTestId('find-directions').click();
      await p.getByTestId('direction-0').waitFor({ timeout: 120_000 });
      const loaded = async (): Promise<string> => {
        await p.waitForFunction(
          () => {
            const img = document.querySelector<HTMLImageElement>('[data-testid="edit-preview"]');
            return img !== null && img.complete && img.naturalWidth > 0;
          },
          undefined,
          { timeout: 120_000 },
        );
        return (await p.getByTestId('edit-preview').getAttribute('src'))!;
      };
      await p.getByTestId('direction-1').fill('3');
      const first = await loaded();
      await p.waitForFunction(
        () =>
          /\+3 along SeFa 1 \(coarse\) · \d+ ms/.test(
            document.querySelector('[data-testid="edit-latency"]')!.textContent!,
          ),
        undefined,
        { timeout: 120_000 },
      );
      await p.getByTestId('direction-1').fill('-2.5');
      await p.waitForFunction(
        (before) =>
          document.querySelector<HTMLImageElement>('[data-testid="edit-preview"]')?.getAttribute('src') !== before,
        first,
        { timeout: 120_000 },
      );
      const second = await loaded();
      // The pictures themselves differ, not only their names.
      const differ = await p.evaluate(
        async ([a, b]) => {
          const bytes = async (u: string) => new Uint8Array(await (await fetch(u)).arrayBuffer());
          const [x, y] = await Promise.all([bytes(a!), bytes(b!)]);
          return x.length !== y.length || x.some((v, i) => v !== y[i]);
        },
        [first, second],
      );
      assert.ok(differ, 'moving the slider changed the preview');
      assert.match(await p.getByTestId('edit-latency').innerText(), /-2\.5 along SeFa 1 \(coarse\) · \d+ ms/);
      await p.getByTestId('fav-name').fill('Moved bird');
      await p.getByTestId('walk-strip').click();
      await p.getByTestId('walk').waitFor({ timeout: 120_000 });
      await p.getByTestId('keep-edit').click();
      await p.getByTestId('saved').waitFor({ timeout: 60_000 });
      assert.match(await p.getByTestId('saved').innerText(), /Kept as #\d+ “Moved bird”/);
      await p.getByTestId('bird-detail').screenshot({ path: artifactPath('bird-direction-sliders.png') });

      // GANSpace is offered beside SeFa: found on demand, a slider moves the bird along it, kept too.
      const methods = p.getByTestId('direction-method');
      assert.deepEqual(await methods.locator('option').allInnerTexts(), ['SeFa', 'GANSpace']);
      await methods.selectOption('ganspace');
      await p.getByText(/GANSpace: principal components of 10,000 sampled w's/).waitFor();
      await p.getByTestId('find-directions').click();
      await p.getByTestId('direction-0').waitFor({ timeout: 120_000 });
      await p.getByTestId('direction-0').fill('2');
      await p.waitForFunction(
        () =>
          /\+2 along GANSpace 0 \(coarse\) · \d+ ms/.test(
            document.querySelector('[data-testid="edit-latency"]')!.textContent!,
          ),
        undefined,
        { timeout: 120_000 },
      );
      await loaded();
      await p.getByTestId('fav-name').fill('GANSpace bird');
      await p.getByTestId('keep-edit').click();
      await p.getByTestId('saved').filter({ hasText: 'GANSpace bird' }).waitFor({ timeout: 60_000 });
      await p.getByTestId('bird-detail').screenshot({ path: artifactPath('bird-directions-ganspace.png') });
      await p.keyboard.press('Escape');

      await p.getByRole('button', { name: 'Favourites' }).click();
      const row = p.getByTestId('favourite-list').locator('li', { hasText: 'moved -2.5 along SeFa 1 (4-8)' });
      await row.waitFor({ timeout: 60_000 });
      await p.waitForFunction(
        () =>
          Array.from(document.querySelectorAll<HTMLImageElement>('[data-testid="favourite-list"] li img')).some(
            (i) => i.complete && i.naturalWidth > 0,
          ),
        undefined,
        { timeout: 120_000 },
      );
      // The favourite's picture is the preview's bytes.
      const same = await p.evaluate(
        async ([a, b]) => {
          const bytes = async (u: string) => new Uint8Array(await (await fetch(u)).arrayBuffer());
          const [x, y] = await Promise.all([bytes(a!), bytes(b!)]);
          return x.length === y.length && x.every((v, i) => v === y[i]);
        },
        [second, (await row.locator('img').getAttribute('src'))!],
      );
      assert.ok(same, 'the kept favourite draws the preview, byte for byte');
      await p
        .getByTestId('favourite-list')
        .locator('li', { hasText: 'moved +2 along GANSpace 0 (4-8)' })
        .waitFor({ timeout: 60_000 });
      await p.screenshot({ path: artifactPath('favourites-with-edit.png') });
    } catch (err) {
      await p.screenshot({ path: artifactPath('bird-direction-sliders-failed.png') });
      throw err;
    } finally {
      await p.close();
    }
  },
);
