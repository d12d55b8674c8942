import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import type {
  BirdEdit,
  ExportProgress,
  ExportStart,
  Favourite,
  GenerateParams,
  GenerateResult,
} from '../../preload/contract.js';
import { handleRequest } from '../../main/core/api/handler.js';
import { initBackend } from '../../main/core/runtime/backend.js';
import { numWs } from '../../main/core/gan/config.js';
import { GeneratorCache } from '../../main/core/gallery/generator-cache.js';
import { birdWs } from '../../main/core/gallery/render.js';
import { LATENT_FORMAT, noiseResolutions, type LatentFile } from '../../main/core/insight/latent.js';
import { RandomState } from '../../main/core/gan/rng.js';
import { Studio } from '../../main/core/studio.js';
import { CLI, REPO_ROOT, tempDir, waitFor } from '../helpers/paths.js';
import { A5_PRINT } from '../helpers/prints.js';

// Favourites that hold a latent (a projected plate) or an edit (a move along a direction): each
// is drawn by every consumer of a favourite (the gallery, interpolation, style mixing, prints),
// the same bytes each time, through the app's own generator process.

const run = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;
let studio: Studio;
let home: string;
let gen: string;
/** Seed 7's truncated w (ψ 0.7) on every layer, as the gallery computes it: [numWs × wDim]. */
let seed7Ws: number[];
const events: ExportProgress[] = [];

const openStudio = (): Studio =>
  Studio.open({ home, resourcesDir: join(REPO_ROOT, 'resources'), shell: 'server', watch: false });

before(async () => {
  tmp = tempDir('favourite-latents');
  home = join(tmp.dir, 'home');
  gen = join(tmp.dir, 'tiny.safetensors');
  await run(process.execPath, [CLI, 'init', '--preset', 'tiny', '--seed', '11', '--out', gen]);
  studio = openStudio();
  studio.on('exportProgress', (p) => events.push(p));
  await initBackend('wasm', () => {});
  const cache = new GeneratorCache();
  seed7Ws = Array.from(await birdWs(await cache.get(gen), { seed: 7, psi: 0.7, noiseMode: 'const' }));
  cache.dispose();
});

after(async () => {
  await studio.close();
  tmp.cleanup();
});

async function call<T>(method: string, params: unknown): Promise<T> {
  const reply = await handleRequest(studio, method, params);
  if (!reply.ok) throw Object.assign(new Error(reply.error.message), { code: reply.error.code });
  return reply.result as T;
}

async function pixels(r: GenerateResult): Promise<Buffer> {
  await studio.gallery.settle(r);
  return readFileSync(join(home, r.birds[0]!.media));
}

/** A favourite drawn afresh (its cached picture removed first), as its bytes. */
async function redraw(s: Studio, id: number): Promise<Buffer> {
  const first = await s.renderFavourite({ id });
  rmSync(join(home, first.birds[0]!.media), { force: true });
  const r = await s.renderFavourite({ id });
  await s.gallery.settle(r);
  return readFileSync(join(home, r.birds[0]!.media));
}

/**
 * A copy of a safetensors generator with every noise strength set to `v` (float32 scalars), and
 * without the checksum its writer put in (it would no longer hold).
 */
function withNoiseStrength(file: string, v: number): string {
  const bytes = readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, unknown>;
  const data = Buffer.from(bytes.subarray(8 + headerLength));
  let n = 0;
  for (const [name, t] of Object.entries(header))
    if (name.endsWith('noise_strength')) {
      data.writeFloatLE(v, (t as { data_offsets: [number, number] }).data_offsets[0]);
      n++;
    }
  assert.ok(n > 0, 'the generator has noise strengths');
  delete (header.__metadata__ as Record<string, string>)['plumage.sha256'];
  const head = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(head.length));
  const out = file.replace(/\.safetensors$/, `-noise${v}.safetensors`);
  writeFileSync(out, Buffer.concat([length, head, data]));
  return out;
}

function latentFile(name: string, over: Partial<LatentFile> = {}): string {
  const file: LatentFile = {
    format: LATENT_FORMAT,
    generator: gen,
    resolution: 32,
    wDim: seed7Ws.length / numWs(32),
    wPlus: false,
    ws: seed7Ws,
    noise: [],
    steps: 10,
    distance: 0.5,
    psnr: 20,
    ...over,
  };
  const path = join(tmp.dir, `${name}-latent.json`);
  writeFileSync(path, JSON.stringify(file));
  return path;
}

