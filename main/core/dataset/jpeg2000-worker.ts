/**
 * JPEG 2000 decodes, in a worker thread the parent ends after one file (see jpeg2000.ts for why).
 * Spoken with util/child-rpc.ts; the pixels are moved back, not copied.
 */
import { parentPort } from 'node:worker_threads';
import type { CropMode } from '../../common/vocabulary.js';
import { serve } from '../util/child-rpc.js';
import { portTransport } from '../util/transport.js';
import { UndecodableImage, type RawPixels } from './decoded.js';
import { decisiveSide } from './geometry.js';
import { decodeJpeg2000 } from './jpeg2000.js';

export interface Jpeg2000Protocol {
  requests: { decode: { params: { bytes: Uint8Array; resolution: number; crop: CropMode }; result: RawPixels } };
  events: Record<never, never>;
}

serve<Jpeg2000Protocol>(portTransport(parentPort!), {
  decode: async ({ bytes, resolution, crop }, { transfer }) => {
    try {
      const pixels = await decodeJpeg2000(bytes, (size) => decisiveSide(size, crop) >= resolution);
      transfer([pixels.data.buffer as ArrayBuffer]);
      return pixels;
    } catch (err) {
      if (err instanceof UndecodableImage) throw err;
      throw new UndecodableImage(`could not decode JPEG 2000: ${err instanceof Error ? err.message : String(err)}`);
    }
  },
});
