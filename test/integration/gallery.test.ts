import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import type { GalleryEvents, GenerateResult } from '../../preload/contract.js';
import { binomialName } from '../../main/core/gallery/names.js';
import { GeneratorClient } from '../../main/core/gallery/generator-client.js';
import { STRIP_SIDE } from '../../main/core/gallery/output.js';
import { Studio } from '../../main/core/studio.js';
import { framesAndSeconds, readMp4 } from '../helpers/mp4-boxes.js';
import { CLI, REPO_ROOT, tempDir } from '../helpers/paths.js';

const run = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;
let studio: Studio;
let home: string;
let gen: string;
const images: GalleryEvents['galleryImage'][] = [];
/** The grid's seeds 0–3 at ψ 0.7, const noise (drawn as one batch). */
let grid: Buffer[] = [];

before(async () => {
  tmp = tempDir('gallery');
  home = join(tmp.dir, 'home');
  gen = join(tmp.dir, 'tiny.safetensors');
  await run(process.execPath, [CLI, 'init', '--preset', 'tiny', '--seed', '11', '--out', gen]);
  // The default: drawing happens in the generator child process.
  studio = Studio.open({ home, resourcesDir: join(REPO_ROOT, 'resources'), shell: 'server', watch: false });
  studio.on('galleryImage', (e) => images.push(e));
});

after(async () => {
  await studio.close();
  tmp.cleanup();
});

const bytes = (media: string): Buffer => readFileSync(join(home, media));
async function drawn(r: GenerateResult): Promise<Buffer[]> {
  await studio.gallery.settle(r);
  return r.birds.map((b) => bytes(b.media));
}

test('the gallery streams birds from any generator file, the same bytes as `plumage generate`', async () => {
  const info = await studio.openGenerator({ file: gen });
  assert.deepEqual(info, {
    file: gen,
    runId: null,
    runName: null,
    checkpointId: null,
    snapshotId: null,
    kimg: null,
    resolution: 32,
  });
  const r = await studio.generate({ generator: { file: gen }, seeds: [0, 1, 2, 3], psi: 0.7, noiseMode: 'const' });
  assert.ok(r.jobId > 0);
  assert.ok(r.birds.every((b) => !b.ready));
  const ours = await drawn(r);
  grid = ours;
  assert.deepEqual(
    images.filter((e) => e.jobId === r.jobId).map((e) => e.index),
    [0, 1, 2, 3],
    'one event per bird, in order, as each lands',
  );
  const out = join(tmp.dir, 'cli-out');
  await run(process.execPath, [CLI, 'generate', '--checkpoint', gen, '--seeds', '0-3', '--out', out]);
  for (let s = 0; s < 4; s++)
    assert.ok(readFileSync(join(out, `seed000${s}.png`)).equals(ours[s]!), `seed ${s}: gallery = CLI, byte for byte`);
  const meta = await sharp(ours[0]).metadata();
  assert.deepEqual([meta.width, meta.height, meta.format], [32, 32, 'png']);
  assert.ok(!ours[0]!.equals(ours[1]!), 'different seeds, different birds');

  const again = await studio.generate({ generator: { file: gen }, seeds: [0, 3], psi: 0.7, noiseMode: 'const' });
  assert.equal(again.jobId, 0, 'birds already drawn are not drawn again');
  assert.ok(again.birds.every((b) => b.ready));
  const other = await drawn(
    await studio.generate({ generator: { file: gen }, seeds: [0], psi: 0.3, noiseMode: 'random' }),
  );
  assert.ok(!other[0]!.equals(ours[0]!), 'ψ and noise change the bird');
});