test('an edit: 0 is the identity, and the kept favourite redraws the preview byte for byte, after a restart too', async () => {
  const base: GenerateParams = { generator: { file: gen }, seeds: [5], psi: 0.7, noiseMode: 'const' };
  const plain = await pixels(await studio.generate(base));
  const edit: BirdEdit = { method: 'sefa', layers: 'coarse', direction: 1, amount: 2.5 };
  const zero = await pixels(await studio.generate({ ...base, edit: { ...edit, amount: 0 } }));
  assert.ok(zero.equals(plain), 'moving by 0 draws the bird itself');
  const previewResult = await call<GenerateResult>('generate', { ...base, edit });
  assert.deepEqual(previewResult.edit, { ...edit, layers: '4-8' }, 'the layers as they are kept');
  const preview = await pixels(previewResult);
  assert.ok(!preview.equals(plain), 'an edit moves the bird');

  const fav = await call<Favourite>('addFavourite', {
    generator: { file: gen },
    seed: 5,
    psi: 0.7,
    noiseMode: 'const',
    edit,
  });
  assert.deepEqual(fav.edit, { ...edit, layers: '4-8' });
  assert.ok((await redraw(studio, fav.id)).equals(preview), 'the favourite redraws the preview');

  // A new session, with the directions' cache gone: the kept vector draws the same bytes.
  await studio.close();
  rmSync(join(home, 'directions'), { recursive: true, force: true });
  studio = openStudio();
  studio.on('exportProgress', (p) => events.push(p));
  assert.ok((await redraw(studio, fav.id)).equals(preview), 'the kept vector, the same bytes');

  await assert.rejects(
    call('addFavourite', {
      generator: { file: gen },
      seed: 5,
      psi: 0.7,
      noiseMode: 'const',
      edit: { ...edit, direction: 300 },
    }),
    /direction 300 does not exist: sefa gives \d+ directions/,
  );
  await assert.rejects(
    call('generate', { ...base, edit: { ...edit, amount: 1000 } }),
    /edit\.amount: must be a number from -100 to 100/,
  );
});

test('a GANSpace edit kept as a favourite names its vector: after a restart with no directions, the same bytes', async () => {
  const base: GenerateParams = { generator: { file: gen }, seeds: [5], psi: 0.7, noiseMode: 'const' };
  const edit: BirdEdit = { method: 'ganspace', layers: 'all', direction: 0, amount: 3 };
  const bird = { generator: { file: gen }, seed: 5, psi: 0.7, noiseMode: 'const', edit };
  const preview = await pixels(await studio.generate({ ...base, edit }));
  assert.ok(!preview.equals(await pixels(await studio.generate(base))), 'the edit moves the bird');
  const edits = (): string[] => (existsSync(join(home, 'edits')) ? readdirSync(join(home, 'edits')) : []);
  const before = new Set(edits());
  const fav = await call<Favourite>('addFavourite', bird);
  assert.deepEqual(fav.edit, { ...edit, layers: '4-32' });
  const kept = edits().filter((f) => !before.has(f));
  assert.equal(kept.length, 1, 'one vector file, named by its content');
  const file = JSON.parse(readFileSync(join(home, 'edits', kept[0]!), 'utf8')) as { method: string; vector: number[] };
  assert.equal(file.method, 'ganspace');
  assert.ok((await redraw(studio, fav.id)).equals(preview), 'the favourite redraws the preview');

  // A new session with the directions' cache gone: the redraw reads the kept vector, so no
  // PCA runs (its cache is not written again) and the bytes are the preview's.
  await studio.close();
  rmSync(join(home, 'directions'), { recursive: true, force: true });
  studio = openStudio();
  studio.on('exportProgress', (p) => events.push(p));
  assert.ok((await redraw(studio, fav.id)).equals(preview), 'the same bytes from the kept vector');
  assert.ok(!existsSync(join(home, 'directions')), 'no directions were computed for the redraw');

  // A damaged vector file is named, and the favourite is kept.
  const path = join(home, 'edits', kept[0]!);
  const text = readFileSync(path, 'utf8');
  writeFileSync(path, JSON.stringify({ ...file, vector: file.vector.slice(1) }));
  await assert.rejects(
    studio.renderFavourite({ id: fav.id }),
    /favourite \d+'s edit vector .*edits\/\w+\.json does not hold \d+ finite numbers/,
  );
  writeFileSync(path, text);
  // The file goes with the last favourite that names it.
  const twin = await call<Favourite>('addFavourite', { ...bird, name: 'Twin' });
  await call('removeFavourite', { id: fav.id });
  assert.ok(existsSync(path), 'still named by the twin');
  await call('removeFavourite', { id: twin.id });
  assert.ok(!existsSync(path), 'gone with the last favourite naming it');
});

