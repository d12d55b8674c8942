// Writes test/fixtures/features/plate-64.json: the feature vector of test/fixtures/features/plate-64.png
// (made once from resources/sample-plates/plate-113-blue-bird.jpg, centre square, 64², sharp's
// Lanczos-3). Run after `npm run build`: `node scripts/feature-fixture.js`. Prints what
// shows the vector is plausible (non-negative means of ReLU maps, the spread, how far a
// one-pixel shift and a box resize move it) so a reviewer can judge it before committing.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';

const ROOT = resolve(import.meta.dirname, '..');
const DIR = join(ROOT, 'test', 'fixtures', 'features');
const PNG = join(DIR, 'plate-64.png');
const { initBackend } = await import(join(ROOT, 'dist/main/core/runtime/backend.js'));
const { FeatureNetwork } = await import(join(ROOT, 'dist/main/core/insight/feature-net.js'));

mkdirSync(DIR, { recursive: true });
if (!existsSync(PNG)) {
  await sharp(join(ROOT, 'resources/sample-plates/plate-113-blue-bird.jpg'))
    .resize(64, 64, { fit: 'cover', kernel: 'lanczos3' })
    .removeAlpha()
    .png()
    .toFile(PNG);
}
const info = await initBackend(process.env.PLUMAGE_TEST_BACKEND, () => {});
const pixels = new Uint8Array(await sharp(PNG).removeAlpha().raw().toBuffer());
const net = await FeatureNetwork.load();
const [f] = [await net.features([pixels], 64)];
const shifted = new Uint8Array(pixels.length);
shifted.set(pixels.subarray(3)); // one pixel left
const [g] = [await net.features([shifted], 64)];
const stats = (v) => {
  let min = Infinity,
    max = -Infinity,
    sum = 0;
  for (const x of v) {
    min = Math.min(min, x);
    max = Math.max(max, x);
    sum += x;
  }
  return { min, max, mean: sum / v.length };
};
let shift = 0;
for (let i = 0; i < f.length; i++) shift = Math.max(shift, Math.abs(f[i] - g[i]));
console.log(JSON.stringify({ backend: info.kind, ...stats(f), maxChangeFromOnePixelShift: shift }));
writeFileSync(
  join(DIR, 'plate-64.json'),
  JSON.stringify({
    image: 'plate-64.png',
    backend: info.kind,
    features: Array.from(f, (x) => Number(x.toPrecision(7))),
  }) + '\n',
);
