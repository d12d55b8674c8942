import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BirdThreads } from '../../main/core/gallery/bird-threads.js';
import { GeneratorCache, drawHere, runTask, type TaskFile } from '../../main/core/gallery/tasks.js';
import type { BirdSpec } from '../../main/core/gallery/render.js';
import { backendReady } from '../helpers/gan.js';
import { CLI, tempDir } from '../helpers/paths.js';

const run = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;
let gen: string;
const cache = new GeneratorCache();
let threads: BirdThreads;

before(async () => {
  await backendReady;
  tmp = tempDir('gallery-lanes');
  gen = join(tmp.dir, 'tiny.safetensors');
  await run(process.execPath, [CLI, 'init', '--preset', 'tiny', '--seed', '5', '--out', gen]);
  threads = new BirdThreads('wasm');
});

after(async () => {
  await threads.close();
  cache.dispose();
  tmp.cleanup();
});

const specs = (n: number, psi = 0.7): BirdSpec[] =>
  Array.from({ length: n }, (_, seed) => ({ seed, psi, noiseMode: 'const' as const }));

test('two drawing threads write a page with the same bytes as one lane here, reported in seed order', async () => {
  const page = specs(20); // four batches of 5 at 32²: two on each lane
  const here = page.map((_, i) => join(tmp.dir, `here-${i}.png`));
  const apart = page.map((_, i) => join(tmp.dir, `apart-${i}.png`));
  await runTask({ kind: 'birds', file: gen, specs: page, out: here }, cache);
  await threads.resize(2);
  assert.equal(threads.size, 2);
  const seen: TaskFile[] = [];
  const files = await runTask(
    { kind: 'birds', file: gen, specs: page, out: apart },
    cache,
    (f) => seen.push(f),
    () => false,
    {
      lanes: threads.size,
      draw: (file, s) => threads.draw(file, s),
    },
  );
  assert.deepEqual(files, apart, 'the files in seed order, whichever lane finished first');
  assert.deepEqual(
    seen.map((f) => f.index),
    page.map((_, i) => i),
    'reported in seed order',
  );
  for (let i = 0; i < page.length; i++) assert.ok(readFileSync(apart[i]!).equals(readFileSync(here[i]!)), `bird ${i}`);
});

test("a lane's failure fails the task with its cause; the lanes draw again afterwards, and shrink on request", async () => {
  await threads.resize(2);
  const missing = join(tmp.dir, 'gone.safetensors');
  await assert.rejects(threads.draw(missing, specs(2)), (err: Error & { code?: string }) => {
    assert.match(err.message, /no such file/);
    assert.equal(err.code, 'not-found');
    return true;
  });
  const pixels = await threads.draw(gen, specs(2));
  assert.equal(pixels.length, 2);
  assert.equal(pixels[0]!.length, 32 * 32 * 3);
  const [alone] = await drawHere(cache).draw(gen, specs(1));
  assert.deepEqual(pixels[0], alone, 'a thread draws the bytes this thread draws');
  await threads.resize(1);
  assert.equal(threads.size, 1);
  assert.equal((await threads.draw(gen, specs(1)))[0]!.length, 32 * 32 * 3);
});

test('a warm-up with a file draws one full batch on every lane, so the first page finds it loaded', async () => {
  await threads.resize(2);
  const asked: number[] = [];
  await runTask({ kind: 'warm-up', file: gen }, cache, undefined, undefined, {
    lanes: threads.size,
    draw: async (file, s) => {
      asked.push(s.length);
      return threads.draw(file, s);
    },
  });
  assert.deepEqual(asked, [8, 8], 'a 32² page draws batches of 8');
  await assert.rejects(runTask({ kind: 'warm-up', file: join(tmp.dir, 'gone.safetensors') }, cache), /no such file/);
});
