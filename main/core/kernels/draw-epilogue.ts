/**
 * What follows a drawing pass's modulated convolution, in one kernel each (issue #21: kernels
 * per bird). Inference only (the gallery's frozen generator): no gradients; training keeps the
 * composed ops.
 *   demodEpilogue:   lrelu((y·dcoef + noise) + bias, α)·gain — the demodulation's reshape and
 *                    multiply, the noise's add and bias_act, four kernels, as one;
 *   interleavePhases: the up-sampling convolution's four phase outputs [N,H+1,W+1,C] woven into
 *                    [N,2H+2,2W+2,C] (row 2i+r, column 2j+s from phase (r, s)) — three concats
 *                    and three reshapes as one. A copy, so the same bits everywhere.
 * On wasm each value goes through the composed ops' float32 operations in their order (y·d, then
 * + noise, then bias_act as bias-act.ts computes it): the same bits. On webgpu, WGSL per value.
 */
import * as tf from '@tensorflow/tfjs-core';
import { kernelConfig, type KernelArgs } from './fused.js';
import { heapViews, isWasm, wasmOutputs } from './wasm-heap.js';
import { floats, isWebGpu, perElement } from './webgpu-program.js';

export const DEMOD_EPILOGUE_KERNEL = 'PlumageDemodEpilogue';
export const INTERLEAVE_PHASES_KERNEL = 'PlumageInterleavePhases';

export interface EpilogueAttrs {
  alpha: number; // the leaky ReLU's slope below zero
  gain: number; // the factor after the activation
}

/**
 * y [N,H,W,C], dcoefs [N,C], noise (already times its strength) [1|N,H,W,1] or null, bias [C]
 * → lrelu((y·dcoef + noise) + bias, α)·gain [N,H,W,C].
 */
