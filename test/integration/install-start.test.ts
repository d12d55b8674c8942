import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { serveApp, type ServedApp } from '../helpers/browser.js';
import { scratchCheckout } from '../helpers/checkout.js';
import { REPO_ROOT, tempDir } from '../helpers/paths.js';

const exec = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;
let server: ServedApp;
/**
 * The install and build tests work in a checkout of their own, with a server running from its
 * dist/: rebuilding the dist/ this suite runs from would pull it from under the other test files.
 */
let checkout: ReturnType<typeof scratchCheckout>;
let DIST: string;
let WATCHED: string[];

before(async () => {
  tmp = tempDir('install');
  checkout = scratchCheckout(join(tmp.dir, 'checkout'));
  DIST = checkout.dist;
  WATCHED = ['main/core/train/trainer.js', 'main/plumage.js', 'renderer/index.html'].map((f) => join(DIST, f));
  server = await serveApp(join(tmp.dir, 'home'), 0, { cli: checkout.cli });
});
after(async () => {
  await server.stop();
  tmp.cleanup();
});

/** Identity and age of the files a running server loads later (a trainer start, the page). */
const fingerprint = (): string[] =>
  WATCHED.map((f) => {
    const st = statSync(f);
    return `${f} ${st.ino} ${st.mtimeMs}`;
  });

async function serverAnswers(): Promise<boolean> {
  const res = await fetch(server.url);
  return res.status === 200 && /<html/i.test(await res.text());
}

test('no npm lifecycle script rebuilds the app when a user runs a command (npx, npm exec)', () => {
  const scripts = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: object }).scripts;
  for (const hook of ['prepare', 'preinstall', 'install', 'prepack'])
    assert.ok(!(hook in scripts), `no ${hook} script: npm runs it when npx links the package`);
  assert.match(
    readFileSync(join(REPO_ROOT, 'scripts/postinstall.js'), 'utf8'),
    /command === 'ci' \|\| command === 'install'/,
  );
});

test('npx plumage with a fresh npx cache leaves a running server’s dist/ untouched', async () => {
  const before = fingerprint();
  const { stdout } = await exec('npx', ['--offline', 'plumage', '--version'], {
    cwd: checkout.root,
    env: { ...process.env, npm_config_cache: join(tmp.dir, 'npm-cache'), npm_config_update_notifier: 'false' },
    timeout: 120_000,
  });
  assert.match(stdout.trim(), /^\d+\.\d+\.\d+$/);
  assert.deepEqual(fingerprint(), before, 'no file under dist/ was rewritten');
  assert.ok(await serverAnswers());
});

test('a build swaps dist/ in whole: a running server keeps every file and no staging folder is left', async () => {
  // The preload bundle is the quickest part to rebuild; the rest is carried over into the new dist/.
  const build = join(checkout.root, 'scripts/build.js');
  const suiteDist = join(REPO_ROOT, 'dist/preload/index.cjs');
  const suiteBefore = statSync(suiteDist).ino;
  await exec(process.execPath, [build, 'preload'], { cwd: checkout.root, timeout: 120_000 });
  assert.equal(statSync(suiteDist).ino, suiteBefore, 'the dist/ this suite runs from is not rebuilt');
  const kept = ['preload/index.cjs', 'preload/contract.js', 'preload/run-stats.js', 'test/helpers/paths.js'];
  for (const f of [...WATCHED, ...kept.map((k) => join(DIST, k))]) assert.ok(existsSync(f), f);
  assert.deepEqual(
    readdirSync(checkout.root).filter((n) => n.startsWith('.dist-')),
    [],
    'no .dist-next-* or .dist-old-* left behind',
  );
  assert.ok(await serverAnswers());
  const refused = await exec(process.execPath, [build, 'everything'], { cwd: checkout.root }).catch(
    (err: { code: number; stderr: string }) => err,
  );
  assert.equal((refused as { code: number }).code, 1, 'an unknown part is refused before anything is touched');
});

test('npm start without a downloadable Electron explains in one paragraph and points at npm run serve', async (t) => {
  if (existsSync(join(REPO_ROOT, 'node_modules/electron/dist/version'))) {
    t.skip('Electron is already downloaded here: npm start would open the app');
    return;
  }
  const result = await exec(process.execPath, [join(REPO_ROOT, 'scripts/start.js')], {
    cwd: REPO_ROOT,
    // A mirror nobody listens on: the download fails at once, as it does offline.
    env: { ...process.env, ELECTRON_MIRROR: 'http://127.0.0.1:9/', electron_config_cache: join(tmp.dir, 'ecache') },
    timeout: 60_000,
  }).catch((err: { code: number; stdout: string; stderr: string }) => err);
  const { code, stderr } = result as { code: number; stderr: string };
  assert.equal(code, 1);
  assert.match(stderr, /downloads Electron once, on its first start/);
  assert.match(stderr, /ELECTRON_MIRROR/);
  assert.match(stderr, /electron_config_cache/);
  assert.match(stderr, /npm run serve/);
  assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(stderr, /delete `?node_modules\/electron/);
});
