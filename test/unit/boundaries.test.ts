import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';

/** Every source file under a folder. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(ts|svelte)$/.test(name) ? [p] : [];
  });
}
const importsOf = (file: string): string[] =>
  [...readFileSync(file, 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]!);

// The process boundary, as STYLE.md draws it. A lint rule in spirit, enforced by the test run.
test('nothing under main/core, main/cli, main/server or test imports electron', () => {
  for (const dir of ['main/core', 'main/cli', 'main/server', 'test']) {
    for (const f of sources(join(REPO_ROOT, dir))) {
      assert.ok(!importsOf(f).includes('electron'), `${relative(REPO_ROOT, f)} imports electron`);
    }
  }
});

test('only main/app/ipc.ts touches ipcMain, only preload touches ipcRenderer', () => {
  for (const f of [...sources(join(REPO_ROOT, 'main')), ...sources(join(REPO_ROOT, 'renderer'))]) {
    const text = readFileSync(f, 'utf8');
    const rel = relative(REPO_ROOT, f);
    if (rel !== 'main/app/ipc.ts') assert.ok(!/\bipcMain\b/.test(text), `${rel} uses ipcMain`);
    assert.ok(!/\bipcRenderer\b/.test(text), `${rel} uses ipcRenderer`);
  }
});

test('the renderer imports no Node built-ins', () => {
  for (const f of sources(join(REPO_ROOT, 'renderer', 'src'))) {
    for (const spec of importsOf(f)) assert.ok(!spec.startsWith('node:'), `${relative(REPO_ROOT, f)} imports ${spec}`);
  }
});

test('the contract module has no runtime dependencies', () => {
  const specs = importsOf(join(REPO_ROOT, 'preload', 'contract.ts'));
  assert.deepEqual(specs, []);
});
