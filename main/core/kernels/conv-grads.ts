/**
 * A convolution's two gradients as one kernel each: the input gradient (Conv2DBackpropInput's
 * job) and the filter gradient (Conv2DBackpropFilter's), which gan/grads.ts composes from pads,
 * dilations, reverses, transposes, a convolution and slices (5–10 kernels, and their tape
 * nodes). Their gradients close the set — BI's in dy is the forward convolution, in the filter
 * BF; BF's in x is BI, in dy the forward convolution — so R1 and path length differentiate
 * them as often as they need.
 *
 * wasm: the data movement done in JavaScript over the heap, the products by the backend's own
 * XNNPACK, called directly. BI convolves dy (dilated by the stride) with the filter turned 180°
 * and in/out swapped, the padding given to XNNPACK (the composed ops' arithmetic, to the bit); a
 * big stride-2 one goes by output parity (the same bits), a smaller strided one by one GEMM and a
 * scatter-add (conv-input-gemm.ts). BF is one GEMM over x's shifted runs (conv-filter-gemm.ts),
 * or where that multiplies too much padding or takes too much memory the batch↔channel-swapped
 * convolution dilated by the stride (the backend's transposes, the padding again XNNPACK's). A
 * GEMM sums the same products in another order: to float32 rounding, not to the bit. webgpu: the
 * backend's own Conv2DBackpropInput and Conv2DBackpropFilter programs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { backendKernel, heapViews, isWasm, wasmOutputs, xnnConv } from './wasm-heap.js';
import { backpropFilterByGemm } from './conv-filter-gemm.js';
import { backpropInputByGemm } from './conv-input-gemm.js';
import { BY_PARITY, backpropInputByParity } from './conv-input-parity.js';
import { isWebGpu } from './webgpu-program.js';

export { BY_PARITY };

export const CONV_BI_KERNEL = 'PlumageConv2DBackpropInput';
export const CONV_BF_KERNEL = 'PlumageConv2DBackpropFilter';

/** A forward convolution's geometry: strides and explicit padding [top, bottom, left, right]. */
export interface ConvGeometry {
  strides: [number, number];
  pads: [number, number, number, number];
}

type Explicit = [[number, number], [number, number], [number, number], [number, number]];

const explicit = (p: ConvGeometry['pads']): Explicit => [
  [0, 0],
  [p[0], p[1]],
  [p[2], p[3]],
  [0, 0],
];

