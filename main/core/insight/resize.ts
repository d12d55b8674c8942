/**
 * The one resize every image takes on its way into the feature network: Lanczos-3 (a = 3),
 * antialiased when shrinking (the kernel is widened by the shrink factor), edges clamped, as
 * two matrix products on the tfjs backend. Dataset squares, generated birds and projection
 * targets all go through it, so scores never move with the resize method (clean-fid measured FID
 * shifts of 6+ from the resize alone). It is written as matrices, not sharp's filter, because
 * projection needs gradients through it.
 */
import * as tf from '@tensorflow/tfjs-core';

const A = 3; // Lanczos lobes

function lanczos(x: number): number {
  if (x === 0) return 1;
  if (Math.abs(x) >= A) return 0;
  const px = Math.PI * x;
  return (A * Math.sin(px) * Math.sin(px / A)) / (px * px);
}

/** Weights [to, from] (row i: output pixel i's taps), each row summing to 1. */
export function lanczosMatrix(from: number, to: number): Float32Array {
  const scale = from / to;
  const stretch = Math.max(1, scale); // antialias: widen the kernel when shrinking
  const support = A * stretch;
  const out = new Float32Array(to * from);
  for (let i = 0; i < to; i++) {
    const centre = (i + 0.5) * scale - 0.5;
    const row = new Float64Array(from);
    let sum = 0;
    for (let j = Math.floor(centre - support); j <= Math.ceil(centre + support); j++) {
      const w = lanczos((j - centre) / stretch);
      if (w === 0) continue;
      row[Math.min(from - 1, Math.max(0, j))]! += w; // clamp: the edge pixel repeats
      sum += w;
    }
    for (let j = 0; j < from; j++) out[i * from + j] = row[j]! / sum;
  }
  return out;
}

const matrices = new Map<string, tf.Tensor2D>();

/** The transposed matrix [from, to] as a kept tensor (one per size pair per process). */
function kept(from: number, to: number): tf.Tensor2D {
  const key = `${from}>${to}`;
  let m = matrices.get(key);
  if (!m || m.isDisposed) {
    const w = lanczosMatrix(from, to); // [to, from]
    m = tf.keep(tf.transpose(tf.tensor2d(w, [to, from]))) as tf.Tensor2D; // [from, to]
    matrices.set(key, m);
  }
  return m;
}

/** [N,S,S,C] → [N,to,to,C] with the Lanczos-3 matrices (differentiable: plain matMuls). */
export function resizeSquare(x: tf.Tensor4D, to: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (h !== w) throw new Error(`resizeSquare takes squares, got ${h}×${w}`);
  if (h === to) return x;
  const m = kept(h, to); // [S,to]
  // Columns: rows of pixels (per channel) times m.
  const byRow = tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [n * c * h, w]); // [N·C·S, S]
  const cols = tf.reshape(tf.matMul(byRow, m), [n * c, h, to]); // [N·C, S(y), to(x)]
  const byCol = tf.reshape(tf.transpose(cols, [0, 2, 1]), [n * c * to, h]); // [N·C·to(x), S(y)]
  const both = tf.reshape(tf.matMul(byCol, m), [n, c, to, to]); // [N, C, to(x), to(y)]
  return tf.transpose(both, [0, 3, 2, 1]) as tf.Tensor4D; // [N, to(y), to(x), C]
}

/**
 * A uint8 RGB square box-filtered down by an integer factor, exactly as the trainer's sampler
 * feeds a network smaller than the dataset's cache (the tiny preset trains at 32² from 64²):
 * reals are compared with birds at the size the network learned them.
 */
export function boxDown(pixels: Uint8Array, from: number, to: number): Uint8Array {
  if (from === to) return pixels;
  if (from % to !== 0) throw new RangeError(`a ${from}² square cannot be box-filtered to ${to}²`);
  const f = from / to;
  const out = new Uint8Array(to * to * 3);
  for (let y = 0; y < to; y++)
    for (let x = 0; x < to; x++)
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let dy = 0; dy < f; dy++)
          for (let dx = 0; dx < f; dx++) sum += pixels[((y * f + dy) * from + x * f + dx) * 3 + c]!;
        out[(y * to + x) * 3 + c] = Math.round(sum / (f * f));
      }
  return out;
}
