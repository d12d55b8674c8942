/**
 * upfirdn2d with StyleGAN2's resampling filter ([1,3,3,1] ⊗ [1,3,3,1] / 64) in one kernel, as
 * the reference's `torch_utils/ops/upfirdn2d` computes it: insert up−1 zeros after each sample,
 * pad (before, after) on each axis, filter, keep every down-th sample. It replaces Plumage's
 * composed zero-stuffing (two pads, three reshapes), pad and depthwise convolution, and their
 * gradients' dilate / pad / reverse / depthwise / slice. The gradient is again an upfirdn2d
 * (up and down swapped, the filter turned — it is symmetric — and the padding mirrored, as the
 * reference's backward), so R1 and path length differentiate it as often as they need.
 *
 * On wasm the filter runs separably in JavaScript: one pass along rows and one along columns, 4
 * taps each, skipping the zeros the up-sampling inserts (half the taps at up = 2), never
 * materialising the padded input. XNNPACK has no 16-tap depthwise kernel and took its generic
 * path (~0.3 GFLOP/s, measured: docs/DECISIONS.md). The sums run in another order than the
 * depthwise convolution's, so the bits differ from the composed ops in the last places.
 * On webgpu one WGSL invocation computes one output value from its 16 taps.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapViews, isWasm, wasmOutputs } from './wasm-heap.js';
import { isWebGpu, perElement } from './webgpu-program.js';

export const UPFIRDN_KERNEL = 'PlumageUpFirDn2d';

/** The resampling filter [1,3,3,1] ⊗ [1,3,3,1] / 64, separable: one axis is [1,3,3,1] / 8. */
export const FIR_TAPS = [1 / 8, 3 / 8, 3 / 8, 1 / 8] as const;

export interface UpFirDnAttrs {
  up: 1 | 2;
  down: 1 | 2;
  /** Padding [before, after] of the zero-stuffed rows and of its columns (negative: cropping). */
  padY: [number, number];
  padX: [number, number];
  gain: number;
}

/** What the kernel is given: the attributes and the input's height and width (its gradient needs them). */
interface KernelAttrs extends UpFirDnAttrs {
  inH: number;
  inW: number;
}

/** Output length along an axis of `n` input samples. */
export const upFirDnLength = (n: number, up: number, down: number, pad: [number, number]): number =>
  Math.floor((n * up + pad[0] + pad[1] - FIR_TAPS.length) / down) + 1;

