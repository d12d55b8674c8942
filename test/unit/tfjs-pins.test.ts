/**
 * tfjs is pinned to the release the patches were written for (runtime/tfjs-version.ts): every tfjs
 * package the code imports is declared, at exactly that version, installed at it, and the patches
 * refuse any other with an error that names both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { installFrugalGradients } from '../../main/core/runtime/tape.js';
import { PATCHED_TFJS_VERSION, TfjsVersionError } from '../../main/core/runtime/tfjs-version.js';
import { shareIdentityOnWasm } from '../../main/core/runtime/wasm-memory.js';
import { REPO_ROOT } from '../helpers/paths.js';

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as Record<
  string,
  Record<string, string> | undefined
>;
const declared: Record<string, string> = { ...pkg.dependencies, ...pkg.optionalDependencies };

/** Every `@tensorflow/…` package named in an import or require under `dir`. */
function importedTfjs(dir: string, found = new Set<string>()): Set<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) importedTfjs(path, found);
    else if (/\.(ts|svelte)$/.test(entry.name))
      for (const m of readFileSync(path, 'utf8').matchAll(/['"](@tensorflow\/[a-z0-9-]+)(?:\/[^'"]*)?['"]/g))
        found.add(m[1]!);
  }
  return found;
}

test('every tfjs package the code imports is declared in package.json, pinned to the patched release', () => {
  const imported = new Set([...importedTfjs(join(REPO_ROOT, 'main')), ...importedTfjs(join(REPO_ROOT, 'test'))]);
  assert.ok(imported.has('@tensorflow/tfjs-core'), 'the scan finds the imports');
  for (const name of imported) assert.ok(declared[name], `${name} is imported but not declared in package.json`);
  const tfjs = Object.entries(declared).filter(([name]) => name.startsWith('@tensorflow/'));
  for (const [name, range] of tfjs)
    assert.equal(range, PATCHED_TFJS_VERSION, `${name} must be pinned to exactly ${PATCHED_TFJS_VERSION}`);
});

test('the installed tfjs packages are the pinned release', () => {
  assert.equal(tf.version_core, PATCHED_TFJS_VERSION);
  for (const name of Object.keys(declared).filter((n) => n.startsWith('@tensorflow/'))) {
    const file = join(REPO_ROOT, 'node_modules', name, 'package.json');
    if (!existsSync(file)) continue; // an optional backend that did not install here
    const { version } = JSON.parse(readFileSync(file, 'utf8')) as { version: string };
    assert.equal(version, PATCHED_TFJS_VERSION, `${name} installed at ${version}`);
  }
});

test('the frugal backward pass refuses another tfjs-core, naming both releases, and leaves the engine alone', () => {
  const engine = tf.engine() as unknown as { gradients: unknown };
  const before = engine.gradients;
  assert.throws(
    () => installFrugalGradients('4.23.0'),
    (err: unknown) =>
      err instanceof TfjsVersionError &&
      err.message.includes(`@tensorflow/tfjs-core ${PATCHED_TFJS_VERSION}`) &&
      err.message.includes('loaded @tensorflow/tfjs-core 4.23.0') &&
      err.message.includes('runtime/tape.ts'),
  );
  assert.equal(engine.gradients, before);
});

test('the shared wasm Identity refuses another tfjs-backend-wasm or tfjs-core and keeps the stock kernel', async () => {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const stock = tf.getKernel(tf.Identity, 'wasm');
  assert.ok(stock);
  for (const [wasmVersion, coreVersion, loaded] of [
    ['4.21.0', PATCHED_TFJS_VERSION, 'loaded @tensorflow/tfjs-backend-wasm 4.21.0'],
    [wasm.version_wasm, '5.0.0', 'loaded @tensorflow/tfjs-core 5.0.0'],
  ] as const) {
    assert.throws(
      () => shareIdentityOnWasm(wasmVersion, coreVersion),
      (err: unknown) => err instanceof TfjsVersionError && err.message.includes(loaded),
    );
    assert.equal(tf.getKernel(tf.Identity, 'wasm'), stock);
  }
});
