import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import type { ExportProgress, ExportStart, PrintAdvice } from '../../preload/contract.js';
import { handleRequest } from '../../main/core/api/handler.js';
import { Studio } from '../../main/core/studio.js';
import { RunStore } from '../../main/core/store/runs.js';
import { CLI, REPO_ROOT, tempDir, waitFor } from '../helpers/paths.js';
import { A5_PRINT } from '../helpers/prints.js';
import { newRunRow } from '../helpers/runs.js';

// The exports as both shells reach them: through the shared request handler (validated), with
// progress as `exportProgress` events and cancel as a request.

const run = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;
let studio: Studio;
let out: string;
const events: ExportProgress[] = [];

before(async () => {
  tmp = tempDir('export-api');
  out = join(tmp.dir, 'out');
  mkdirSync(out);
  const generator = join(tmp.dir, 'g.safetensors');
  await run(process.execPath, [CLI, 'init', '--preset', 'tiny', '--seed', '3', '--out', generator]);
  studio = Studio.open({
    home: join(tmp.dir, 'home'),
    resourcesDir: join(REPO_ROOT, 'resources'),
    shell: 'server',
    watch: false,
    galleryInProcess: true,
  });
  studio.on('exportProgress', (p) => events.push(p));
  const base = { run_id: null, checkpoint_id: null, generator_path: generator, psi: 0.7, kimg: null } as const;
  studio.gallery.favourites.add({
    ...base,
    seed: 1,
    noise_mode: 'const',
    mix_seed: null,
    mix_layers: null,
    name: 'One',
  });
  studio.gallery.favourites.add({
    ...base,
    seed: 2,
    noise_mode: 'random',
    mix_seed: null,
    mix_layers: null,
    name: 'Two',
  });
  // A style mix prints too: coarse layers from seed 7.
  studio.gallery.favourites.add({ ...base, seed: 3, noise_mode: 'const', mix_seed: 7, mix_layers: '4-8', name: 'Mix' });
});

after(async () => {
  await studio.close();
  tmp.cleanup();
});

const options = A5_PRINT;

async function call(method: string, params: unknown): Promise<unknown> {
  const reply = await handleRequest(studio, method, params);
  if (!reply.ok) throw Object.assign(new Error(reply.error.message), { code: reply.error.code });
  return reply.result;
}

test('exportPrints: progress events step by step to done; a second request lists the files in the way', async () => {
  const start = (await call('exportPrints', { favourites: 'all', options, folder: out })) as ExportStart;
  assert.ok(start.job);
  const jobId = start.job.jobId;
  const end = await waitFor(() => events.find((e) => e.jobId === jobId && e.state !== 'running'), 120_000, 'the end');
  assert.equal(end.state, 'done');
  assert.deepEqual(end.failed, []);
  assert.deepEqual(readdirSync(out).sort(), ['plate-001-one.png', 'plate-002-two.png', 'plate-003-mix.png']);
  const steps: string[] = events.filter((e) => e.jobId === jobId && e.current).map((e) => e.current!.step);
  for (const step of ['generating', 'upscaling', 'composing', 'writing']) assert.ok(steps.includes(step), step);
  // The mix is not its first seed's bird.
  const [one, mix] = await Promise.all(
    ['plate-001-one.png', 'plate-003-mix.png'].map((f) => sharp(join(out, f)).raw().toBuffer()),
  );
  assert.notDeepEqual(one, mix);

  const again = (await call('exportPrints', { favourites: [3], options, folder: out })) as ExportStart;
  assert.deepEqual(again, { existing: [join(out, 'plate-003-mix.png')] });
});

test('cancelExport stops a batch between steps; finished prints stay, nothing half-written', async () => {
  const folder = join(tmp.dir, 'cancel');
  mkdirSync(folder);
  const start = (await call('exportPrints', {
    favourites: [1, 2, 3],
    options: { ...options, paper: 'A4', dpi: 300 },
    folder,
  })) as ExportStart;
  const jobId = start.job!.jobId;
  await waitFor(() => events.find((e) => e.jobId === jobId && e.done === 1), 120_000, 'the first print');
  await call('cancelExport', { jobId });
  const end = await waitFor(() => events.find((e) => e.jobId === jobId && e.state !== 'running'), 60_000, 'the end');
  assert.equal(end.state, 'cancelled');
  assert.ok(end.written.length >= 1 && end.written.length < 3, `${end.written.length} written`);
  assert.deepEqual(readdirSync(folder).sort(), end.written.map((f) => f.slice(folder.length + 1)).sort());
});