/** [N,H,W,C] → [N,H',W',C], H' = ⌊(H·up + before + after − 4) / down⌋ + 1. */
export function upFirDn2d(x: tf.Tensor4D, a: UpFirDnAttrs): tf.Tensor4D {
  const [, h, w] = x.shape;
  if (upFirDnLength(h, a.up, a.down, a.padY) < 1 || upFirDnLength(w, a.up, a.down, a.padX) < 1)
    throw new RangeError(`upfirdn2d of [${x.shape}] with ${JSON.stringify(a)} is empty`);
  const attrs: KernelAttrs = { ...a, inH: h, inW: w };
  return tf.engine().runKernel(UPFIRDN_KERNEL, { x }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/** The attributes of upfirdn2d's adjoint for an input of [h, w] (the reference's backward padding). */
export function adjointAttrs(a: UpFirDnAttrs, h: number, w: number): UpFirDnAttrs {
  const k = FIR_TAPS.length;
  const mirror = (n: number, pad: [number, number]): [number, number] => {
    const out = upFirDnLength(n, a.up, a.down, pad);
    return [k - pad[0] - 1, n * a.up - out * a.down + pad[0] - a.up + 1];
  };
  return { up: a.down, down: a.up, padY: mirror(h, a.padY), padX: mirror(w, a.padX), gain: a.gain };
}

/**
 * For each output index along an axis, the input indices and filter taps that reach it (the
 * zero-stuffed and padded positions skipped), in tap order.
 */
function axisTaps(n: number, up: number, down: number, pad: [number, number]): { src: number[]; tap: number[] }[] {
  const out = upFirDnLength(n, up, down, pad);
  const rows: { src: number[]; tap: number[] }[] = [];
  for (let o = 0; o < out; o++) {
    const src: number[] = [];
    const tap: number[] = [];
    for (let t = 0; t < FIR_TAPS.length; t++) {
      const u = o * down + t - pad[0]; // position in the zero-stuffed signal
      if (u < 0 || u % up !== 0 || u / up >= n) continue;
      src.push(u / up);
      tap.push(Math.fround(FIR_TAPS[t]!));
    }
    rows.push({ src, tap });
  }
  return rows;
}

/** One separable pass over `lines` lines of `n` samples `stride` floats apart, `c` channels each. */
function pass(
  from: Float32Array,
  to: Float32Array,
  lines: number,
  taps: { src: number[]; tap: number[] }[],
  stride: number,
  lineStride: [number, number],
  c: number,
  gain: number,
): void {
  const outLen = taps.length;
  for (let l = 0; l < lines; l++) {
    const inBase = l * lineStride[0];
    const outBase = l * lineStride[1];
    for (let o = 0; o < outLen; o++) {
      const { src, tap } = taps[o]!;
      const to0 = outBase + o * stride;
      const k = src.length;
      if (k === 0) {
        for (let ch = 0; ch < c; ch++) to[to0 + ch] = 0;
        continue;
      }
      const i0 = inBase + src[0]! * stride;
      const w0 = tap[0]! * gain;
      if (k === 1) {
        for (let ch = 0; ch < c; ch++) to[to0 + ch] = from[i0 + ch]! * w0;
        continue;
      }
      const i1 = inBase + src[1]! * stride;
      const w1 = tap[1]! * gain;
      if (k === 2) {
        for (let ch = 0; ch < c; ch++) to[to0 + ch] = from[i0 + ch]! * w0 + from[i1 + ch]! * w1;
        continue;
      }
      const i2 = inBase + src[2]! * stride;
      const w2 = tap[2]! * gain;
      if (k === 3) {
        for (let ch = 0; ch < c; ch++) to[to0 + ch] = from[i0 + ch]! * w0 + from[i1 + ch]! * w1 + from[i2 + ch]! * w2;
        continue;
      }
      const i3 = inBase + src[3]! * stride;
      const w3 = tap[3]! * gain;
      for (let ch = 0; ch < c; ch++)
        to[to0 + ch] = from[i0 + ch]! * w0 + from[i1 + ch]! * w1 + from[i2 + ch]! * w2 + from[i3 + ch]! * w3;
    }
  }
}

type Args = { inputs: { x: tf.TensorInfo }; backend: unknown; attrs?: tf.NamedAttrMap };

function upFirDnWasm({ inputs, backend, attrs }: Args): tf.TensorInfo {
  if (!isWasm(backend)) throw new Error(`${UPFIRDN_KERNEL}: not the wasm backend`);
  const a = attrs as unknown as UpFirDnAttrs;
  const [n, h, w, c] = inputs.x.shape as [number, number, number, number];
  const cols = axisTaps(w, a.up, a.down, a.padX);
  const rows = axisTaps(h, a.up, a.down, a.padY);
  const [ho, wo] = [rows.length, cols.length];
  // Columns first, over the h input rows only (the stuffed rows are zero): [N,H,W',C] in a scratch tensor.
  const [tmpInfo, outInfo] = wasmOutputs(backend, [
    [n, h, wo, c],
    [n, ho, wo, c],
  ]);
  const [X, T, O] = heapViews(backend, [inputs.x, tmpInfo!, outInfo!]);
  pass(X!, T!, n * h, cols, c, [w * c, wo * c], c, 1);
  // Rows: each output row from up to 4 rows of the scratch, a row of wo·c floats being one "channel" block.
  for (let b = 0; b < n; b++)
    pass(T!.subarray(b * h * wo * c), O!.subarray(b * ho * wo * c), 1, rows, wo * c, [0, 0], wo * c, a.gain);
  backend.disposeData(tmpInfo!.dataId, true);
  return outInfo!;
}

const TAPS_WGSL = `const TAPS = array<f32, 4>(${FIR_TAPS.map((t) => t.toFixed(6)).join(', ')});`;

function upFirDnWebGpu({ inputs, backend, attrs }: Args): tf.TensorInfo {
  if (!isWebGpu(backend)) throw new Error(`${UPFIRDN_KERNEL}: not the webgpu backend`);
  const a = attrs as unknown as UpFirDnAttrs;
  const [n, h, w, c] = inputs.x.shape as [number, number, number, number];
  const shape = [n, upFirDnLength(h, a.up, a.down, a.padY), upFirDnLength(w, a.up, a.down, a.padX), c];
  const key = `upfirdn_${a.up}_${a.down}_${a.padY}_${a.padX}_${a.gain}`;
  const program = perElement(
    key,
    ['X'],
    shape,
    `let o = getCoordsFromIndex(index); // n, y, x, c
     let s = uniforms.xShape;
     var acc = 0.0;
     for (var i = 0; i < 4; i++) {
       let u = o[1] * ${a.down} + i - ${a.padY[0]};
       if (u < 0 || u % ${a.up} != 0 || u / ${a.up} >= s[1]) { continue; }
       var row = 0.0;
       for (var j = 0; j < 4; j++) {
         let v = o[2] * ${a.down} + j - ${a.padX[0]};
         if (v < 0 || v % ${a.up} != 0 || v / ${a.up} >= s[2]) { continue; }
         row = row + TAPS[j] * X[((o[0] * s[1] + u / ${a.up}) * s[2] + v / ${a.up}) * s[3] + o[3]];
       }
       acc = acc + TAPS[i] * row;
     }
     setOutputAtIndex(index, acc * ${a.gain.toFixed(6)});`,
    [],
    TAPS_WGSL,
  );
  return backend.runWebGPUProgram(program, [inputs.x], 'float32');
}

export const upFirDnKernels: tf.KernelConfig[] = [
  { kernelName: UPFIRDN_KERNEL, backendName: 'wasm', kernelFunc: upFirDnWasm as unknown as tf.KernelFunc },
  { kernelName: UPFIRDN_KERNEL, backendName: 'webgpu', kernelFunc: upFirDnWebGpu as unknown as tf.KernelFunc },
];

/** The gradient: upfirdn2d's adjoint, itself an upfirdn2d; nothing saved (the shapes are in the attributes). */
export const upFirDnGradient: tf.GradConfig = {
  kernelName: UPFIRDN_KERNEL,
  inputsToSave: [],
  gradFunc: (dy, _saved, attrs) => {
    const a = attrs as unknown as KernelAttrs;
    return { x: () => upFirDn2d(dy as tf.Tensor4D, adjointAttrs(a, a.inH, a.inW)) };
  },
};
