import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import type { GalleryEvents } from '../../preload/contract.js';
import { BirdThreads } from '../../main/core/gallery/bird-threads.js';
import type { BirdSpec } from '../../main/core/gallery/render.js';
import { GeneratorCache, drawHere } from '../../main/core/gallery/tasks.js';
import { Studio } from '../../main/core/studio.js';
import { backendReady } from '../helpers/gan.js';
import { CLI, REPO_ROOT, tempDir, waitFor } from '../helpers/paths.js';

// Issue 16, item 4: a cancelled gallery job stops after the bird in flight — no bird is shown
// after the cancel, and a pass already drawing stops within a block — and the CLI draws long seed
// lists in the batches a request may ask for, with progress. Asserted on counts and events, not
// on time: the machine may be loaded.

const run = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;
let gen: string;

before(async () => {
  tmp = tempDir('gallery-cancel');
  gen = join(tmp.dir, 'g.safetensors');
  await run(process.execPath, [CLI, 'init', '--preset', 'tiny', '--seed', '6', '--out', gen]);
});

after(() => tmp.cleanup());

const specs = (n: number, psi = 0.7): BirdSpec[] =>
  Array.from({ length: n }, (_, seed) => ({ seed, psi, noiseMode: 'const' as const }));

test('cancelling a 256-seed page: no bird lands after the cancel, and the next page draws at once', async () => {
  // The generator process, with its drawing lanes, as the app and `serve` run it.
  const home = join(tmp.dir, 'home');
  const studio = Studio.open({ home, resourcesDir: join(REPO_ROOT, 'resources'), shell: 'server', watch: false });
  try {
    const images: GalleryEvents['galleryImage'][] = [];
    const jobs: GalleryEvents['galleryJob'][] = [];
    let afterCancel = -1;
    const seeds = Array.from({ length: 256 }, (_, i) => i);
    let jobId = 0;
    studio.on('galleryImage', (e) => {
      images.push(e);
      if (e.jobId !== jobId) return;
      if (afterCancel >= 0) afterCancel++;
      else {
        afterCancel = 0;
        void studio.cancelGeneration({ jobId }); // at the first bird, as a user scrolling away would
      }
    });
    studio.on('galleryJob', (e) => jobs.push(e));
    const page = await studio.generate({ generator: { file: gen }, seeds, psi: 0.7, noiseMode: 'const' });
    jobId = page.jobId;
    const end = await waitFor(() => jobs.find((j) => j.jobId === jobId), 300_000, 'the cancelled job to end');
    assert.equal(end.state, 'cancelled');
    assert.equal(afterCancel, 0, 'no bird is shown after the cancel');
    const shown = images.filter((e) => e.jobId === jobId).length;
    assert.equal(shown, 1);
    // Birds the process had finished before the cancel reached it are on disk, whole; the rest never were.
    const tag = readdirSync(join(home, 'gallery')).filter((d) => d !== 'strips')[0]!;
    const drawn = readdirSync(join(home, 'gallery', tag)).length;
    assert.ok(drawn < seeds.length / 4, `${drawn} of 256 birds drawn`);

    // The process is free for the next page: all of it arrives.
    const next = await studio.generate({ generator: { file: gen }, seeds: seeds.slice(0, 8), psi: 0.5, noiseMode: 'const' }); // prettier-ignore
    await studio.gallery.settle(next);
    assert.equal(images.filter((e) => e.jobId === next.jobId).length, 8);
  } finally {
    await studio.close();
  }
});

test('a drawing lane stops a cancelled job’s pass and draws the next job’s birds, the same bytes as here', async () => {
  await backendReady;
  const threads = new BirdThreads('wasm');
  const cache = new GeneratorCache();
  try {
    await threads.resize(1);
    await threads.draw(gen, specs(1), 1); // loaded and compiled
    const cancelled = threads.draw(gen, specs(8), 2);
    threads.stop(2);
    await assert.rejects(cancelled, (err: Error & { code?: string }) => {
      assert.equal(err.code, 'cancelled');
      assert.match(err.message, /drawing stopped: the job was cancelled/);
      return true;
    });
    const next = await threads.draw(gen, specs(8), 3);
    assert.equal(next.length, 8);
    const here = await drawHere(cache).draw(gen, specs(8));
    next.forEach((px, i) => assert.deepEqual(px, here[i], `bird ${i}`));
    // Stopping one job leaves the others alone.
    threads.stop(4);
    assert.equal((await threads.draw(gen, specs(2), 5)).length, 2);
  } finally {
    await threads.close();
    cache.dispose();
  }
});

