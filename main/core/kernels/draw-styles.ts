/**
 * A drawing pass's per-layer style vectors in two kernels instead of nine (issue #21: kernels per
 * bird). Inference only: the gallery's frozen generator, whose weight-derived tensors are kept
 * (WeightConstants), so neither kernel has a gradient; training keeps the composed ops.
 *   modStyles:  styles = (w·A + b)·gain, shaped [N,1,1,in] so it multiplies the activations
 *               without a reshape (the affine layer's matMul and add, toRGB's 1/√in, the reshape);
 *   demodCoefs: rsqrt(styles²·wsq + 1e-8) [N,out] (square, matMul, add and rsqrt).
 * On wasm the products are the backend's own BatchMatMul (the kernel the composed ops dispatch,
 * called inside ours) and every other value goes through the composed ops' float32 operations in
 * their order: the same bits. On webgpu one WGSL invocation computes one output's dot product.
 */
import * as tf from '@tensorflow/tfjs-core';
import { kernelConfig, type KernelArgs } from './fused.js';
import { backendKernel, heapViews, isWasm, wasmOutputs } from './wasm-heap.js';
import { floats, isWebGpu, perElement } from './webgpu-program.js';

export const MOD_STYLES_KERNEL = 'PlumageModStyles';
export const DEMOD_COEFS_KERNEL = 'PlumageDemodCoefs';

/** The 1e-8 under the demodulation's square root, as the reference adds it. */
export const DEMOD_EPSILON = 1e-8;

/** (w·A + b)·gain: w [N,D], A [D,in] (the kept, scaled affine weight), b [in] → [N,1,1,in]. */
export function modStyles(w: tf.Tensor2D, a: tf.Tensor2D, b: tf.Tensor1D, gain: number): tf.Tensor4D {
  if (w.shape[1] !== a.shape[0] || b.shape[0] !== a.shape[1])
    throw new RangeError(`styles: w [${w.shape}], affine weight [${a.shape}], bias [${b.shape}] do not fit`);
  return tf.engine().runKernel(MOD_STYLES_KERNEL, { w, a, b }, { gain }) as tf.Tensor4D;
}

/** rsqrt(styles²·wsq + 1e-8): styles [N,1,1,in], wsq [in,out] (Σ over the taps of weight²) → [N,out]. */
export function demodCoefs(styles: tf.Tensor4D, wsq: tf.Tensor2D): tf.Tensor2D {
  if (styles.shape[3] !== wsq.shape[0])
    throw new RangeError(`demodulation: styles [${styles.shape}] for weight sums [${wsq.shape}]`);
  return tf.engine().runKernel(DEMOD_COEFS_KERNEL, { s: styles, q: wsq }) as tf.Tensor2D;
}

type Args = KernelArgs;
const f = Math.fround;

function modStylesWasm({ inputs, backend, attrs }: Args): tf.TensorInfo {
  if (!isWasm(backend)) throw new Error(`${MOD_STYLES_KERNEL}: not the wasm backend`);
  const { gain } = attrs as unknown as { gain: number };
  const [n, cin] = [inputs.w!.shape[0]!, inputs.a!.shape[1]!];
  const mm = backendKernel(
    backend,
    tf.BatchMatMul,
    { a: inputs.w!, b: inputs.a! },
    { transposeA: false, transposeB: false },
  );
  const [M, B] = heapViews(backend, [mm, inputs.b!]);
  // tf.add(mm, b), then (toRGB) tf.mul(…, gain): gain is a float32 scalar tensor there.
  const g = f(gain);
  for (let i = 0; i < n * cin; i++) {
    const s = f(M![i]! + B![i % cin]!);
    M![i] = gain === 1 ? s : f(s * g);
  }
  return { ...mm, shape: [n, 1, 1, cin] };
}

function demodCoefsWasm({ inputs, backend }: Args): tf.TensorInfo {
  if (!isWasm(backend)) throw new Error(`${DEMOD_COEFS_KERNEL}: not the wasm backend`);
  const [n, cin] = [inputs.s!.shape[0]!, inputs.s!.shape[3]!];
  const [sq] = wasmOutputs(backend, [[n, cin]]);
  const [S, Q] = heapViews(backend, [inputs.s!, sq!]);
  for (let i = 0; i < n * cin; i++) Q![i] = f(S![i]! * S![i]!);
  const mm = backendKernel(backend, tf.BatchMatMul, { a: sq!, b: inputs.q! }, { transposeA: false, transposeB: false });
  backend.disposeData(sq!.dataId, true);
  const [M] = heapViews(backend, [mm]);
  // The wasm backend's rsqrt: 1 / sqrt(x) in float32, each step rounded.
  const eps = f(DEMOD_EPSILON);
  for (let i = 0; i < M!.length; i++) M![i] = f(1 / f(Math.sqrt(f(M![i]! + eps))));
  return mm;
}

function modStylesWebGpu({ inputs, backend, attrs }: Args): tf.TensorInfo {
  if (!isWebGpu(backend)) throw new Error(`${MOD_STYLES_KERNEL}: not the webgpu backend`);
  const { gain } = attrs as unknown as { gain: number };
  const [n, cin] = [inputs.w!.shape[0]!, inputs.a!.shape[1]!];
  const program = perElement(
    'mod_styles',
    ['W', 'A', 'B'],
    [n, 1, 1, cin],
    `let dim = uniforms.aShape[0];
     let i = index % uniforms.bShape;
     let row = (index / uniforms.bShape) * dim;
     var acc = 0.0;
     for (var d = 0; d < dim; d++) { acc = acc + W[row + d] * A[d * uniforms.bShape + i]; }
     setOutputAtIndex(index, (acc + B[i]) * uniforms.gain);`,
    ['gain'],
  );
  return backend.runWebGPUProgram(program, [inputs.w!, inputs.a!, inputs.b!], 'float32', floats(gain));
}

function demodCoefsWebGpu({ inputs, backend }: Args): tf.TensorInfo {
  if (!isWebGpu(backend)) throw new Error(`${DEMOD_COEFS_KERNEL}: not the webgpu backend`);
  const [n, cout] = [inputs.s!.shape[0]!, inputs.q!.shape[1]!];
  const program = perElement(
    'demod_coefs',
    ['S', 'Q'],
    [n, cout],
    `let cin = uniforms.qShape[0];
     let cout = uniforms.qShape[1];
     let o = index % cout;
     let row = (index / cout) * cin;
     var acc = 0.0;
     for (var i = 0; i < cin; i++) { let s = S[row + i]; acc = acc + (s * s) * Q[i * cout + o]; }
     setOutputAtIndex(index, inverseSqrt(acc + ${DEMOD_EPSILON.toExponential()}));`,
  );
  return backend.runWebGPUProgram(program, [inputs.s!, inputs.q!], 'float32');
}

export const drawStylesKernels: tf.KernelConfig[] = [
  kernelConfig(MOD_STYLES_KERNEL, 'wasm', modStylesWasm),
  kernelConfig(MOD_STYLES_KERNEL, 'webgpu', modStylesWebGpu),
  kernelConfig(DEMOD_COEFS_KERNEL, 'wasm', demodCoefsWasm),
  kernelConfig(DEMOD_COEFS_KERNEL, 'webgpu', demodCoefsWebGpu),
];
