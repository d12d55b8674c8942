import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { Studio, type IngestReport } from '../../main/core/studio.js';
import { PackedCache } from '../../main/core/dataset/cache.js';
import { REPO_ROOT, tempDir } from '../helpers/paths.js';
import { plate as samplePlate } from '../helpers/plates.js';
import { BLUE, RED, assertNear, meanColour, pngBomb, solid, twoTone } from '../helpers/images.js';

const RES = 64;
const PAPER = { r: 0xf5, g: 0xf1, b: 0xe6 };
let tmp: ReturnType<typeof tempDir>;
let report: IngestReport;
let studio: Studio;
let pixelsOf: (file: string) => Promise<Buffer>;

/** Builds the folder of bad (and awkward but good) input the issue lists, from generated files. */
async function buildFolder(root: string, outside: string): Promise<void> {
  const w = (name: string, data: Buffer | string): void => writeFileSync(join(root, name), data);
  const plate = readFileSync(samplePlate('plate-100-marsh-wren.jpg'));

  w('empty.jpg', Buffer.alloc(0));
  w('text-renamed.jpg', 'These are my notes about the plates, not a picture.\n');
  w('notes.txt', 'ignored quietly: not an image and not named like one');
  w('truncated.jpg', plate.subarray(0, Math.floor(plate.length / 3)));
  w('tiny-1x1.png', await solid(1, 1, RED).png().toBuffer());
  w('small-40x50.png', await solid(40, 50, RED).png().toBuffer());
  w('bomb.png', pngBomb(20_000, 20_000));
  w(
    'links-local-file.svg',
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="200" height="200">` +
      `<image xlink:href="file://${outside}/secret.png" width="200" height="200"/></svg>`,
  );
  writeFileSync(join(outside, 'secret.png'), await solid(100, 100, BLUE).png().toBuffer());
  symlinkSync(join(outside, 'secret.png'), join(root, 'link-outside.png'));
  symlinkSync('loop-b.jpg', join(root, 'loop-a.jpg'));
  symlinkSync('loop-a.jpg', join(root, 'loop-b.jpg'));
  symlinkSync('..', join(root, 'parent-folder-link')); // a folder link: never descended

  w('cmyk.jpg', await solid(96, 96, RED).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer());
  w('sixteen-bit.png', await solid(96, 96, RED).toColourspace('rgb16').png().toBuffer());
  w('grey.png', await solid(96, 96, { r: 100, g: 100, b: 100 }).toColourspace('b-w').png().toBuffer());
  w(
    'alpha.png',
    await sharp({ create: { width: 96, height: 96, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 0 } } })
      .png()
      .toBuffer(),
  );
  // Stored 128 wide × 256 tall, red above blue, EXIF orientation 6 (display = turned 90° clockwise):
  // upright it is 256 × 128 with blue on the left and red on the right.
  w(
    'exif-rotated.jpg',
    await (await twoTone(128, 256, RED, BLUE)).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer(),
  );
  w(
    'animated.gif',
    await sharp([await solid(80, 80, RED).png().toBuffer(), await solid(80, 80, BLUE).png().toBuffer()], {
      join: { animated: true },
    })
      .gif()
      .toBuffer(),
  );
  w('lossless.webp', await solid(80, 80, BLUE).webp({ lossless: true }).toBuffer());
  w('scan.tiff', await solid(80, 80, RED).tiff().toBuffer());
  w('scan0042', await solid(80, 80, BLUE).png().toBuffer()); // no extension: still an image
  copyFileSync(samplePlate('plate-113-blue-bird.jpg'), join(root, 'plate with spaces ü 鳥.jpg'));
  copyFileSync(samplePlate('plate-113-blue-bird.jpg'), join(root, 'copy-of-blue-bird.jpg'));
  mkdirSync(join(root, '.hidden'));
  w('.hidden/ignored.png', await solid(80, 80, RED).png().toBuffer());
  w('.dotfile.png', await solid(80, 80, RED).png().toBuffer());
  mkdirSync(join(root, 'sub folder'));
  copyFileSync(samplePlate('plate-128-cat-bird.jpg'), join(root, 'sub folder', 'nested.jpg'));
}

before(async () => {
  tmp = tempDir('bad-input');
  const root = join(tmp.dir, 'plates');
  const outside = join(tmp.dir, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  await buildFolder(root, outside);
  studio = Studio.open({
    home: join(tmp.dir, 'home'),
    resourcesDir: join(REPO_ROOT, 'resources'),
    shell: 'server',
    watch: false,
  });
  report = await studio.ingestOnce(root, RES, 'centre');
  const ds = studio.datasets.listDatasets()[0]!;
  const cache = new PackedCache(join(tmp.dir, 'home', 'cache', `dataset-${ds.id}-${RES}.u8`), RES);
  pixelsOf = async (file) => {
    const row = studio.datasets.getSource(ds.id, file);
    assert.ok(row?.slot !== null && row?.slot !== undefined, `${file} has a cache slot`);
    return cache.readSlot(row.slot);
  };
});

after(async () => {
  await studio.close();
  tmp.cleanup();
});

const reasonOf = (file: string): string | undefined => report.rejected.find((r) => r.file === file)?.reason;
const accepted = (file: string): boolean => report.accepted.some((a) => a.file === file);

test('each bad file is rejected with a specific reason', () => {
  assert.equal(reasonOf('empty.jpg'), 'empty file (0 bytes)');
  assert.equal(reasonOf('text-renamed.jpg'), 'not an image (the file holds text)');
  assert.equal(reasonOf('truncated.jpg'), 'truncated JPEG');
  assert.equal(reasonOf('tiny-1x1.png'), '1×1 px is smaller than 64 px');
  assert.equal(reasonOf('small-40x50.png'), '40×50 px is smaller than 64 px');
  assert.equal(reasonOf('bomb.png'), '20000×20000 px exceeds the 268 Mpx pixel limit');
  assert.equal(reasonOf('links-local-file.svg'), 'SVG vector images are not accepted (export it as PNG)');
  assert.equal(reasonOf('link-outside.png'), 'symlink to a file outside the folder (not followed)');
  assert.equal(reasonOf('loop-a.jpg'), 'symlink loop (the link points back at itself)');
  assert.equal(reasonOf('loop-b.jpg'), 'symlink loop (the link points back at itself)');
});

test('files that are not images and not named like one, hidden files and folder links are quietly left out', () => {
  const all = [
    ...report.accepted.map((a) => a.file),
    ...report.rejected.map((r) => r.file),
    ...report.duplicates.map((d) => d.file),
  ];
  for (const quiet of ['notes.txt', '.dotfile.png', '.hidden/ignored.png', 'parent-folder-link']) {
    assert.ok(!all.some((f) => f.startsWith(quiet)), `${quiet} is not listed`);
  }
  assert.ok(!all.some((f) => f.includes('secret')), 'nothing from outside the folder is listed');
});

test('awkward but valid images are accepted, upright and in the right colours', async () => {
  for (const f of [
    'cmyk.jpg',
    'sixteen-bit.png',
    'grey.png',
    'alpha.png',
    'exif-rotated.jpg',
    'animated.gif',
    'lossless.webp',
    'scan.tiff',
    'scan0042',
    'sub folder/nested.jpg',
  ]) {
    assert.ok(accepted(f), `${f} accepted (rejected: ${reasonOf(f)})`);
  }
  assertNear(meanColour(await pixelsOf('cmyk.jpg'), RES, 8, 8, 48, 48), RED, 40, 'CMYK converted to sRGB');
  assertNear(meanColour(await pixelsOf('sixteen-bit.png'), RES, 8, 8, 48, 48), RED, 2, '16-bit scaled to 8-bit');
  assertNear(
    meanColour(await pixelsOf('grey.png'), RES, 8, 8, 48, 48),
    { r: 100, g: 100, b: 100 },
    2,
    'greyscale expanded to RGB',
  );
  assertNear(
    meanColour(await pixelsOf('alpha.png'), RES, 8, 8, 48, 48),
    PAPER,
    1,
    'transparency flattened onto the paper colour',
  );
  const rotated = await pixelsOf('exif-rotated.jpg');
  assertNear(meanColour(rotated, RES, 2, 8, 20, 48), BLUE, 30, 'left of the upright image');
  assertNear(meanColour(rotated, RES, 42, 8, 20, 48), RED, 30, 'right of the upright image');
  assert.deepEqual(
    report.accepted.find((a) => a.file === 'exif-rotated.jpg'),
    { file: 'exif-rotated.jpg', width: 256, height: 128 },
    'dimensions are reported upright',
  );
  assertNear(meanColour(await pixelsOf('animated.gif'), RES, 8, 8, 48, 48), RED, 3, 'first frame of the animation');
  assertNear(meanColour(await pixelsOf('lossless.webp'), RES, 8, 8, 48, 48), BLUE, 1, 'WebP');
  assertNear(meanColour(await pixelsOf('scan.tiff'), RES, 8, 8, 48, 48), RED, 1, 'TIFF');
});

test('identical files under two names are kept once and the other reported as its duplicate', () => {
  const names = ['copy-of-blue-bird.jpg', 'plate with spaces ü 鳥.jpg'];
  const kept = names.filter(accepted);
  assert.equal(kept.length, 1, 'exactly one of the twins is accepted');
  assert.deepEqual(report.duplicates, [{ file: names.find((n) => n !== kept[0])!, of: kept[0]! }]);
});

test('the report adds up: every listed file is in exactly one bucket', () => {
  const files = [...report.accepted, ...report.rejected, ...report.duplicates].map((x) => x.file);
  assert.equal(new Set(files).size, files.length);
  assert.equal(report.accepted.length, 11);
  assert.equal(report.rejected.length, 10);
});
