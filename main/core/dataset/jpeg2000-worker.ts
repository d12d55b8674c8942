/**
 * One JPEG 2000 decode, in a worker thread that ends with it (see jpeg2000.ts for why).
 * In: workerData { bytes, resolution, crop }. Out: one message, { pixels } or { reason }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { CropMode } from '../../common/vocabulary.js';
import { UndecodableImage } from './decoded.js';
import { decisiveSide } from './geometry.js';
import { decodeJpeg2000 } from './jpeg2000.js';

const { bytes, resolution, crop } = workerData as { bytes: Uint8Array; resolution: number; crop: CropMode };
try {
  const pixels = await decodeJpeg2000(bytes, (size) => decisiveSide(size, crop) >= resolution);
  parentPort!.postMessage({ pixels }, [pixels.data.buffer as ArrayBuffer]);
} catch (err) {
  const reason =
    err instanceof UndecodableImage
      ? err.message
      : `could not decode JPEG 2000: ${err instanceof Error ? err.message : String(err)}`;
  parentPort!.postMessage({ reason });
}