test('a latent favourite draws its ws: the seed-7 w as a latent is the seed-7 bird; its own noise maps are used', async () => {
  const seedBird = await pixels(
    await studio.generate({ generator: { file: gen }, seeds: [7], psi: 0.7, noiseMode: 'const' }),
  );
  const fav = await call<Favourite>('addFavourite', { generator: { file: gen }, latent: latentFile('seed7') });
  assert.equal(fav.seed, null);
  assert.match(fav.latent!, new RegExp(`^${home}/latents/[0-9a-f]{24}\\.json$`), 'a copy in the home');
  assert.match(fav.name, /^[A-Z][a-z]+ [a-z]+$/, 'a binomial from its content');
  assert.ok((await redraw(studio, fav.id)).equals(seedBird), 'the latent of seed 7 is seed 7');

  // With noise maps of its own (as a projection finds them), those are its noise. A fresh
  // generator's noise strengths are 0 (noise changes nothing yet): this copy's are 0.5.
  const loud = withNoiseStrength(gen, 0.5);
  const rng = new RandomState(3);
  const noise = noiseResolutions(32).map((res) => ({
    res,
    values: Array.from({ length: res * res }, () => rng.uint32() / 2 ** 31 - 1),
  }));
  const noisy = await call<Favourite>('addFavourite', {
    generator: { file: loud },
    latent: latentFile('noisy', { noise }),
    name: 'Noisy',
  });
  const quiet = await call<Favourite>('addFavourite', { generator: { file: loud }, latent: latentFile('seed7') });
  const noisyBird = await redraw(studio, noisy.id);
  assert.ok(!noisyBird.equals(await redraw(studio, quiet.id)), 'its own noise maps draw it');
  assert.ok((await redraw(studio, noisy.id)).equals(noisyBird), 'the same bytes each time');

  // Style-mixed and moved, like any favourite.
  const mixed = await call<Favourite>('addFavourite', {
    generator: { file: gen },
    latent: latentFile('seed7'),
    mixSeed: 40,
    mixLayers: 'coarse',
    edit: { method: 'sefa', layers: 'all', direction: 0, amount: 1 },
  });
  assert.equal(mixed.latent, fav.latent, 'one file for one latent');
  const mixedBird = await redraw(studio, mixed.id);
  assert.ok(!mixedBird.equals(seedBird));
  assert.ok((await redraw(studio, mixed.id)).equals(mixedBird));

  // Removing one holder keeps the file; removing the last removes it.
  await call('removeFavourite', { id: mixed.id });
  assert.ok(existsSync(fav.latent!));
  await call('removeFavourite', { id: fav.id });
  assert.ok(!existsSync(fav.latent!), 'the last holder took its latent with it');
});

test('a latent that does not fit the generator is refused by name; nothing is kept', async () => {
  const before = existsSync(join(home, 'latents')) ? readdirSync(join(home, 'latents')).length : 0;
  const count = (await call<Favourite[]>('listFavourites', {})).length;
  const cases: [string, RegExp][] = [
    [latentFile('short', { ws: seed7Ws.slice(1) }), /short-latent\.json: ws must be 8 × \d+ \(or \d+\) finite numbers/],
    [latentFile('big', { resolution: 64 }), /big-latent\.json is the latent of a 64² generator/],
    [latentFile('nan', { ws: seed7Ws.map((v, i) => (i === 3 ? ('x' as never) : v)) }), /nan-latent\.json: ws must be/],
    [latentFile('holes', { noise: [{ res: 4, values: [1] }] }), /holes-latent\.json: noise must be none or 7 maps/],
    [join(tmp.dir, 'nowhere.json'), /no such file: .*nowhere\.json/],
  ];
  for (const [file, why] of cases)
    await assert.rejects(call('addFavourite', { generator: { file: gen }, latent: file }), why);
  await assert.rejects(
    call('addFavourite', { generator: { file: gen }, latent: latentFile('both'), seed: 3, psi: 1, noiseMode: 'const' }),
    /invalid|unrecognized/i,
  );
  assert.equal((await call<Favourite[]>('listFavourites', {})).length, count);
  const after = existsSync(join(home, 'latents')) ? readdirSync(join(home, 'latents')).length : 0;
  assert.equal(after, before, 'no latent file was kept');
});