test('bad export requests are refused before anything starts', async () => {
  const cases: [string, unknown, RegExp][] = [
    ['exportPrints', { favourites: 'all', options: { ...options, dpi: '300' }, folder: out }, /options\.dpi/],
    ['exportPrints', { favourites: 'all', options: { ...options, paper: 'B5' }, folder: out }, /options\.paper/],
    ['exportPrints', { favourites: [], options, folder: out }, /favourites/],
    [
      'exportPrints',
      { favourites: 'all', options: { ...options, dpi: 0 }, folder: out },
      /options\.dpi: must be a whole/,
    ],
    ['exportPrints', { favourites: [99], options, folder: out }, /no favourite with id 99/],
    ['exportContactSheet', { favourites: 'all', options, folder: out }, /unrecognized key/i],
    ['exportDataset', { datasetId: 1, folder: out, fileName: '../../x.zip' }, /fileName: cannot hold \/ or/],
    ['exportDataset', { datasetId: 1, folder: out }, /no dataset with id 1/],
    ['exportTimelapse', { runId: 5, folder: out, format: 'mov', fps: 12 }, /format/],
    ['cancelExport', { jobId: 12345 }, /no export job with id 12345/],
  ];
  for (const [method, params, message] of cases) await assert.rejects(call(method, params), message, method);
  // A favourite whose generator file is gone: named, nothing started.
  const lost = studio.gallery.favourites.add({
    run_id: null,
    checkpoint_id: null,
    generator_path: join(tmp.dir, 'gone.safetensors'),
    psi: 0.7,
    kimg: null,
    seed: 4,
    noise_mode: 'const',
    mix_seed: null,
    mix_layers: null,
    name: 'Gone',
  });
  assert.deepEqual(await call('exportPrints', { favourites: [1, lost.id], options, folder: out }), {
    missing: [{ favouriteId: lost.id, name: 'Gone', generatorPath: join(tmp.dir, 'gone.safetensors') }],
  });
  studio.gallery.favourites.remove(lost.id);
  const upscalers = (await call('describeUpscalers', undefined)) as Record<string, string>;
  assert.match(upscalers.esrgan!, /invents plausible fine detail/);
  assert.match(upscalers.lanczos!, /adds no detail/);
  assert.match(upscalers.auto!, /ESRGAN from 100 px per printed inch after its ×4, Lanczos below/);
});

test('printAdvice: the tiny favourites are soft on A4 and auto picks Lanczos; A5 is not enough, a custom paper is', async () => {
  const a4 = { ...options, paper: 'A4', upscaler: 'auto' };
  const lost = studio.gallery.favourites.add({
    run_id: null,
    checkpoint_id: null,
    generator_path: join(tmp.dir, 'gone.safetensors'),
    psi: 0.7,
    kimg: null,
    seed: 4,
    noise_mode: 'const',
    mix_seed: null,
    mix_layers: null,
    name: 'Gone',
  });
  try {
    const advice = (await call('printAdvice', { favourites: 'all', options: a4 })) as PrintAdvice[];
    assert.equal(advice.length, 1, 'one resolution; the favourite whose file is gone is left out');
    const [tiny] = advice;
    assert.deepEqual(tiny!.favouriteIds, [1, 2, 3]);
    assert.equal(tiny!.resolution, 32);
    assert.equal(tiny!.upscaler, 'lanczos');
    assert.equal(tiny!.soft, true);
    assert.equal(tiny!.smallerPaper?.paper, 'custom');
    const asked = (await call('printAdvice', {
      favourites: [2],
      options: { ...a4, upscaler: 'esrgan' },
    })) as PrintAdvice[];
    assert.equal(asked[0]!.upscaler, 'esrgan', 'an upscaler asked for by name is used');
    await assert.rejects(call('printAdvice', { favourites: [99], options: a4 }), /no favourite with id 99/);
    await assert.rejects(
      call('printAdvice', { favourites: 'all', options: { ...a4, upscaler: 'bicubic' } }),
      /upscaler/,
    );
  } finally {
    studio.gallery.favourites.remove(lost.id);
  }
});

test('exportTimelapse: the snapshot grids of a run, in step order, as an animated GIF', async () => {
  const ds = studio.datasets.ensureDataset(join(tmp.dir, 'plates'), 64, 'centre', '#ffffff');
  const run = new RunStore(studio.db, studio.home).createRun(newRunRow(ds.id, { name: 'Run of birds' }));
  const dir = join(studio.home, 'samples', `run-${run.id}`);
  mkdirSync(dir, { recursive: true });
  const store = new RunStore(studio.db, studio.home);
  for (const step of [300, 100, 200]) {
    const grid = `grid-${String(step).padStart(8, '0')}.png`;
    const shade = step / 2;
    const png = await sharp({ create: { width: 40, height: 20, channels: 3, background: { r: shade, g: 0, b: 0 } } })
      .png()
      .toBuffer();
    writeFileSync(join(dir, grid), png);
    store.insertSnapshot(run.id, step / 1000, step, `samples/run-${run.id}/${grid}`);
  }
  const start = (await call('exportTimelapse', { runId: run.id, folder: out, format: 'gif', fps: 5 })) as ExportStart;
  const end = await waitFor(() => events.find((e) => e.jobId === start.job!.jobId && e.state !== 'running'), 30_000);
  assert.equal(end.state, 'done', end.error ?? '');
  assert.deepEqual(end.written, [join(out, 'run-of-birds-timelapse.gif')]);
  const frames = await sharp(end.written[0]!, { animated: true }).raw().toBuffer({ resolveWithObject: true });
  assert.equal(frames.info.pages, 3);
  // Frame k's red channel follows the steps 100, 200, 300 (GIF palettes may shift a level).
  const reds = [0, 1, 2].map((k) => frames.data[k * 40 * 20 * frames.info.channels]!);
  assert.ok(reds[0]! < reds[1]! && reds[1]! < reds[2]!, `reds ${reds.join(', ')}`);
  await assert.rejects(call('exportTimelapse', { runId: run.id, folder: out, format: 'gif', fps: 0 }), (err: Error) => {
    assert.match(err.message, /fps: must be from 0.016 to 60/);
    assert.equal((err as Error & { code: string }).code, 'invalid-input');
    return true;
  });
});
