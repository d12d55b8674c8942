/**
 * bias_act with a leaky ReLU, as the reference's `torch_utils/ops/bias_act` (act='lrelu'):
 * y = lrelu(x + b, α)·gain in one kernel instead of add, leakyRelu and mul, and its gradient
 * dx = dy·gain·(y > 0 ? 1 : α) in one more (the bias's is Σ dx over all but the channel axis).
 * The gradient reads the output y as the reference's does: y > 0 exactly where x + b > 0 (gain
 * and α are positive), so the pre-activation is never kept. The gradient of the gradient is the
 * same kernel again (dx is linear in dy; the slope does not change with y), so R1 and path length
 * differentiate it as often as they need.
 *
 * On wasm each value goes through the composed ops' float32 operations in their order: the
 * same bits, forward and first order.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapViews, isWasm, wasmOutputs } from './wasm-heap.js';
import { floats, isWebGpu, perElement } from './webgpu-program.js';

export const BIAS_ACT_KERNEL = 'PlumageBiasAct';
export const BIAS_ACT_GRAD_KERNEL = 'PlumageBiasActGrad';

export interface BiasActAttrs {
  alpha: number; // the leaky ReLU's slope below zero
  gain: number; // the factor after the activation
}

/** lrelu(x + b, α)·gain; b [C] broadcasts over x's last axis. */
export function biasAct<T extends tf.Tensor>(x: T, b: tf.Tensor, a: BiasActAttrs): T {
  if (b.rank !== 1 || b.shape[0] !== x.shape[x.rank - 1])
    throw new RangeError(`bias_act: a bias of [${b.shape}] for an input of [${x.shape}]`);
  return tf.engine().runKernel(BIAS_ACT_KERNEL, { x, b }, a as unknown as tf.NamedAttrMap) as T;
}

/** dy·gain·(y > 0 ? 1 : α): the input gradient of bias_act from its output y. */
export function biasActGrad<T extends tf.Tensor>(dy: T, y: tf.Tensor, a: BiasActAttrs): T {
  return tf.engine().runKernel(BIAS_ACT_GRAD_KERNEL, { dy, y }, a as unknown as tf.NamedAttrMap) as T;
}

type Args = { inputs: Record<string, tf.TensorInfo>; backend: unknown; attrs?: tf.NamedAttrMap };

/**
 * 1 where a float32 with these bits is > 0, else 0 (−0, +0 and negatives; a NaN with its sign bit
 * clear counts as positive, where `y > 0` would not: its gradient is NaN-poisoned either way).
 * Half the activations are negative at random, so `y > 0 ? 1 : α` mispredicted a branch every
 * other value: 5× slower than this (5.8 against 1.2 ms per 2^20 values on this CPU). The slope is
 * then α + (1 − α)·this, exactly 1 or α in float64 (α is a float32), so every product is the
 * composed ops' to the bit.
 */
const slopeOf = (bits: number): number => ((-bits & ~bits) >>> 31) as 0 | 1;

function biasActWasm({ inputs, backend, attrs }: Args): tf.TensorInfo {
  if (!isWasm(backend)) throw new Error(`${BIAS_ACT_KERNEL}: not the wasm backend`);
  const { alpha, gain } = attrs as unknown as BiasActAttrs;
  const [out] = wasmOutputs(backend, [inputs.x!.shape]);
  const [X, B, Y] = heapViews(backend, [inputs.x!, inputs.b!, out!]);
  const f = Math.fround;
  const [fa, fg] = [f(alpha), f(gain)];
  const c = B!.length;
  // z = x + b first, then the slope from z's bits without a branch (see slopeOf).
  for (let i = 0; i < X!.length; i += c) for (let ch = 0; ch < c; ch++) Y![i + ch] = X![i + ch]! + B![ch]!;
  const Z = new Int32Array(Y!.buffer, Y!.byteOffset, Y!.length);
  const rise = 1 - fa;
  for (let i = 0; i < Y!.length; i++) Y![i] = f(f(Y![i]! * (fa + rise * slopeOf(Z[i]!))) * fg);
  return out!;
}