test('a latent favourite interpolates (in W) to an invented bird, and prints like the seed it equals', async () => {
  const latent = await call<Favourite>('addFavourite', {
    generator: { file: gen },
    latent: latentFile('seed7'),
    name: 'Plate',
  });
  const seed7 = await call<Favourite>('addFavourite', {
    generator: { file: gen },
    seed: 7,
    psi: 0.7,
    noiseMode: 'const',
    name: 'Seven',
  });
  const invented = await call<Favourite>('addFavourite', {
    generator: { file: gen },
    seed: 9,
    psi: 0.7,
    noiseMode: 'const',
    name: 'Nine',
  });
  const strip = async (ids: number[]) =>
    sharp(
      join(
        home,
        (
          await call<{ media: string }>('interpolate', {
            favouriteIds: ids,
            space: 'w',
            frames: 5,
            fps: 12,
            format: 'strip',
          })
        ).media,
      ),
    )
      .raw()
      .toBuffer();
  const fromLatent = await strip([latent.id, invented.id]);
  const fromSeed = await strip([seed7.id, invented.id]);
  assert.ok(fromLatent.equals(fromSeed), 'from the latent of seed 7 = from seed 7, frame for frame');
  await assert.rejects(
    call('interpolate', { favouriteIds: [latent.id, invented.id], space: 'z', frames: 5, fps: 12, format: 'strip' }),
    /a projected bird \(a latent\) has no z: interpolate it in W instead/,
  );

  const out = join(tmp.dir, 'prints');
  mkdirSync(out);
  const start = await call<ExportStart>('exportPrints', {
    favourites: [latent.id, seed7.id],
    options: { ...A5_PRINT, upscaler: 'lanczos' },
    folder: out,
  });
  const jobId = start.job!.jobId;
  const end = await waitFor(() => events.find((e) => e.jobId === jobId && e.state !== 'running'), 120_000, 'the end');
  assert.equal(end.state, 'done');
  assert.deepEqual(end.failed, []);
  const files = readdirSync(out).sort();
  assert.equal(files.length, 2);
  const [a, b] = await Promise.all(files.map((f) => sharp(join(out, f)).raw().toBuffer({ resolveWithObject: true })));
  // The picture (the top half of the page) is the same bird; the captions differ ("projected" / "seed 7").
  const half = a!.info.width * a!.info.channels * Math.floor(a!.info.height / 2);
  assert.ok(a!.data.subarray(0, half).equals(b!.data.subarray(0, half)), 'the same picture');
  assert.ok(!a!.data.equals(b!.data), 'different captions');
});

test('a walk along a direction exports like an interpolation: its ends are the bird moved by −A and +A', async () => {
  const edit: BirdEdit = { method: 'sefa', layers: 'middle', direction: 2, amount: 3 };
  const bird = { generator: { file: gen }, seed: 12, psi: 0.7, noiseMode: 'const' } as const;
  const raw = async (file: string) => sharp(file).raw().toBuffer();
  const ends = await Promise.all(
    [-3, 3].map(async (amount) => {
      const r = await studio.generate({ ...bird, seeds: [12], edit: { ...edit, amount } });
      await studio.gallery.settle(r);
      return raw(join(home, r.birds[0]!.media));
    }),
  );
  const outDir = join(tmp.dir, 'walk');
  const seq = await call<{ files: string[]; downloads: Record<string, string> }>('interpolate', {
    along: { ...bird, edit },
    space: 'w',
    frames: 5,
    fps: 12,
    format: 'png',
    outDir,
  });
  assert.deepEqual(
    seq.files.map((f) => f.slice(outDir.length + 1)),
    [0, 1, 2, 3, 4].map((i) => `seed12-sefa2-middle-pm3-000${i}.png`),
  );
  assert.ok((await raw(seq.files[0]!)).equals(ends[0]!), 'the first frame is the bird moved by −3');
  assert.ok((await raw(seq.files[4]!)).equals(ends[1]!), 'the last frame is the bird moved by +3');
  const anim = await call<{ files: string[] }>('interpolate', {
    along: { ...bird, edit },
    space: 'w',
    frames: 5,
    fps: 12,
    format: 'webp',
    outDir,
  });
  assert.equal((await sharp(anim.files[0]!, { animated: true }).metadata()).pages, 5);
  await assert.rejects(
    call('interpolate', { along: { ...bird, edit }, space: 'z', frames: 5, fps: 12, format: 'strip' }),
    /a walk along a direction is a path in W/,
  );
  await assert.rejects(
    call('interpolate', {
      along: { ...bird, edit: { ...edit, amount: 0 } },
      space: 'w',
      frames: 5,
      fps: 12,
      format: 'strip',
    }),
    /needs an amount other than 0/,
  );
});