test('a favourite keeps everything to redraw it bit-identically, and a suggested name', async () => {
  const fav = await studio.addFavourite({ generator: { file: gen }, seed: 2, psi: 0.7, noiseMode: 'const' });
  assert.equal(fav.name, binomialName(2));
  assert.equal(fav.generatorPath, gen);
  const first = await drawn(await studio.renderFavourite({ id: fav.id }));
  assert.ok(first[0]!.equals(grid[2]!), 'drawn alone, it is the same bytes as in the batched grid');
  rmSync(join(home, 'gallery'), { recursive: true, force: true }); // nothing cached: drawn afresh
  const r = await studio.renderFavourite({ id: fav.id });
  assert.ok(r.jobId > 0, 'drawn again, not served from the cache');
  const second = await drawn(r);
  assert.ok(first[0]!.equals(second[0]!), 'the same bytes');
  const listed = await studio.listFavourites({ text: fav.name.split(' ')[1]! });
  assert.deepEqual(
    listed.map((f) => f.id),
    [fav.id],
  );
  const renamed = await studio.updateFavourite({ id: fav.id, name: 'Avis fictitia', note: 'the blue one' });
  assert.deepEqual([renamed.name, renamed.note], ['Avis fictitia', 'the blue one']);
  await assert.rejects(studio.updateFavourite({ id: fav.id, name: 'a\tb' }), /control characters/);
  await assert.rejects(
    studio.handle('addFavourite', { generator: { file: gen }, seed: 1, psi: 2, noiseMode: 'const' }),
    /psi/,
  );
});

test('style mixing takes the chosen layers from the second bird and is kept as a favourite', async () => {
  const [a, b] = await drawn(
    await studio.generate({ generator: { file: gen }, seeds: [5, 9], psi: 0.7, noiseMode: 'const' }),
  );
  const coarse = await studio.generate({
    generator: { file: gen },
    seeds: [5],
    psi: 0.7,
    noiseMode: 'const',
    mixSeed: 9,
    mixLayers: 'coarse',
  });
  assert.equal(coarse.mixLayers, '4-8');
  const [mixed] = await drawn(coarse);
  assert.ok(!mixed!.equals(a!) && !mixed!.equals(b!), 'a third bird');
  const [fine] = await drawn(
    await studio.generate({
      generator: { file: gen },
      seeds: [5],
      psi: 0.7,
      noiseMode: 'const',
      mixSeed: 9,
      mixLayers: '16-32',
    }),
  );
  assert.ok(!fine!.equals(mixed!), 'other layers, another bird');
  await assert.rejects(
    studio.generate({
      generator: { file: gen },
      seeds: [5],
      psi: 0.7,
      noiseMode: 'const',
      mixSeed: 9,
      mixLayers: 'fine',
    }),
    /32² generator has no fine layers/,
  );
  const fav = await studio.addFavourite({
    generator: { file: gen },
    seed: 5,
    psi: 0.7,
    noiseMode: 'const',
    mixSeed: 9,
    mixLayers: 'coarse',
  });
  assert.deepEqual([fav.mixSeed, fav.mixLayers], [9, '4-8']);
  rmSync(join(home, 'gallery'), { recursive: true, force: true });
  const [again] = await drawn(await studio.renderFavourite({ id: fav.id }));
  assert.ok(again!.equals(mixed!), 'the mix redraws bit-identically');
});