function biasActGradWasm({ inputs, backend, attrs }: Args): tf.TensorInfo {
  if (!isWasm(backend)) throw new Error(`${BIAS_ACT_GRAD_KERNEL}: not the wasm backend`);
  const { alpha, gain } = attrs as unknown as BiasActAttrs;
  const [out] = wasmOutputs(backend, [inputs.dy!.shape]);
  const [D, Y, O] = heapViews(backend, [inputs.dy!, inputs.y!, out!]);
  const f = Math.fround;
  const [fa, fg] = [f(alpha), f(gain)];
  const bits = new Int32Array(Y!.buffer, Y!.byteOffset, Y!.length);
  const rise = 1 - fa;
  for (let i = 0; i < D!.length; i++) O![i] = f(f(D![i]! * fg) * (fa + rise * slopeOf(bits[i]!)));
  return out!;
}

function biasActWebGpu({ inputs, backend, attrs }: Args): tf.TensorInfo {
  if (!isWebGpu(backend)) throw new Error(`${BIAS_ACT_KERNEL}: not the webgpu backend`);
  const { alpha, gain } = attrs as unknown as BiasActAttrs;
  const x = inputs.x!;
  const program = perElement(
    'bias_act',
    ['X', 'B'],
    x.shape,
    `let z = X[index] + B[index % uniforms.bShape];
     var l = z;
     if (z < 0.0) { l = uniforms.alpha * z; }
     setOutputAtIndex(index, l * uniforms.gain);`,
    ['alpha', 'gain'],
  );
  return backend.runWebGPUProgram(program, [x, inputs.b!], 'float32', floats(alpha, gain));
}

function biasActGradWebGpu({ inputs, backend, attrs }: Args): tf.TensorInfo {
  if (!isWebGpu(backend)) throw new Error(`${BIAS_ACT_GRAD_KERNEL}: not the webgpu backend`);
  const { alpha, gain } = attrs as unknown as BiasActAttrs;
  const program = perElement(
    'bias_act_grad',
    ['D', 'Y'],
    inputs.dy!.shape,
    `var s = uniforms.alpha;
     if (Y[index] > 0.0) { s = 1.0; }
     setOutputAtIndex(index, (D[index] * uniforms.gain) * s);`,
    ['alpha', 'gain'],
  );
  return backend.runWebGPUProgram(program, [inputs.dy!, inputs.y!], 'float32', floats(alpha, gain));
}

export const biasActKernels: tf.KernelConfig[] = [
  { kernelName: BIAS_ACT_KERNEL, backendName: 'wasm', kernelFunc: biasActWasm as unknown as tf.KernelFunc },
  { kernelName: BIAS_ACT_KERNEL, backendName: 'webgpu', kernelFunc: biasActWebGpu as unknown as tf.KernelFunc },
  { kernelName: BIAS_ACT_GRAD_KERNEL, backendName: 'wasm', kernelFunc: biasActGradWasm as unknown as tf.KernelFunc },
  {
    kernelName: BIAS_ACT_GRAD_KERNEL,
    backendName: 'webgpu',
    kernelFunc: biasActGradWebGpu as unknown as tf.KernelFunc,
  },
];

export const biasActGradients: tf.GradConfig[] = [
  {
    kernelName: BIAS_ACT_KERNEL,
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [y] = saved as [tf.Tensor];
      // Computed once for both inputs (the bias's gradient is its sum).
      const dx = biasActGrad(dy as tf.Tensor, y, attrs as unknown as BiasActAttrs);
      const axes = Array.from({ length: dx.rank - 1 }, (_, i) => i);
      return { x: () => dx, b: () => tf.sum(dx, axes) };
    },
  },
  {
    kernelName: BIAS_ACT_GRAD_KERNEL,
    inputsToSave: ['y'],
    gradFunc: (ddx, saved, attrs) => {
      const [y] = saved as [tf.Tensor];
      return {
        dy: () => biasActGrad(ddx as tf.Tensor, y, attrs as unknown as BiasActAttrs),
        y: () => tf.zerosLike(y),
      };
    },
  },
];
