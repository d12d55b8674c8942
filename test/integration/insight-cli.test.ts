import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { openDatabase } from '../../main/core/store/db.js';
import { DatasetStore } from '../../main/core/store/datasets.js';
import { datasetCacheFile } from '../../main/core/home-layout.js';
import { datasetFeatures, type DatasetImages } from '../../main/core/insight/dataset-features.js';
import { featureCacheFor } from '../../main/core/insight/feature-files.js';
import { featureNetwork } from '../../main/core/insight/feature-net.js';
import { kernelInceptionDistance } from '../../main/core/insight/kid.js';
import { memorisation } from '../../main/core/insight/nearest.js';
import { backendReady } from '../helpers/gan.js';
import { CLI, SAMPLE_PLATES, tempDir } from '../helpers/paths.js';

const run = promisify(execFile);
let tmp: ReturnType<typeof tempDir>;
let home: string;
let gen: string;

const cli = async (...args: string[]) => {
  const r = await run(process.execPath, [CLI, ...args, '--home', home], { maxBuffer: 1 << 24 });
  // These commands draw in-process: Dawn's own warnings (WebGPU on Mesa) never reach the user.
  assert.doesNotMatch(r.stderr, /^Warning: /m, `plumage ${args[0]}'s stderr`);
  return r.stdout;
};
const cliFails = async (...args: string[]): Promise<{ code: number; stderr: string }> => {
  try {
    await run(process.execPath, [CLI, ...args, '--home', home]);
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
  throw new Error(`plumage ${args.join(' ')} succeeded`);
};

before(async () => {
  tmp = tempDir('insight');
  home = join(tmp.dir, 'home');
  gen = join(tmp.dir, 'tiny.safetensors');
  await run(process.execPath, [CLI, 'init', '--preset', 'tiny', '--seed', '11', '--out', gen]);
  await run(process.execPath, [CLI, 'ingest', SAMPLE_PLATES, '--resolution', '64', '--home', home]);
});

after(() => tmp.cleanup());

/** The ingested plates as the insight code sees them (read from the home's database). */
function datasetImages(): DatasetImages {
  const db = openDatabase(join(home, 'plumage.db'));
  try {
    const store = new DatasetStore(db);
    const row = store.listDatasets()[0]!;
    return {
      datasetId: row.id,
      cacheFile: datasetCacheFile(home, row),
      resolution: row.resolution,
      crop: row.crop,
      paper: row.paper,
      sources: store
        .listAllSources(row.id)
        .filter((s) => s.status === 'accepted')
        .map((s) => ({ file: s.path, hash: s.hash!, slot: s.slot! })),
    };
  } finally {
    db.close();
  }
}

test('nearest: a training image fed in finds itself at distance 0, nearest first', { timeout: 300_000 }, async () => {
  const plate = join(SAMPLE_PLATES, 'plate-113-blue-bird.jpg');
  const r = JSON.parse(await cli('nearest', '--image', plate, '--dataset', SAMPLE_PLATES, '--k', '3', '--json')) as {
    neighbours: { file: string; distance: number }[];
    side: number;
  };
  assert.equal(r.side, 64);
  assert.equal(r.neighbours.length, 3);
  assert.equal(r.neighbours[0]!.file, plate);
  assert.equal(r.neighbours[0]!.distance, 0);
  assert.ok(r.neighbours[1]!.distance > 0 && r.neighbours[2]!.distance >= r.neighbours[1]!.distance);
  // The features were cached in the home, under a name derived from the dataset.
  assert.ok(statSync(featureCacheFor(home, 1, 64)).size > 24 * 768 * 4);
});

test('a bird that copies a plate is flagged; a drawn bird is not at distance 0', { timeout: 300_000 }, async () => {
  await backendReady;
  const ds = datasetImages();
  const net = await featureNetwork();
  const reals = await datasetFeatures(home, ds, 32, net);
  assert.equal(reals.files.length, 24);
  const plate = reals.features.slice(5 * 768, 6 * 768);
  const birds = JSON.parse(
    await cli('nearest', '--checkpoint', gen, '--seed', '3', '--dataset', SAMPLE_PLATES, '--k', '2', '--json'),
  ) as { neighbours: { distance: number }[]; side: number };
  assert.equal(birds.side, 32);
  assert.ok(birds.neighbours[0]!.distance > 0);
  const mem = await memorisation(plate, reals.features);
  assert.deepEqual(mem.flagged, [true]);
});

test(
  'metrics: KID with its spread and the memorisation rate, as JSON; the reals come from the cache',
  { timeout: 300_000 },
  async () => {
    const before32 = statSync(featureCacheFor(home, 1, 32)).mtimeMs;
    const r = JSON.parse(
      await cli('metrics', '--checkpoint', gen, '--dataset', SAMPLE_PLATES, '--images', '8', '--json'),
    ) as Record<string, unknown>;
    assert.equal(r.images, 8);
    assert.equal(r.reals, 24);
    assert.equal(r.subsetSize, 8);
    assert.equal(r.label, 'Plumage KID (InceptionV3 mixed5, 8 images)');
    assert.ok(typeof r.kid === 'number' && r.kid > 0, `an untrained network is far from the plates: ${r.kid}`);
    assert.ok(typeof r.kidStd === 'number' && r.kidStd > 0);
    assert.equal(r.memorisation, 0);
    assert.equal(statSync(featureCacheFor(home, 1, 32)).mtimeMs, before32, 'the dataset did not change: cache kept');
  },
);

test(
  'directions and generate --direction: 0 is the identity, an edit redraws the same bytes',
  { timeout: 300_000 },
  async () => {
    const d = JSON.parse(await cli('directions', '--checkpoint', gen, '--json')) as {
      strengths: number[];
      layers: string;
    };
    assert.equal(d.layers, '4-32');
    assert.ok(d.strengths.length > 4 && d.strengths.every((s, i) => i === 0 || s <= d.strengths[i - 1]!));
    const draw = async (name: string, ...extra: string[]) => {
      const out = join(tmp.dir, name);
      await cli('generate', '--checkpoint', gen, '--seeds', '5', '--out', out, ...extra);
      return out;
    };
    const plain = readFileSync(join(await draw('plain'), 'seed0005.png'));
    const zero = readFileSync(join(await draw('zero', '--direction', '0', '--amount', '0'), 'seed0005-dir0+0.png'));
    assert.ok(plain.equals(zero), 'moving by 0 draws the bird itself');
    const moved = readFileSync(join(await draw('moved', '--direction', '0', '--amount', '3'), 'seed0005-dir0+3.png'));
    const again = readFileSync(join(await draw('again', '--direction', '0', '--amount', '3'), 'seed0005-dir0+3.png'));
    assert.ok(!moved.equals(plain));
    assert.ok(moved.equals(again), 'the same edit redraws the same bytes');
  },
);

test("insight flags are checked like the app's requests: one line, exit 2", async () => {
  const images = await cliFails('metrics', '--checkpoint', gen, '--dataset', SAMPLE_PLATES, '--images', '1');
  assert.equal(images.code, 2);
  assert.match(images.stderr, /--images must be a whole number from 2 to 5000 \(got 1\)/);
  const noData = await cliFails('nearest', '--image', gen);
  assert.equal(noData.code, 2);
  assert.match(noData.stderr, /--dataset DIR is required/);
  const method = await cliFails('directions', '--checkpoint', gen, '--method', 'pca');
  assert.match(method.stderr, /--method must be sefa or ganspace/);
  const device = await cliFails('nearest', '--image', '/dev/zero', '--dataset', SAMPLE_PLATES);
  assert.equal(device.code, 1);
  assert.match(device.stderr, /the image \/dev\/zero is not a regular file/);
  assert.doesNotMatch(device.stderr, /^Warning: /m);
  const notIngested = await cliFails('nearest', '--image', gen, '--dataset', tmp.dir);
  assert.equal(notIngested.code, 1);
  assert.match(notIngested.stderr, /is not a dataset in this home: ingest it first/);
});

test('KID grows monotonically as the plates are progressively blurred or noised', { timeout: 600_000 }, async () => {
  await backendReady;
  const ds = datasetImages();
  const net = await featureNetwork();
  const reals = await datasetFeatures(home, ds, 64, net);
  const files = reals.files.slice(0, 12);
  const squares = await Promise.all(
    files.map(async (f) => {
      const src = ds.sources.find((s) => s.file === f)!;
      const fd = readFileSync(ds.cacheFile);
      return new Uint8Array(fd.subarray(src.slot * 64 * 64 * 3, (src.slot + 1) * 64 * 64 * 3));
    }),
  );
  const kidOf = async (imgs: Uint8Array[]) =>
    (await kernelInceptionDistance(await net.features(imgs, 64), reals.features, { subsets: 50 })).kid;
  const blurred = (sigma: number) =>
    Promise.all(
      squares.map(
        async (px) =>
          new Uint8Array(
            await sharp(px, { raw: { width: 64, height: 64, channels: 3 } })
              .blur(sigma)
              .raw()
              .toBuffer(),
          ),
      ),
    );
  const noised = (amount: number) => {
    let s = 12345;
    return squares.map((px) =>
      px.map((v) => {
        s = (s * 1103515245 + 12345) % 2147483648;
        return Math.max(0, Math.min(255, v + Math.round((s / 2147483648 - 0.5) * 2 * amount)));
      }),
    );
  };
  const blur = [
    await kidOf(squares),
    await kidOf(await blurred(1)),
    await kidOf(await blurred(2.5)),
    await kidOf(await blurred(5)),
  ];
  for (let i = 1; i < blur.length; i++) assert.ok(blur[i]! > blur[i - 1]!, `blur: ${blur.map((k) => k.toFixed(4))}`);
  const noise = [blur[0]!, await kidOf(noised(15)), await kidOf(noised(40)), await kidOf(noised(80))];
  for (let i = 1; i < noise.length; i++)
    assert.ok(noise[i]! > noise[i - 1]!, `noise: ${noise.map((k) => k.toFixed(4))}`);
});