test('interpolation between favourites: strip, animated WebP and GIF (frame count read back), PNG sequence', async () => {
  const ids: number[] = [];
  for (const seed of [20, 21, 22])
    ids.push((await studio.addFavourite({ generator: { file: gen }, seed, psi: 0.7, noiseMode: 'const' })).id);
  const strip = await studio.interpolate({ favouriteIds: ids, space: 'z', frames: 7, fps: 10, format: 'strip' });
  const sm = await sharp(join(home, strip.media!)).metadata();
  assert.deepEqual([sm.width, sm.height], [STRIP_SIDE * 7, STRIP_SIDE]);
  const outDir = join(tmp.dir, 'exports');
  for (const format of ['webp', 'gif'] as const) {
    const r = await studio.interpolate({ favouriteIds: ids, space: 'w', frames: 9, fps: 12, format, outDir });
    assert.deepEqual(r.files, [join(outDir, `interpolation-${ids.join('-')}-w.${format}`)]);
    const m = await sharp(r.files[0]!, { pages: -1 }).metadata();
    assert.deepEqual([m.format, m.pages, m.pageHeight, m.width], [format, 9, 32, 32], format);
    assert.equal(m.loop, 0, 'it loops');
    // 1000/12 ms a frame; GIF counts in hundredths of a second.
    assert.ok(
      m.delay!.every((d) => d === (format === 'gif' ? 80 : 83)),
      `${format}: ${m.delay}`,
    );
    await assert.rejects(
      studio.interpolate({ favouriteIds: ids, space: 'w', frames: 9, fps: 12, format, outDir }),
      /already exists: choose another name/,
      'never overwrites',
    );
  }
  // MP4: the sample table says 9 frames of 32² over 9/12 s (test/unit/mp4 checks the boxes in detail).
  const mp4 = await studio.interpolate({ favouriteIds: ids, space: 'w', frames: 9, fps: 12, format: 'mp4', outDir });
  assert.deepEqual(mp4.files, [join(outDir, `interpolation-${ids.join('-')}-w.mp4`)]);
  const facts = readMp4(readFileSync(mp4.files[0]!));
  assert.deepEqual([facts.codec, facts.trackWidth, facts.trackHeight], ['avc1', 32, 32]);
  assert.deepEqual(framesAndSeconds(facts), { frames: 9, seconds: 0.75 });
  await assert.rejects(
    studio.interpolate({ favouriteIds: ids, space: 'w', frames: 9, fps: 12.5, format: 'mp4', outDir, name: 'x' }),
    /fps must be a whole number from 1 to 60 for mp4, got 12.5/,
  );
  assert.ok(!existsSync(join(outDir, 'x.mp4')), 'refused before anything was drawn or written');
  const seq = await studio.interpolate({
    favouriteIds: ids.slice(0, 2),
    space: 'w',
    frames: 5,
    fps: 5,
    format: 'png',
    outDir,
    name: 'walk',
  });
  assert.deepEqual(
    readdirSync(outDir).filter((f) => f.startsWith('walk-')),
    ['walk-0000.png', 'walk-0001.png', 'walk-0002.png', 'walk-0003.png', 'walk-0004.png'],
  );
  // The ends of a W path are the key birds themselves (const noise, no mix: exactly their pixels).
  const [key0] = await drawn(await studio.renderFavourite({ id: ids[0]! }));
  const px = async (b: Buffer | string) => sharp(b).raw().toBuffer();
  assert.ok((await px(seq.files[0]!)).equals(await px(key0!)), 'frame 0 is the first favourite');
  assert.ok(!(await px(seq.files[2]!)).equals(await px(key0!)), 'the middle is in between');
  await assert.rejects(
    studio.interpolate({ favouriteIds: ids, space: 'w', frames: 5, fps: 5, format: 'gif', outDir, name: '../x' }),
    /cannot hold \/ or/,
  );
  const mixFav = (await studio.listFavourites({})).find((f) => f.mixSeed !== null)!;
  await assert.rejects(
    studio.interpolate({ favouriteIds: [ids[0]!, mixFav.id], space: 'z', frames: 5, fps: 5, format: 'strip' }),
    /style-mixed bird has no single z: interpolate it in W/,
  );
  await assert.rejects(
    studio.handle('interpolate', { favouriteIds: [ids[0]], space: 'w', frames: 5, fps: 5, format: 'gif' }),
    /favouriteIds/,
  );
});

test('a favourite whose generator file is gone: a clear error naming it, listed as missing, removable', async () => {
  const copy = join(tmp.dir, 'doomed.safetensors');
  copyFileSync(gen, copy);
  const fav = await studio.addFavourite({ generator: { file: copy }, seed: 1, psi: 0.5, noiseMode: 'random' });
  const other = await studio.addFavourite({ generator: { file: gen }, seed: 1, psi: 0.5, noiseMode: 'random' });
  rmSync(copy);
  await assert.rejects(
    studio.renderFavourite({ id: fav.id }),
    new RegExp(
      `favourite #${fav.id} .* its generator file ${copy.replace(/[.]/g, '\\.')} is gone.*remove the favourite`,
    ),
  );
  await assert.rejects(
    studio.interpolate({ favouriteIds: [fav.id, other.id], space: 'w', frames: 3, fps: 1, format: 'strip' }),
    /different generator files/,
  );
  const listed = await studio.listFavourites({});
  assert.equal(listed.find((f) => f.id === fav.id)!.fileMissing, true);
  assert.equal(listed.find((f) => f.id === other.id)!.fileMissing, false);
  assert.equal(await studio.removeFavourite({ id: fav.id }), true);
  await assert.rejects(studio.renderFavourite({ id: fav.id }), /no favourite with id/);
});

