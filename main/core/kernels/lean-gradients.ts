/**
 * Gradients of stock kernels with fewer dispatches than tfjs 4.22's own, which R1 and path
 * length run many times over (and differentiate again):
 * - Multiply, RealDiv, Square, Sqrt: tfjs casts each saved input to float32 before using it, a
 *   kernel (a copy, on wasm) and a tape node per cast although the inputs already are float32.
 *   Here the same arithmetic without the casts: the same bits.
 * - Rsqrt: tfjs computes −dy / (2·x^1.5) with `pow`, whose own gradient is a dozen kernels.
 *   Here −½·dy·rsqrt(x)/x (equal up to rounding). Not from the saved output: tfjs saves an
 *   output before the kernel's tape node exists, so a second derivative cannot reach x through it.
 * - Tile: tfjs adds up one slice of dy per repetition (minibatch stddev's [4,4,4,1] tile: 64
 *   slices and 64 adds). Here one reshape and sum per repeated axis (3-D at most, which every
 *   backend's reduction compiles): the same sum in another order.
 * - Sum and Mean: tfjs casts, reshapes and multiplies the broadcast dy by a tensor of ones; here
 *   the same multiply without the casts (tiling dy instead is one kernel fewer but, on wasm, far slower).
 * tfjs's own are registered again while the fused kernels are switched off (fused.ts), so the
 * bench and the tests can compare the two in one process.
 */
import * as tf from '@tensorflow/tfjs-core';
import { reshape, scale, spread, sum as leanSum, unbroadcast } from './lean-ops.js';

type GradFunc = tf.GradConfig['gradFunc'];

const { assertAndGetBroadcastShape } = tf.backend_util;

const allFloat = (ts: tf.Tensor[]): boolean => ts.every((t) => t.dtype === 'float32');

const multiply: GradFunc = (dy, saved) => {
  const [a, b] = saved as [tf.Tensor, tf.Tensor];
  assertAndGetBroadcastShape(a.shape, b.shape);
  return {
    a: () => unbroadcast(tf.mul(dy as tf.Tensor, b), a.shape, true),
    b: () => unbroadcast(tf.mul(dy as tf.Tensor, a), b.shape, true),
  };
};

const realDiv: GradFunc = (dy, saved) => {
  const [a, b] = saved as [tf.Tensor, tf.Tensor];
  return {
    a: () => unbroadcast(tf.div(dy as tf.Tensor, b), a.shape, true),
    b: () => tf.neg(tf.div(unbroadcast(tf.mul(dy as tf.Tensor, a), b.shape, true), tf.square(b))),
  };
};

const square: GradFunc = (dy, saved) => {
  const [x] = saved as [tf.Tensor];
  return { x: () => tf.mul(dy as tf.Tensor, scale(x, 2)) };
};

const sqrt: GradFunc = (dy, saved) => {
  const [x] = saved as [tf.Tensor];
  return { x: () => tf.div(dy as tf.Tensor, scale(tf.sqrt(x), 2)) };
};

const rsqrt: GradFunc = (dy, saved) => {
  const [x] = saved as [tf.Tensor];
  return { x: () => tf.mul(dy as tf.Tensor, scale(tf.div(tf.rsqrt(x), x), -0.5)) };
};

/** Sums a tiled tensor back to `shape`, one repeated axis at a time. */
function untile(g: tf.Tensor, shape: number[], reps: number[]): tf.Tensor {
  let y = g;
  for (let d = 0; d < shape.length; d++) {
    if (reps[d] === 1) continue;
    const before = y.shape.slice(0, d).reduce((p, q) => p * q, 1);
    const after = y.shape.slice(d + 1).reduce((p, q) => p * q, 1);
    const summed = leanSum(reshape(y, [before, reps[d]!, shape[d]! * after]), 1); // [before, x_d·after]
    y = reshape(summed, [...y.shape.slice(0, d), shape[d]!, ...y.shape.slice(d + 1)]);
  }
  return reshape(y, shape);
}

const tile: GradFunc = (dy, saved, attrs) => {
  const [x] = saved as [tf.Tensor];
  const { reps } = attrs as unknown as { reps: number[] };
  return { x: () => untile(dy as tf.Tensor, x.shape, reps) };
};

/** dy of a reduction over `axis` of x, broadcast back to x's shape (divided by `divisor` first). */
const spreadOver = (dy: tf.Tensor, x: tf.Tensor, axis: number | number[], divisor: number | null): tf.Tensor =>
  spread(dy, x.shape, tf.util.parseAxisParam(axis, x.shape), divisor);

