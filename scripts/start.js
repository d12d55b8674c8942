// `npm start`: the desktop shell. Electron 42 downloads its binary on first start (not at
// install time, so `npm ci` works offline); when that download fails, say what it means and
// what works now, instead of @electron/get's stack trace and advice to delete node_modules.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const ROOT = join(import.meta.dirname, '..');
const electronDir = dirname(require.resolve('electron/package.json'));

const EXPLAIN = [
  "The desktop shell could not start: Electron's binary is not here yet, and downloading it failed.",
  'npm start downloads Electron once, on its first start, so it needs the network that one time',
  '(or a mirror: ELECTRON_MIRROR=https://…/, or a folder already holding the zip: electron_config_cache=DIR).',
  'The same app runs in your browser right now: npm run serve, then open the URL it prints.',
].join(' ');

if (!existsSync(join(ROOT, 'dist', 'main', 'app', 'main.js'))) {
  console.error('plumage: the app is not built yet: run npm run build first');
  process.exit(1);
}

// Electron's own install step: a no-op once the binary is there.
const install = spawnSync(process.execPath, [join(electronDir, 'install.js')], {
  stdio: ['ignore', 'pipe', 'pipe'],
  encoding: 'utf8',
});
if (install.status !== 0) {
  const cause = `${install.stderr ?? ''}${install.error?.message ?? ''}`
    .split('\n')
    .find((l) => l.trim() !== '')
    ?.trim();
  console.error(`${EXPLAIN}${cause ? `\n(the download said: ${cause})` : ''}`);
  process.exit(1);
}

const electron = require('electron');
const child = spawn(electron, [ROOT, ...process.argv.slice(2)], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('close', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