test('CLI: a seed list longer than a request draws in batches of 256 with progress; an endless one is refused', async () => {
  const out = join(tmp.dir, 'many');
  const r = await run(process.execPath, [CLI, 'generate', '--checkpoint', gen, '--seeds', '0-299', '--out', out]);
  assert.equal(readdirSync(out).length, 300);
  assert.match(r.stderr, /drew 256 of 300 birds\n(.*\n)*drew 300 of 300 birds/);
  assert.match(r.stdout, /wrote 300 images/);
  const endless = await run(process.execPath, [CLI, 'generate', '--checkpoint', gen, '--seeds', '0-100000,0-5', '--out', out]).catch((e: { code: number; stderr: string }) => e); // prettier-ignore
  assert.equal((endless as { code: number }).code, 2);
  assert.match(
    (endless as { stderr: string }).stderr,
    /--seeds name more than 100001 seeds: draw them in several runs/,
  );
});

test('generateFiles: "draw these birds into this folder" makes the folder, names each file, and a cancel unmakes it', async () => {
  const home = join(tmp.dir, 'files-home');
  const studio = Studio.open({ home, resourcesDir: join(REPO_ROOT, 'resources'), shell: 'server', watch: false });
  try {
    const bird = { generator: { file: gen }, psi: 0.7, noiseMode: 'const' as const };
    const outDir = join(tmp.dir, 'prints', 'not', 'there', 'yet');
    const steps: { done: number; total: number }[] = [];
    const r = await studio.generateFiles(
      { ...bird, seeds: [3, 12], mixSeed: 5, mixLayers: 'coarse', outDir },
      { onProgress: (p) => steps.push(p) },
    );
    assert.equal(r.cancelled, false);
    assert.deepEqual(r.files, [join(outDir, 'seed0003-mix5.png'), join(outDir, 'seed0012-mix5.png')]);
    assert.deepEqual(readdirSync(outDir).sort(), ['seed0003-mix5.png', 'seed0012-mix5.png']);
    assert.deepEqual(steps, [{ done: 2, total: 2 }]);
    assert.equal((await sharp(r.files[0]!).metadata()).width, r.generator.resolution);
    // Cancelled before a bird was drawn: nothing written, and the folder it made is gone again.
    const never = join(tmp.dir, 'never', 'made');
    const stop = new AbortController();
    stop.abort();
    const c = await studio.generateFiles({ ...bird, seeds: [1, 2, 3], outDir: never }, { signal: stop.signal });
    assert.deepEqual([c.cancelled, c.files], [true, []]);
    assert.equal(existsSync(join(tmp.dir, 'never')), false);
    // The request is checked like every other: a relative folder is refused by name.
    await assert.rejects(
      studio.handle('generateFiles', { ...bird, seeds: [1], outDir: 'prints' }),
      /the export folder must be an absolute path, got "prints"/,
    );
  } finally {
    await studio.close();
  }
});

test('CLI: Ctrl-C on generate stops after the bird in flight: exit 130, every file whole, none half-written', async () => {
  const out = join(tmp.dir, 'interrupted', 'prints');
  // Its own process group, signalled whole, as a terminal's Ctrl-C is.
  const child = spawn(process.execPath, [CLI, 'generate', '--checkpoint', gen, '--seeds', '0-4999', '--out', out], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | string | null>((res) => child.on('exit', (code, signal) => res(code ?? signal)));
  await waitFor(() => existsSync(out) && readdirSync(out).length >= 4, 120_000);
  process.kill(-child.pid!, 'SIGINT');
  assert.equal(await exited, 130, stderr);
  const files = readdirSync(out);
  const m = /plumage generate: stopped; wrote (\d+) of 5000 images to (.*)\n/.exec(stderr);
  assert.ok(m, stderr);
  assert.equal(files.length, Number(m[1]));
  assert.ok(files.length < 5000);
  assert.ok(
    files.every((f) => /^seed\d{4}\.png$/.test(f)),
    `only whole PNGs: ${files.filter((f) => !f.endsWith('.png')).join(', ')}`,
  );
  for (const f of files) assert.ok((await sharp(join(out, f)).stats()).channels.length >= 3, f);
});
