/**
 * One side of the ingest benchmark, run as its own process:
 *   plumage <folder> <resolution> <home>  — Plumage's real ingest (cache + thumbnails)
 *   naive   <folder> <resolution> <out>   — decode each image at full size, crop, resize, save PNG, one at a time
 * Prints {images, seconds, peakRssMB}.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { Studio } from '../../main/core/studio.js';
import { DEFAULT_RESOURCES_DIR } from '../../main/core/version.js';
import type { Resolution } from '../../preload/contract.js';

const [mode, folder, res, out] = process.argv.slice(2) as [string, string, string, string];
const resolution = Number(res) as Resolution;
const started = performance.now();
let images = 0;

if (mode === 'plumage') {
  const studio = Studio.open({ home: out, resourcesDir: DEFAULT_RESOURCES_DIR, shell: 'server', watch: false });
  const report = await studio.ingestOnce(folder, resolution, 'centre');
  images = report.accepted.length;
  await studio.close();
} else {
  // The approach the issue measured with PIL: full decode, crop the centre square, resize, save.
  sharp.cache(false);
  mkdirSync(out, { recursive: true });
  for (const file of readdirSync(folder)
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .sort()) {
    const { data, info } = await sharp(readFileSync(join(folder, file)))
      .raw()
      .toBuffer({ resolveWithObject: true });
    const side = Math.min(info.width, info.height);
    await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
      .extract({
        left: Math.floor((info.width - side) / 2),
        top: Math.floor((info.height - side) / 2),
        width: side,
        height: side,
      })
      .resize(resolution, resolution, { kernel: 'lanczos3' })
      .png()
      .toFile(join(out, `${file}.png`));
    images++;
  }
}
console.log(
  JSON.stringify({
    images,
    seconds: (performance.now() - started) / 1000,
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
