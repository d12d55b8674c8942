import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ARTIFACTS, CLI, tempDir } from './paths.js';

export const CHROMIUM = process.env.PLUMAGE_CHROMIUM ?? '/usr/bin/chromium';

/** Browser tests need Debian's chromium (`.ci/run` installs it). Outside CI a missing browser skips them, loudly. */
export function chromiumMissing(): string | false {
  if (existsSync(CHROMIUM)) return false;
  if (process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run must install chromium`);
  return `no browser at ${CHROMIUM} (apt-get install chromium, or set PLUMAGE_CHROMIUM)`;
}

export interface ServedApp {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `plumage serve --port 0` (or `port`) as a real child process and reads the URL line it
 * prints. `env` adds to its environment; with `onStderr` its log goes there instead of ours; `cli` runs
 * another checkout's build (see scratchCheckout).
 */
export async function serveApp(
  home: string,
  port = 0,
  opts: { env?: Record<string, string>; onStderr?: (text: string) => void; cli?: string } = {},
): Promise<ServedApp> {
  const child = spawn(process.execPath, [opts.cli ?? CLI, 'serve', '--port', String(port), '--home', home], {
    stdio: ['ignore', 'pipe', opts.onStderr ? 'pipe' : 'inherit'],
    env: { ...process.env, ...opts.env },
  });
  child.stderr?.setEncoding('utf8').on('data', (t: string) => opts.onStderr?.(t));
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server printed no URL within 20 s')), 20_000);
    lines.on('line', (line) => {
      if (/^http:\/\/127\.0\.0\.1:\d+\/\?token=\S+$/.test(line)) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before printing its URL`)));
  });
  return {
    url,
    process: child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = tempDir('chromium');
  const context = await chromium.launchPersistentContext(profile.dir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      profile.cleanup();
    },
  };
}

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

/** A served studio on a fresh home, a browser, and a page that has seen the 24 sample plates ingested. */
export interface StudioPage {
  dir: string;
  app: ServedApp;
  page: Page;
  close(): Promise<void>;
}

export async function openStudioPage(prefix: string): Promise<StudioPage> {
  const tmp = tempDir(prefix);
  const app = await serveApp(join(tmp.dir, 'home'));
  const browser = await launchBrowser();
  const page = await browser.context.newPage();
  await page.goto(app.url);
  await page.getByTestId('count-accepted').filter({ hasText: '24' }).waitFor({ timeout: 60_000 });
  return {
    dir: tmp.dir,
    app,
    page,
    close: async () => {
      await browser.close();
      await app.stop();
      tmp.cleanup();
    },
  };
}