/** The forward convolution with explicit padding. */
export const convForward = (x: tf.Tensor4D, filter: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D =>
  tf.conv2d(x, filter, g.strides, explicit(g.pads));

/** One of the two gradient kernels, run through the engine (so the tape records it). */
const runGradKernel = (name: string, inputs: tf.NamedTensorMap, attrs: object): tf.Tensor4D =>
  tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;

/** dL/dx of conv(x, filter) given dL/dy; x has `inShape`. */
export const convBackpropInput = (
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  g: ConvGeometry,
  inShape: number[],
): tf.Tensor4D => runGradKernel(CONV_BI_KERNEL, { dy, filter }, { ...g, inShape });

/** dL/dfilter of conv(x, filter) given dL/dy; the filter has `filterShape`. */
export const convBackpropFilter = (
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  g: ConvGeometry,
  filterShape: number[],
): tf.Tensor4D => runGradKernel(CONV_BF_KERNEL, { x, dy }, { ...g, filterShape });

/**
 * The padding of BI's convolution over the dilated dy: each side k − 1 − (the forward's pad),
 * the far side whatever makes the output the input's size. Null where a side would be negative
 * (a forward pad of k or more, which the networks never use): the caller composes instead.
 */
export function adjointPads(
  g: ConvGeometry,
  kernel: [number, number],
  dyShape: number[],
  inShape: number[],
): [number, number, number, number] | null {
  const [sh, sw] = g.strides;
  const [kh, kw] = kernel;
  const [hd, wd] = [(dyShape[1]! - 1) * sh + 1, (dyShape[2]! - 1) * sw + 1];
  const top = kh - 1 - g.pads[0];
  const left = kw - 1 - g.pads[2];
  const pads: [number, number, number, number] = [
    top,
    inShape[1]! - hd - top + kh - 1,
    left,
    inShape[2]! - wd - left + kw - 1,
  ];
  return pads.every((p) => p >= 0) ? pads : null;
}

type Args = { inputs: Record<string, tf.TensorInfo>; backend: unknown; attrs?: tf.NamedAttrMap };

function backpropInputWasm({ inputs, backend, attrs }: Args): tf.TensorInfo {
  if (!isWasm(backend)) throw new Error(`${CONV_BI_KERNEL}: not the wasm backend`);
  const a = attrs as unknown as ConvGeometry & { inShape: number[] };
  const [dy, filter] = [inputs.dy!, inputs.filter!];
  const [kh, kw, cin, cout] = filter.shape as [number, number, number, number];
  const [n, ho, wo] = dy.shape as [number, number, number];
  const [sh, sw] = a.strides;
  const pads = adjointPads(a, [kh, kw], dy.shape, a.inShape);
  if (!pads) throw new Error(`${CONV_BI_KERNEL}: a forward padding of the kernel's size or more`);
  if (sh === 2 && sw === 2 && n * a.inShape[1]! * a.inShape[2]! * cin * cout * kh * kw >= BY_PARITY.minMacs) {
    const byParity = backpropInputByParity(backend, dy, filter, pads, a.inShape);
    if (byParity) return byParity;
  }
  const byGemm = backpropInputByGemm(backend, dy, filter, a.strides, a.pads, a.inShape);
  if (byGemm) return byGemm;
  const [hd, wd] = [(ho - 1) * sh + 1, (wo - 1) * sw + 1];
  const dilate = sh > 1 || sw > 1;
  const [turned, dilated] = wasmOutputs(backend, [[kh, kw, cout, cin], ...(dilate ? [[n, hd, wd, cout]] : [])]);
  const [W, T, D, Dd] = heapViews(backend, [filter, turned!, dy, ...(dilated ? [dilated] : [])]);
  // Turned 180°, in and out swapped: T[a,b,o,i] = W[kh−1−a, kw−1−b, i, o].
  for (let p = 0; p < kh; p++)
    for (let q = 0; q < kw; q++)
      for (let o = 0; o < cout; o++) {
        const to = ((p * kw + q) * cout + o) * cin;
        const from = ((kh - 1 - p) * kw + (kw - 1 - q)) * cin * cout + o;
        for (let i = 0; i < cin; i++) T![to + i] = W![from + i * cout]!;
      }
  if (Dd) {
    Dd.fill(0);
    for (let b = 0; b < n; b++)
      for (let y = 0; y < ho; y++)
        for (let x = 0; x < wo; x++) {
          const from = ((b * ho + y) * wo + x) * cout;
          Dd.set(D!.subarray(from, from + cout), ((b * hd + y * sh) * wd + x * sw) * cout);
        }
  }
  const out = xnnConv(backend, dilated ?? dy, turned!, pads, [1, 1]);
  backend.disposeData(turned!.dataId, true);
  if (dilated) backend.disposeData(dilated.dataId, true);
  return out;
}

function backpropFilterWasm({ inputs, backend, attrs }: Args): tf.TensorInfo {
  if (!isWasm(backend)) throw new Error(`${CONV_BF_KERNEL}: not the wasm backend`);
  const a = attrs as unknown as ConvGeometry & { filterShape: number[] };
  const [x, dy] = [inputs.x!, inputs.dy!];
  const [, , , cin] = x.shape as [number, number, number, number];
  const [, , , cout] = dy.shape as [number, number, number, number];
  const [kh, kw] = a.filterShape as [number, number];
  const byGemm = backpropFilterByGemm(backend, x, dy, a.strides, a.pads, [kh, kw]);
  if (byGemm) return byGemm;
  // Where BF_BY_GEMM says the convolution does better: x turned [cin, h, w, n] (its padding
  // given to XNNPACK), dy as the filter [ho, wo, n, cout]:
  // the backend's transposes (a JavaScript loop over x's scattered writes was slower than the
  // convolution).
  const xT = backendKernel(backend, tf.Transpose, { x }, { perm: [3, 1, 2, 0] });
  const dyT = backendKernel(backend, tf.Transpose, { x: dy }, { perm: [1, 2, 0, 3] });
  const g = xnnConv(backend, xT, dyT, a.pads, a.strides); // [cin, kh', kw', cout], kh' ≥ kh
  // Not forced: a transpose that only moves size-1 axes is an Identity, which a backend may answer
  // with the input's own buffer and one reference more.
  backend.disposeData(xT.dataId);
  backend.disposeData(dyT.dataId);
  const [kh2, kw2] = [g.shape[1]!, g.shape[2]!];
  const [out] = wasmOutputs(backend, [[kh, kw, cin, cout]]);
  const [G, O] = heapViews(backend, [g, out!]);
  for (let p = 0; p < kh; p++)
    for (let q = 0; q < kw; q++)
      for (let c = 0; c < cin; c++) {
        const from = ((c * kh2 + p) * kw2 + q) * cout;
        O!.set(G!.subarray(from, from + cout), ((p * kw + q) * cin + c) * cout);
      }
  backend.disposeData(g.dataId, true);
  return out!;
}

function backpropInputWebGpu({ inputs, backend, attrs }: Args): tf.TensorInfo {
  if (!isWebGpu(backend)) throw new Error(`${CONV_BI_KERNEL}: not the webgpu backend`);
  const a = attrs as unknown as ConvGeometry & { inShape: number[] };
  return tf.getKernel(tf.Conv2DBackpropInput, 'webgpu')!.kernelFunc({
    inputs: { dy: inputs.dy!, filter: inputs.filter! },
    backend: backend as unknown as tf.KernelBackend,
    attrs: {
      inputShape: a.inShape,
      strides: a.strides,
      pad: explicit(a.pads),
      dataFormat: 'NHWC',
    } as unknown as tf.NamedAttrMap,
  }) as tf.TensorInfo;
}

function backpropFilterWebGpu({ inputs, backend, attrs }: Args): tf.TensorInfo {
  if (!isWebGpu(backend)) throw new Error(`${CONV_BF_KERNEL}: not the webgpu backend`);
  const a = attrs as unknown as ConvGeometry & { filterShape: number[] };
  return tf.getKernel(tf.Conv2DBackpropFilter, 'webgpu')!.kernelFunc({
    inputs: { x: inputs.x!, dy: inputs.dy! },
    backend: backend as unknown as tf.KernelBackend,
    attrs: {
      filterShape: a.filterShape,
      strides: a.strides,
      pad: explicit(a.pads),
      dataFormat: 'NHWC',
    } as unknown as tf.NamedAttrMap,
  }) as tf.TensorInfo;
}

export const convGradKernels: tf.KernelConfig[] = [
  { kernelName: CONV_BI_KERNEL, backendName: 'wasm', kernelFunc: backpropInputWasm as unknown as tf.KernelFunc },
  { kernelName: CONV_BF_KERNEL, backendName: 'wasm', kernelFunc: backpropFilterWasm as unknown as tf.KernelFunc },
  { kernelName: CONV_BI_KERNEL, backendName: 'webgpu', kernelFunc: backpropInputWebGpu as unknown as tf.KernelFunc },
  { kernelName: CONV_BF_KERNEL, backendName: 'webgpu', kernelFunc: backpropFilterWebGpu as unknown as tf.KernelFunc },
];

export const convGradGradients: tf.GradConfig[] = [
  {
    kernelName: CONV_BI_KERNEL,
    inputsToSave: ['dy', 'filter'],
    gradFunc: (ddx, saved, attrs) => {
      const [dy, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      const g = attrs as unknown as ConvGeometry;
      return {
        dy: () => convForward(ddx as tf.Tensor4D, filter, g),
        filter: () => convBackpropFilter(ddx as tf.Tensor4D, dy, g, filter.shape),
      };
    },
  },
  {
    kernelName: CONV_BF_KERNEL,
    inputsToSave: ['x', 'dy'],
    gradFunc: (ddw, saved, attrs) => {
      const [x, dy] = saved as [tf.Tensor4D, tf.Tensor4D];
      const g = attrs as unknown as ConvGeometry;
      return {
        x: () => convBackpropInput(dy, ddw as tf.Tensor4D, g, x.shape),
        dy: () => convForward(x, ddw as tf.Tensor4D, g),
      };
    },
  },
];
