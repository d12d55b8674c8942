/**
 * The formats sharp's prebuilt libvips cannot open, decoded to pixels here and then fed to
 * the same sharp pipeline: Netpbm (PBM/PGM/PPM/PAM), BMP, and JPEG 2000 (JP2 and J2K).
 */
import { Worker } from 'node:worker_threads';
import type { CropMode } from '../../common/vocabulary.js';
import { RpcClient } from '../util/child-rpc.js';
import { workerTransport } from '../util/transport.js';
import { decodeBmp, readBmpHeader } from './bmp.js';
import { UndecodableImage, type ImageHeader, type RawPixels } from './decoded.js';
import { readJpeg2000Header } from './jpeg2000.js';
import type { Jpeg2000Protocol } from './jpeg2000-worker.js';
import { decodePnm, readPnmHeader } from './pnm.js';

export type RawFormat = 'pnm' | 'bmp' | 'jp2' | 'j2k';

export const isRawFormat = (format: string | null | undefined): format is RawFormat =>
  format === 'pnm' || format === 'bmp' || format === 'jp2' || format === 'j2k';

/** Dimensions from the header alone (so the pixel limit is checked before any decode). */
export function readRawHeader(format: RawFormat, bytes: Uint8Array): ImageHeader {
  switch (format) {
    case 'pnm':
      return readPnmHeader(bytes);
    case 'bmp':
      return readBmpHeader(bytes);
    default:
      return readJpeg2000Header(bytes);
  }
}

/**
 * Decodes the whole picture. Netpbm and BMP are plain loops over the bytes (linear, no larger
 * than the pixels); JPEG 2000 runs in its own worker thread. Throws UndecodableImage.
 */
export async function decodeRaw(
  format: RawFormat,
  bytes: Uint8Array,
  target: { resolution: number; crop: CropMode },
): Promise<RawPixels> {
  if (format === 'pnm') return decodePnm(bytes);
  if (format === 'bmp') return decodeBmp(bytes);
  return decodeInWorker(bytes, target);
}

async function decodeInWorker(bytes: Uint8Array, target: { resolution: number; crop: CropMode }): Promise<RawPixels> {
  const worker = new Worker(new URL('./jpeg2000-worker.js', import.meta.url));
  const rpc = new RpcClient<Jpeg2000Protocol>(workerTransport(worker), {
    name: 'JPEG 2000 decoder',
    errors: [UndecodableImage],
  });
  try {
    return await rpc.request('decode', { bytes, resolution: target.resolution, crop: target.crop });
  } catch (err) {
    if (err instanceof UndecodableImage) throw err;
    throw new UndecodableImage(`could not decode JPEG 2000: ${(err as Error).message}`);
  } finally {
    void worker.terminate();
  }
}
