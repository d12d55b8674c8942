/**
 * Upscalers for prints.
 *
 * - ESRGAN: UpscalerJS's "esrgan-slim" ×2/×4 networks (MIT; an RDN super-resolution model
 *   trained on DIV2K, weights inside the npm package, so nothing is downloaded). A learned model:
 *   it invents plausible fine detail (feather edges, paper grain) that was never in the picture.
 *   Run through tfjs on the backend runtime/backend.ts chose, in tiles so memory stays bounded
 *   whatever the picture's size.
 * - Lanczos: sharp's Lanczos-3 filter. Smooth and faithful; it adds no detail.
 *
 * Either way the result is then brought to the exact pixel size the paper needs with Lanczos.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import type { Upscaler } from '../../common/vocabulary.js';
import { initBackend, tf } from '../runtime/backend.js';

const require = createRequire(import.meta.url);
export type EsrganScale = 2 | 4;
/** Tile edge (input pixels) and the context each tile borrows from its neighbours. */
const TILE = 128;
const OVERLAP = 8;

/** The package's folder: its `exports` map hides package.json, so walk up from its entry point. */
function esrganPackageDir(): string {
  let dir = dirname(require.resolve('@upscalerjs/esrgan-slim'));
  while (!existsSync(join(dir, 'models', 'x4', 'model.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('the ESRGAN model files are missing from @upscalerjs/esrgan-slim');
    dir = up;
  }
  return dir;
}

const models = new Map<EsrganScale, Promise<import('@tensorflow/tfjs').LayersModel>>();

function loadEsrgan(scale: EsrganScale): Promise<import('@tensorflow/tfjs').LayersModel> {
  let model = models.get(scale);
  if (!model) {
    model = (async () => {
      await initBackend();
      const dir = join(esrganPackageDir(), 'models', `x${scale}`);
      const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as {
        modelTopology: object;
        weightsManifest: { paths: string[]; weights: import('@tensorflow/tfjs').io.WeightsManifestEntry[] }[];
      };
      const weights = Buffer.concat(
        json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dir, p)))),
      );
      return tf.loadLayersModel(
        tf.io.fromMemory({
          modelTopology: json.modelTopology,
          weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
          weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
        }),
      );
    })();
    model.catch(() => models.delete(scale));
    models.set(scale, model);
  }
  return model;
}

/**
 * ESRGAN ×scale of a [size, size, 3] RGB picture, tile by tile: each tile is run with OVERLAP
 * pixels of context on every side (cut from the picture, or edge-clamped at its border) and only
 * its centre is kept, so tile seams do not show. `onTile(done, total)` reports progress; `signal`
 * stops between tiles.
 */
export async function esrganUpscale(
  rgb: Uint8Array,
  width: number,
  height: number,
  scale: EsrganScale,
  onTile?: (done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const model = await loadEsrgan(scale);
  const outW = width * scale;
  const out = new Uint8Array(outW * height * scale * 3);
  const cols = Math.ceil(width / TILE);
  const rows = Math.ceil(height / TILE);
  const src = tf.tensor3d(rgb, [height, width, 3], 'int32');
  try {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        signal?.throwIfAborted();
        const x0 = c * TILE;
        const y0 = r * TILE;
        const w = Math.min(TILE, width - x0);
        const h = Math.min(TILE, height - y0);
        const ctxX = Math.max(0, x0 - OVERLAP);
        const ctxY = Math.max(0, y0 - OVERLAP);
        const ctxW = Math.min(width, x0 + w + OVERLAP) - ctxX;
        const ctxH = Math.min(height, y0 + h + OVERLAP) - ctxY;
        const tile = tf.tidy(() => {
          const x = src.slice([ctxY, ctxX, 0], [ctxH, ctxW, 3]).toFloat().expandDims(0); // [1,ctxH,ctxW,3], 0–255
          const y = model.predict(x) as import('@tensorflow/tfjs').Tensor4D; // [1,ctxH·s,ctxW·s,3]
          const keep = y.slice([0, (y0 - ctxY) * scale, (x0 - ctxX) * scale, 0], [1, h * scale, w * scale, 3]);
          return keep.clipByValue(0, 255).round().toInt();
        });
        const data = await tile.data();
        tile.dispose();
        for (let ty = 0; ty < h * scale; ty++) {
          const dst = ((y0 * scale + ty) * outW + x0 * scale) * 3;
          out.set(data.subarray(ty * w * scale * 3, (ty + 1) * w * scale * 3), dst);
        }
        // Yield between tiles, so a cancel and progress events get through.
        await new Promise((res) => setImmediate(res));
        onTile?.(r * cols + c + 1, rows * cols);
      }
    }
  } finally {
    src.dispose();
  }
  return out;
}

/**
 * The picture at exactly `target` × `target` pixels. ESRGAN goes ×4 (or ×2 when that already
 * reaches the target), then Lanczos takes it to the exact size; Lanczos alone resizes directly.
 */
export async function upscaleTo(
  rgb: Uint8Array,
  size: number,
  target: number,
  upscaler: Upscaler,
  onFraction?: (fraction: number) => void,
  signal?: AbortSignal,
): Promise<Buffer> {
  let pixels: Uint8Array = rgb;
  let current = size;
  if (upscaler === 'esrgan' && target > size) {
    const scale: EsrganScale = target <= size * 2 ? 2 : 4;
    pixels = await esrganUpscale(rgb, size, size, scale, (d, t) => onFraction?.(d / t), signal);
    current = size * scale;
  }
  signal?.throwIfAborted();
  const out = await sharp(pixels, { raw: { width: current, height: current, channels: 3 } })
    .resize(target, target, { kernel: 'lanczos3', fit: 'fill' })
    .raw()
    .toBuffer();
  onFraction?.(1);
  return out;
}
