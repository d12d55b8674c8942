import { existsSync } from 'node:fs';
import { mkdir, realpath, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import type { SourcePreview } from '../../common/records.js';
import { thumbsDir, thumbsKey } from '../home-layout.js';
import type { DatasetRow, SourceRow } from '../store/datasets.js';
import { parseHexColour } from './geometry.js';
import { inspectFile } from './inspect.js';
import { PIXEL_LIMIT } from './process.js';
import { decodeRaw, isRawFormat } from './rawformats.js';

/** The longest side of a source's preview: large on screen, small on disk. */
export const PREVIEW_SIDE = 768;

/**
 * A large view of one source file as it is on disk (upright, whole, not cropped), for the
 * Dataset view: written once under the dataset's thumbnails (so forgetting the dataset removes
 * it, and it is served as media like a thumbnail). Rejected files get one where their bytes can
 * still be drawn — a truncated JPEG shows what arrived, an image too small shows as it is; text,
 * links out of the folder and unreadable files get the reason instead. Never throws for a bad file.
 */
export async function previewSource(home: string, ds: DatasetRow, src: SourceRow): Promise<SourcePreview> {
  const file = resolve(ds.folder, src.path);
  const base = { file, status: src.status, reason: src.reason };
  const found = await inspectFile(await realpath(ds.folder).catch(() => ds.folder), ds.folder, src.path);
  if (found.kind === 'gone') return { ...base, preview: null, why: 'the file is no longer in the folder' };
  if (found.kind === 'ignored') return { ...base, preview: null, why: 'not a picture' };
  if (found.kind === 'rejected') return { ...base, preview: null, why: found.reason };
  const key = `${thumbsKey(ds.id)}/preview-${found.hash.slice(0, 20)}-${PREVIEW_SIDE}.png`;
  const out = join(home, key);
  if (existsSync(out)) return { ...base, preview: key, why: null };
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    let image: Sharp;
    if (isRawFormat(found.format)) {
      const raw = await decodeRaw(found.format, found.bytes, { resolution: PREVIEW_SIDE, crop: 'pad' });
      image = sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels } });
    } else {
      // failOn 'none': a cut-off file still shows the part that arrived.
      image = sharp(found.bytes, { limitInputPixels: PIXEL_LIMIT, failOn: 'none', animated: false }).rotate();
    }
    await mkdir(thumbsDir(home, ds.id), { recursive: true });
    await image
      .flatten({ background: parseHexColour(ds.paper) })
      .resize(PREVIEW_SIDE, PREVIEW_SIDE, { fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb')
      .png()
      .toFile(tmp);
    await rename(tmp, out);
    return { ...base, preview: key, why: null };
  } catch (err) {
    await rm(tmp, { force: true });
    return { ...base, preview: null, why: `no preview could be drawn: ${(err as Error).message.split('\n')[0]}` };
  }
}
