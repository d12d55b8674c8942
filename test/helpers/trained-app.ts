/// <reference lib="dom" />
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { launchBrowser, serveApp, type ServedApp } from './browser.js';
import { CLI, tempDir } from './paths.js';
import { writePlates } from './plates.js';

/** A served studio whose home holds a trained run, and a browser to look at it. */
export interface TrainedApp {
  home: string;
  app: ServedApp;
  browser: Awaited<ReturnType<typeof launchBrowser>>;
  close(): Promise<void>;
}

/**
 * One step of the tiny preset on 6 plates, and a checkpoint after it (a run the Gallery opens),
 * trained by the CLI into a fresh home, then served.
 */
export async function serveTrainedApp(prefix: string): Promise<TrainedApp> {
  const tmp = tempDir(prefix);
  const home = join(tmp.dir, 'home');
  const plates = join(tmp.dir, 'plates');
  mkdirSync(plates);
  writePlates(plates, 6);
  await promisify(execFile)(process.execPath, [CLI, 'train', '--dataset', plates, '--preset', 'tiny', '--kimg', '0.008', '--checkpoint-kimg', '0.008', '--snapshot-kimg', '0.008', '--home', home]); // prettier-ignore
  const app = await serveApp(home);
  const browser = await launchBrowser();
  return {
    home,
    app,
    browser,
    close: async () => {
      await browser.close();
      await app.stop();
      tmp.cleanup();
    },
  };
}

/** A new page on the Gallery, once it shows a drawn bird. */
export async function openGallery(served: TrainedApp): Promise<Page> {
  const p = await served.browser.context.newPage();
  await p.goto(served.app.url);
  await p.getByRole('button', { name: 'Gallery' }).click();
  await p.waitForFunction(
    () =>
      Array.from(document.querySelectorAll<HTMLImageElement>('[data-testid="bird-grid"] img')).some(
        (i) => i.complete && i.naturalWidth > 0,
      ),
    undefined,
    { timeout: 120_000 },
  );
  return p;
}