export function demodEpilogue(
  y: tf.Tensor4D,
  dcoefs: tf.Tensor2D,
  noise: tf.Tensor4D | null,
  bias: tf.Tensor1D,
  a: EpilogueAttrs,
): tf.Tensor4D {
  const [n, h, w, c] = y.shape;
  if (dcoefs.shape[0] !== n || dcoefs.shape[1] !== c || bias.shape[0] !== c)
    throw new RangeError(`epilogue: y [${y.shape}], coefficients [${dcoefs.shape}], bias [${bias.shape}] do not fit`);
  if (noise && ((noise.shape[0] !== 1 && noise.shape[0] !== n) || noise.shape[1] !== h || noise.shape[2] !== w))
    throw new RangeError(`epilogue: noise [${noise.shape}] for y [${y.shape}]`);
  const inputs: tf.NamedTensorMap = noise ? { y, d: dcoefs, z: noise, b: bias } : { y, d: dcoefs, b: bias };
  return tf.engine().runKernel(DEMOD_EPILOGUE_KERNEL, inputs, a as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/** Phases (r, s) = (0,0), (0,1), (1,0), (1,1), each [N,H',W',C] → [N,2H',2W',C]. */
export function interleavePhases(phases: [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D]): tf.Tensor4D {
  const shape = phases[0].shape;
  if (phases.some((p) => p.shape.some((d, i) => d !== shape[i])))
    throw new RangeError(`interleave: phases of shapes ${phases.map((p) => `[${p.shape}]`).join(', ')}`);
  const [p00, p01, p10, p11] = phases;
  return tf.engine().runKernel(INTERLEAVE_PHASES_KERNEL, { p00, p01, p10, p11 }) as tf.Tensor4D;
}

type Args = KernelArgs;
const f = Math.fround;

function epilogueWasm({ inputs, backend, attrs }: Args): tf.TensorInfo {
  if (!isWasm(backend)) throw new Error(`${DEMOD_EPILOGUE_KERNEL}: not the wasm backend`);
  const { alpha, gain } = attrs as unknown as EpilogueAttrs;
  const [n, h, w, c] = inputs.y!.shape as [number, number, number, number];
  const noisy = inputs.z !== undefined;
  const [out] = wasmOutputs(backend, [inputs.y!.shape]);
  const [Y, D, B, O, Z] = heapViews(backend, [inputs.y!, inputs.d!, inputs.b!, out!, ...(noisy ? [inputs.z!] : [])]);
  const [fa, fg] = [f(alpha), f(gain)];
  const pixels = h * w;
  const noiseBatched = noisy && inputs.z!.shape[0] === n;
  for (let img = 0; img < n; img++) {
    const d0 = img * c;
    for (let p = 0; p < pixels; p++) {
      const base = (img * pixels + p) * c;
      if (noisy) {
        const nz = Z![noiseBatched ? img * pixels + p : p]!;
        for (let ch = 0; ch < c; ch++) {
          const z = f(f(f(Y![base + ch]! * D![d0 + ch]!) + nz) + B![ch]!);
          O![base + ch] = f((z < 0 ? f(fa * z) : z) * fg);
        }
      } else
        for (let ch = 0; ch < c; ch++) {
          const z = f(f(Y![base + ch]! * D![d0 + ch]!) + B![ch]!);
          O![base + ch] = f((z < 0 ? f(fa * z) : z) * fg);
        }
    }
  }
  return out!;
}

function epilogueWebGpu({ inputs, backend, attrs }: Args): tf.TensorInfo {
  if (!isWebGpu(backend)) throw new Error(`${DEMOD_EPILOGUE_KERNEL}: not the webgpu backend`);
  const { alpha, gain } = attrs as unknown as EpilogueAttrs;
  const y = inputs.y!;
  const noisy = inputs.z !== undefined;
  const noiseBatched = noisy && inputs.z!.shape[0] === y.shape[0];
  const noise = !noisy ? '' : noiseBatched ? 'v = v + Z[pixel];' : 'v = v + Z[pixel % (s[1] * s[2])];';
  const program = perElement(
    `demod_epilogue_${noisy ? (noiseBatched ? 'n' : '1') : '0'}`,
    noisy ? ['Y', 'D', 'Z', 'B'] : ['Y', 'D', 'B'],
    y.shape,
    `let s = uniforms.yShape;
     let ch = index % s[3];
     let pixel = index / s[3];
     let img = pixel / (s[1] * s[2]);
     var v = Y[index] * D[img * s[3] + ch];
     ${noise}
     let z = v + B[ch];
     var l = z;
     if (z < 0.0) { l = uniforms.alpha * z; }
     setOutputAtIndex(index, l * uniforms.gain);`,
    ['alpha', 'gain'],
  );
  const list = noisy ? [y, inputs.d!, inputs.z!, inputs.b!] : [y, inputs.d!, inputs.b!];
  return backend.runWebGPUProgram(program, list, 'float32', floats(alpha, gain));
}

const PHASES = ['p00', 'p01', 'p10', 'p11'] as const;

function interleaveWasm({ inputs, backend }: Args): tf.TensorInfo {
  if (!isWasm(backend)) throw new Error(`${INTERLEAVE_PHASES_KERNEL}: not the wasm backend`);
  const [n, h, w, c] = inputs.p00!.shape as [number, number, number, number];
  const [out] = wasmOutputs(backend, [[n, 2 * h, 2 * w, c]]);
  const [O, ...P] = heapViews(backend, [out!, ...PHASES.map((k) => inputs[k]!)]);
  for (let img = 0; img < n; img++)
    for (let i = 0; i < h; i++)
      for (let r = 0; r < 2; r++)
        for (let j = 0; j < w; j++)
          for (let s = 0; s < 2; s++) {
            const from = ((img * h + i) * w + j) * c;
            const to = ((img * 2 * h + 2 * i + r) * 2 * w + 2 * j + s) * c;
            const src = P[r * 2 + s]!;
            for (let ch = 0; ch < c; ch++) O![to + ch] = src[from + ch]!;
          }
  return out!;
}

function interleaveWebGpu({ inputs, backend }: Args): tf.TensorInfo {
  if (!isWebGpu(backend)) throw new Error(`${INTERLEAVE_PHASES_KERNEL}: not the webgpu backend`);
  const [n, h, w, c] = inputs.p00!.shape as [number, number, number, number];
  const program = perElement(
    'interleave_phases',
    ['P00', 'P01', 'P10', 'P11'],
    [n, 2 * h, 2 * w, c],
    `let o = getCoordsFromIndex(index); // n, y, x, c
     let s = uniforms.p00Shape;
     let src = ((o[0] * s[1] + o[1] / 2) * s[2] + o[2] / 2) * s[3] + o[3];
     let phase = (o[1] % 2) * 2 + o[2] % 2;
     var v = P00[src];
     if (phase == 1) { v = P01[src]; }
     if (phase == 2) { v = P10[src]; }
     if (phase == 3) { v = P11[src]; }
     setOutputAtIndex(index, v);`,
  );
  return backend.runWebGPUProgram(
    program,
    PHASES.map((k) => inputs[k]!),
    'float32',
  );
}

export const drawEpilogueKernels: tf.KernelConfig[] = [
  kernelConfig(DEMOD_EPILOGUE_KERNEL, 'wasm', epilogueWasm),
  kernelConfig(DEMOD_EPILOGUE_KERNEL, 'webgpu', epilogueWebGpu),
  kernelConfig(INTERLEAVE_PHASES_KERNEL, 'wasm', interleaveWasm),
  kernelConfig(INTERLEAVE_PHASES_KERNEL, 'webgpu', interleaveWebGpu),
];
