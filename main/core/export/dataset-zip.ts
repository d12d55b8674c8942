/**
 * A dataset exported in the format of the reference implementation's dataset_tool.py
 * (stylegan2-ada-pytorch), to train on a bigger machine: a zip holding `00000/img00000000.png`,
 * `00000/img00000001.png`, … (a folder per thousand) and `dataset.json` with `{"labels": null}`
 * (unconditional). The squares come from the dataset's packed cache, exactly what Plumage
 * trains on. The zip is streamed to disk image by image, so memory stays flat however large
 * the dataset; PNGs are stored, not deflated again.
 */
import { open, unlink } from 'node:fs/promises';
import { Zip, ZipDeflate, ZipPassThrough } from 'fflate';
import sharp from 'sharp';
import { writeFully } from '../util/atomic.js';
import { ExportInputError, moveInPlace, tempPathFor } from './files.js';
import type { ExportJob } from './job.js';
import { writeFailed } from './write-errors.js';

export interface DatasetExportInput {
  /** Packed cache file and its square size. */
  cacheFile: string;
  resolution: number;
  /** Live slots, in the order the images are numbered. */
  slots: number[];
}

/** dataset_tool.py's archive names: idx 1234 → "00001/img00001234.png". */
export function referenceImageName(idx: number): string {
  const s = String(idx).padStart(8, '0');
  return `${s.slice(0, 5)}/img${s}.png`;
}

export async function exportDatasetZip(
  input: DatasetExportInput,
  path: string,
  overwrite: boolean,
  job: ExportJob,
): Promise<void> {
  if (input.slots.length === 0) throw new ExportInputError('the dataset has no accepted images to export');
  const slotBytes = input.resolution * input.resolution * 3;
  const cache = await open(input.cacheFile, 'r');
  const tmp = tempPathFor(path);
  const out = await open(tmp, 'wx').catch(async (err: unknown) => {
    await cache.close();
    throw writeFailed(err, path);
  });
  // fflate calls back synchronously with each chunk; writes are chained so they land in order.
  let writing: Promise<void> = Promise.resolve();
  let zipError: Error | null = null;
  const zip = new Zip((err, chunk) => {
    if (err) zipError = err;
    else writing = writing.then(() => writeFully(out, chunk));
  });
  try {
    for (const [idx, slot] of input.slots.entries()) {
      const name = referenceImageName(idx);
      job.step(name, 'writing', idx / input.slots.length);
      const pixels = Buffer.alloc(slotBytes);
      const { bytesRead } = await cache.read(pixels, 0, slotBytes, slot * slotBytes);
      if (bytesRead !== slotBytes) throw new Error(`image ${slot} is missing from the cache ${input.cacheFile}`);
      const png = await sharp(pixels, { raw: { width: input.resolution, height: input.resolution, channels: 3 } })
        .png()
        .toBuffer();
      const entry = new ZipPassThrough(name);
      zip.add(entry);
      entry.push(png, true);
      await writing; // one image in flight at a time: memory stays bounded
      if (zipError) throw zipError;
    }
    const meta = new ZipDeflate('dataset.json', { level: 6 });
    zip.add(meta);
    meta.push(new TextEncoder().encode(JSON.stringify({ labels: null })), true);
    zip.end();
    await writing;
    if (zipError) throw zipError;
    await out.close();
    await moveInPlace(tmp, path, overwrite);
    job.wrote(path);
  } catch (err) {
    zip.terminate();
    await writing.catch(() => undefined);
    await out.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw writeFailed(err, path);
  } finally {
    await cache.close();
  }
}
