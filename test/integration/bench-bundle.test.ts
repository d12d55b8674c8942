/**
 * The GPU bench bundle (`npm run bench:bundle`) runs where there is no node_modules: it is built,
 * unpacked into a fresh folder with none in any folder above it, and a tiny training bench runs
 * from it on wasm.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, tempDir } from '../helpers/paths.js';

const run = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;
before(() => {
  tmp = tempDir('bench-bundle');
});
after(() => tmp.cleanup());

/** The bundle is meant to be copied to another machine by hand: keep it small. */
const MAX_BUNDLE_MIB = 60;

test('the bench bundle is small, needs no node_modules, and trains the tiny preset on wasm', async () => {
  const tgz = join(tmp.dir, 'plumage-bench.tgz');
  await run(process.execPath, [join(REPO_ROOT, 'scripts', 'bench-bundle.js'), '--out', tgz], { timeout: 120_000 });
  const mib = statSync(tgz).size / 2 ** 20;
  assert.ok(mib < MAX_BUNDLE_MIB, `${mib.toFixed(1)} MiB`);

  const where = join(tmp.dir, 'elsewhere');
  mkdirSync(where);
  for (let d = where; d !== dirname(d); d = dirname(d))
    assert.equal(existsSync(join(d, 'node_modules')), false, `${d} has a node_modules: the check would prove nothing`);
  await run('tar', ['xzf', tgz, '-C', where]);

  const env = { ...process.env };
  delete env.NODE_PATH;
  const { stdout } = await run(
    process.execPath,
    [
      join(where, 'plumage-bench', 'bench.js'),
      'train',
      '--backend',
      'wasm',
      '--preset',
      'tiny',
      '--batch',
      '4',
      '--repeats',
      '0',
      '--no-compare',
    ],
    { cwd: where, env, timeout: 240_000 },
  );
  const line = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  assert.equal(line.bench, 'train');
  assert.equal(line.backend, 'wasm');
  assert.equal(line.batch, 4);
  assert.ok((line.imagesPerSec as number) > 0, JSON.stringify(line));
  assert.ok((line.peakWasmHeapMB as number) > 0, 'the wasm heap is reported');
  console.log(`bundle ${mib.toFixed(1)} MiB; tiny on wasm from it: ${JSON.stringify(line)}`);
});