test('CLI: favourite add / list --json / render, and interpolate, in a home of their own', async () => {
  const h = join(tmp.dir, 'cli-home');
  const add = await run(process.execPath, [
    CLI, 'favourite', 'add', '--checkpoint', gen, '--seed', '3', '--name', 'Pica nova', '--note', 'n', '--home', h, '--json',
  ]); // prettier-ignore
  const fav = JSON.parse(add.stdout) as { id: number; name: string; psi: number };
  assert.deepEqual([fav.name, fav.psi], ['Pica nova', 0.7]);
  await run(process.execPath, [CLI, 'favourite', 'add', '--checkpoint', gen, '--seed', '4', '--home', h]);
  const list = JSON.parse((await run(process.execPath, [CLI, 'favourite', 'list', '--json', '--home', h])).stdout);
  assert.deepEqual(
    (list as { seed: number; name: string }[]).map((f) => [f.seed, f.name]),
    [
      [3, 'Pica nova'],
      [4, binomialName(4)],
    ],
  );
  const out = join(tmp.dir, 'cli-render');
  await run(process.execPath, [CLI, 'favourite', 'render', String(fav.id), '--out', out, '--home', h]);
  const gen3 = join(tmp.dir, 'cli-gen3');
  await run(process.execPath, [CLI, 'generate', '--checkpoint', gen, '--seeds', '3', '--out', gen3]);
  assert.ok(readFileSync(join(out, `favourite-${fav.id}.png`)).equals(readFileSync(join(gen3, 'seed0003.png'))));
  const anim = join(tmp.dir, 'cli-anim');
  await run(process.execPath, [CLI, 'interpolate', '--favourites', '1,2', '--frames', '6', '--format', 'gif', '--out', anim, '--home', h]); // prettier-ignore
  assert.equal((await sharp(join(anim, 'interpolation-1-2-w.gif')).metadata()).pages, 6);
  // An MP4 from the command line, into a folder that does not exist yet.
  const video = join(tmp.dir, 'cli-video', 'new');
  await run(process.execPath, [CLI, 'interpolate', '--favourites', '1,2', '--frames', '6', '--fps', '24', '--format', 'mp4', '--out', video, '--home', h]); // prettier-ignore
  assert.deepEqual(readdirSync(video), ['interpolation-1-2-w.mp4'], 'the video alone, no temporary file');
  assert.deepEqual(framesAndSeconds(readMp4(readFileSync(join(video, 'interpolation-1-2-w.mp4')))), {
    frames: 6,
    seconds: 0.25,
  });
  await assert.rejects(
    run(process.execPath, [CLI, 'interpolate', '--favourites', '1,2', '--fps', '7.5', '--format', 'mp4', '--out', video, '--home', h]), // prettier-ignore
    /fps must be a whole number from 1 to 60 for mp4, got 7.5/,
  );
  await assert.rejects(
    run(process.execPath, [CLI, 'favourite', 'add', '--checkpoint', gen, '--seed=-1', '--home', h]),
    /--seed must be a whole number/,
  );
  await assert.rejects(run(process.execPath, [CLI, 'generate', '--run', '99', '--home', h]), /no run with id 99/);
  assert.ok(!existsSync(join(h, 'gallery', 'strips')));
});

test('a generator process that dies fails its job with the cause; the next job gets a fresh process', async () => {
  const client = new GeneratorClient();
  try {
    const out = Array.from({ length: 40 }, (_, i) => join(tmp.dir, 'crash', `s${i}.png`));
    const specs = out.map((_, seed) => ({ seed, psi: 0.7, noiseMode: 'random' as const })); // one at a time
    let killed = 0;
    const job = client.submit({ kind: 'birds', file: gen, specs, out }, () => {
      if (killed === 0) process.kill((killed = client.pid!), 'SIGKILL');
    });
    await assert.rejects(job.done, /the generator process ended \(SIGKILL\)/);
    const next = client.submit({ kind: 'birds', file: gen, specs: specs.slice(0, 2), out: out.slice(0, 2) });
    assert.deepEqual((await next.done).files, out.slice(0, 2));
    assert.ok(client.pid !== undefined && client.pid !== killed, 'a new process');
  } finally {
    await client.close();
  }
});
