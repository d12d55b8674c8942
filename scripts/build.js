// Builds everything `npx plumage`, `npm run serve`, `npm start` and the tests need:
//   dist/main, dist/test     ← tsc (Node side, ESM)
//   dist/renderer            ← vite (Svelte UI, shared by Electron and the headless server)
//   dist/preload/index.cjs   ← vite (one CommonJS file: sandboxed preloads cannot require modules)
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const only = process.argv[2]; // optional: 'node' | 'renderer' | 'preload'
const run = (bin, args) => execFileSync(process.execPath, [require.resolve(bin), ...args], { stdio: 'inherit' });

if (!only || only === 'node') {
  rmSync('dist/main', { recursive: true, force: true });
  rmSync('dist/test', { recursive: true, force: true });
  run('typescript/bin/tsc', ['-p', 'tsconfig.json']);
  chmodSync('dist/main/cli/index.js', 0o755);
}
if (!only || only === 'renderer' || only === 'preload') {
  const { build } = await import('vite');
  if (only !== 'preload') await build({ configFile: 'renderer/vite.config.ts', logLevel: 'warn' });
  if (only !== 'renderer') await build({ configFile: 'preload/vite.config.ts', logLevel: 'warn' });
}
if (!existsSync('dist/renderer/index.html')) throw new Error('renderer build missing');