const sum: GradFunc = (dy, saved, attrs) => {
  const [x] = saved as [tf.Tensor];
  return { x: () => spreadOver(dy as tf.Tensor, x, (attrs as unknown as { axis: number[] }).axis, null) };
};

const mean: GradFunc = (dy, saved, attrs) => {
  const [x] = saved as [tf.Tensor];
  const axis = (attrs as unknown as { axis: number[] }).axis;
  const axes = tf.util.parseAxisParam(axis, x.shape);
  const n = axes.reduce((p, a) => p * x.shape[a]!, 1);
  return { x: () => spreadOver(dy as tf.Tensor, x, axis, n) };
};

/** Add, Sub and Reshape read their saved inputs' shapes only: the same sums, reshapes without kernels off the tape. */
const addGrad: GradFunc = (dy, saved) => {
  const [a, b] = saved as [tf.Tensor, tf.Tensor];
  return { a: () => unbroadcast(dy as tf.Tensor, a.shape), b: () => unbroadcast(dy as tf.Tensor, b.shape) };
};

const subGrad: GradFunc = (dy, saved) => {
  const [a, b] = saved as [tf.Tensor, tf.Tensor];
  return {
    a: () => unbroadcast(dy as tf.Tensor, a.shape),
    b: () => unbroadcast(tf.neg(dy as tf.Tensor), b.shape, true),
  };
};

const reshapeGrad: GradFunc = (dy, saved) => {
  const [x] = saved as [tf.Tensor];
  return { x: () => reshape(dy as tf.Tensor, x.shape) };
};

interface Lean {
  kernelName: string;
  gradFunc: GradFunc;
  inputsToSave?: string[];
  outputsToSave?: boolean[];
  /** Only where this holds of the saved tensors (tfjs's own gradient otherwise: the same saves). */
  applies?: (saved: tf.Tensor[]) => boolean;
}

const LEAN: Lean[] = [
  { kernelName: tf.Multiply, gradFunc: multiply, inputsToSave: ['a', 'b'], applies: allFloat },
  { kernelName: tf.RealDiv, gradFunc: realDiv, inputsToSave: ['a', 'b'], applies: allFloat },
  { kernelName: tf.Square, gradFunc: square, inputsToSave: ['x'], applies: allFloat },
  { kernelName: tf.Sqrt, gradFunc: sqrt, inputsToSave: ['x'], applies: allFloat },
  { kernelName: tf.Rsqrt, gradFunc: rsqrt, inputsToSave: ['x'], applies: allFloat },
  { kernelName: tf.Tile, gradFunc: tile, inputsToSave: ['x'] },
  { kernelName: tf.Sum, gradFunc: sum, inputsToSave: ['x'] },
  { kernelName: tf.Mean, gradFunc: mean, inputsToSave: ['x'] },
  { kernelName: tf.Add, gradFunc: addGrad, inputsToSave: ['a', 'b'], applies: allFloat },
  { kernelName: tf.Sub, gradFunc: subGrad, inputsToSave: ['a', 'b'], applies: allFloat },
  { kernelName: tf.Reshape, gradFunc: reshapeGrad, inputsToSave: ['x'] },
];

const stockConfigs = new Map<string, tf.GradConfig>();

/**
 * Registers the lean gradients over tfjs's (`on`), or tfjs's own again. tfjs's must be
 * registered already (import `@tensorflow/tfjs` first); where there are none (tfjs-core alone,
 * as in a gallery lane, which differentiates nothing) nothing is registered.
 */
export function useLeanGradients(on: boolean): void {
  for (const lean of LEAN) {
    if (!stockConfigs.has(lean.kernelName)) {
      const stock = tf.getGradient(lean.kernelName);
      if (!stock) continue;
      stockConfigs.set(lean.kernelName, stock);
    }
    const stock = stockConfigs.get(lean.kernelName)!;
    if (!on) {
      tf.registerGradient(stock);
      continue;
    }
    tf.registerGradient({
      kernelName: lean.kernelName,
      inputsToSave: lean.inputsToSave ?? [],
      outputsToSave: lean.outputsToSave ?? [],
      gradFunc: (dy, saved, attrs) =>
        !lean.applies || lean.applies(saved) ? lean.gradFunc(dy, saved, attrs) : stock.gradFunc(dy, saved, attrs),
    });
  }
}
