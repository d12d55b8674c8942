// Regenerates resources/sample-plates/ from ../shared/datasets/birds-dev: 24 plates (every 4th
// file in name order, which mixes portraits and landscapes), shrunk to 640 px on the short side.
// Usage: node scripts/make-sample-plates.js [sourceDir]
import sharp from 'sharp';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const source = process.argv[2] ?? '../shared/datasets/birds-dev';
const out = 'resources/sample-plates';
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const plates = readdirSync(source)
  .filter((f) => f.endsWith('.jpg'))
  .sort()
  .filter((_, i) => i % 4 === 0)
  .slice(0, 24);
for (const name of plates) {
  const img = sharp(join(source, name));
  const { width, height } = await img.metadata();
  const scale = 640 / Math.min(width, height);
  await img
    .resize(Math.round(width * scale), Math.round(height * scale), { kernel: 'lanczos3' })
    .jpeg({ quality: 82, mozjpeg: true })
    .toFile(join(out, name));
}
writeFileSync(
  join(out, 'CREDITS.txt'),
  'John James Audubon, The Birds of America (Havell edition, London, 1827–38). Public domain.\n' +
    'Scans from audubon.org via github.com/nathanbuchar/audubon-bird-plates-for-supernote, shrunk to 640 px.\n' +
    'Courtesy of the John James Audubon Center at Mill Grove, Montgomery County Audubon Collection, and Zebra Publishing.\n',
);
console.log(`${plates.length} plates written to ${out}`);
