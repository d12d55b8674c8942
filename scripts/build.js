// Builds everything `npx plumage`, `npm run serve`, `npm start` and the tests need:
//   dist/main, dist/test     ← tsc (Node side, ESM)
//   dist/test/svelte         ← vite (tests of the renderer's state classes, with Svelte's client runtime)
//   dist/renderer            ← vite (Svelte UI, shared by Electron and the headless server)
//   dist/preload/index.cjs   ← vite (one CommonJS file: sandboxed preloads cannot require modules)
//
// The build never writes into dist/ while it works: it fills a fresh sibling folder
// (.dist-next-PID), then swaps it in whole with two renames (dist → .dist-old-PID, next → dist),
// so a server or trainer running from dist/ never finds a file missing or half-written — at
// worst, for the microseconds between the renames, no dist/ at all. `node scripts/build.js node`
// (or renderer, preload) rebuilds that part and carries the rest over from the current dist/.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const require = createRequire(import.meta.url);
const only = process.argv[2]; // optional: 'node' | 'renderer' | 'preload'
if (only && !['node', 'renderer', 'preload'].includes(only)) throw new Error(`unknown build part ${only}`);
const run = (bin, args) => execFileSync(process.execPath, [require.resolve(bin), ...args], { stdio: 'inherit' });
const ROOT = resolve(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');
const NEXT = join(ROOT, `.dist-next-${process.pid}`);
const OLD = join(ROOT, `.dist-old-${process.pid}`);

/** Staging folders of builds that were killed half-way (their pid is gone). */
function removeStale() {
  for (const name of readdirSync(ROOT)) {
    const m = /^\.dist-(?:next|old)-(\d+)$/.exec(name);
    if (!m) continue;
    let alive = true;
    try {
      process.kill(Number(m[1]), 0);
    } catch (err) {
      alive = err.code === 'EPERM';
    }
    if (!alive) rmSync(join(ROOT, name), { recursive: true, force: true });
  }
}

const parts = {
  node: !only || only === 'node',
  renderer: !only || only === 'renderer',
  preload: !only || only === 'preload',
};
removeStale();
try {
  // What this build does not make is carried over from the current dist/.
  if (existsSync(DIST)) {
    // dist/preload is shared: tsc writes its .js (the contract, run-stats), Vite its bundle
    // (index.cjs, emptyOutDir off), so a partial build carries it over and each part overwrites its own.
    const rebuilt = new Set([
      ...(parts.node ? ['main', 'test'] : []),
      ...(parts.renderer ? ['renderer'] : []),
      ...(!only ? ['preload'] : []),
    ]);
    for (const name of readdirSync(DIST))
      if (!rebuilt.has(name)) cpSync(join(DIST, name), join(NEXT, name), { recursive: true });
  }
  const { build } = await import('vite');
  if (parts.node) {
    run('typescript/bin/tsc', ['-p', join(ROOT, 'tsconfig.json'), '--outDir', NEXT]);
    chmodSync(join(NEXT, 'main/plumage.js'), 0o755);
    await build({ configFile: join(ROOT, 'test/svelte/vite.config.ts'), build: { outDir: join(NEXT, 'test/svelte') } });
  }
  if (parts.renderer || parts.preload) {
    if (parts.renderer)
      await build({
        configFile: join(ROOT, 'renderer/vite.config.ts'),
        logLevel: 'warn',
        build: { outDir: join(NEXT, 'renderer') },
      });
    if (parts.preload)
      await build({
        configFile: join(ROOT, 'preload/vite.config.ts'),
        logLevel: 'warn',
        build: { outDir: join(NEXT, 'preload') },
      });
  }
  const needed = [
    'main/plumage.js',
    'main/core/train/trainer.js',
    'renderer/index.html',
    'preload/index.cjs',
    'preload/contract.js',
  ];
  for (const need of needed)
    if (!existsSync(join(NEXT, need))) throw new Error(`build incomplete: ${need} is missing (dist/ left as it was)`);
  if (existsSync(DIST)) renameSync(DIST, OLD);
  renameSync(NEXT, DIST);
} finally {
  rmSync(NEXT, { recursive: true, force: true });
  rmSync(OLD, { recursive: true, force: true });
}
