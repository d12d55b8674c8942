/**
 * A strided convolution's input gradient on wasm as one matrix product (XNNPACK's GEMM through
 * the backend's BatchMatMul) and a scatter-add: T = dy [N·Ho·Wo, Cout] · Wᵀ [Cout, kh·kw·Cin]
 * holds, for each of dy's pixels, what it sends to each tap's input pixel; then
 * dx[n, s·y+p−pt, s·x+q−pl] += T[n,y,x,p,q] over the taps (col2im). The dilated convolution it
 * replaces multiplies dy's s²−1 zeros in every s² (3/4 at stride 2); the products here are
 * exactly the nonzero ones, summed per tap in another order (so to rounding, not to the bit).
 */
import * as tf from '@tensorflow/tfjs-core';
import { backendKernel, heapViews, wasmOutputs, type WasmBackendLike } from './wasm-heap.js';

/**
 * When the GEMM is taken: strides of at least `minStride` (at stride 1 there are no zeros to
 * skip and XNNPACK's convolution is the better GEMM), products T of at most `maxBytes`. Tests
 * move them to cover both paths.
 */
export const BI_BY_GEMM = { minStride: 2, maxBytes: 16 * 2 ** 20 };

/** dx [N, H, W, Cin] (`inShape`) of a convolution with `filter` [kh, kw, Cin, Cout]; null where BI_BY_GEMM says no. */
export function backpropInputByGemm(
  backend: WasmBackendLike,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  [sh, sw]: [number, number],
  [pt, , pl]: [number, number, number, number],
  inShape: number[],
): tf.TensorInfo | null {
  const [kh, kw, cin, cout] = filter.shape as [number, number, number, number];
  const [n, ho, wo] = dy.shape as [number, number, number];
  const [h, w] = [inShape[1]!, inShape[2]!];
  const taps = kh * kw * cin;
  const m = n * ho * wo;
  if (Math.max(sh, sw) < BI_BY_GEMM.minStride || 4 * m * taps > BI_BY_GEMM.maxBytes) return null;
  // Wᵀ [Cout, kh, kw, Cin]: four axes, the backend's fast transpose.
  const wT = backendKernel(backend, tf.Transpose, { x: filter }, { perm: [3, 0, 1, 2] });
  const t = backendKernel(
    backend,
    tf.BatchMatMul,
    { a: { ...dy, shape: [1, m, cout] }, b: { ...wT, shape: [1, cout, taps] } },
    { transposeA: false, transposeB: false },
  );
  // Unforced: a transpose of size-1 axes is an Identity, which may share the filter's buffer.
  // Released, it takes XNNPACK's operator (Wᵀ packed) with it.
  backend.disposeData(wT.dataId);
  const [out] = wasmOutputs(backend, [[n, h, w, cin]]);
  const [T, O] = heapViews(backend, [t, out!]);
  O!.fill(0);
  for (let img = 0; img < n; img++)
    for (let y = 0; y < ho; y++)
      for (let p = 0; p < kh; p++) {
        const r = sh * y + p - pt;
        if (r < 0 || r >= h) continue; // a tap on the padding, or on a row the forward left over
        for (let x = 0; x < wo; x++) {
          const from = ((img * ho + y) * wo + x) * taps + p * kw * cin;
          for (let q = 0; q < kw; q++) {
            const c = sw * x + q - pl;
            if (c < 0 || c >= w) continue;
            const to = ((img * h + r) * w + c) * cin;
            const src = from + q * cin;
            for (let i = 0; i < cin; i++) O![to + i]! += T![src + i]!;
          }
        }
      }
  backend.disposeData(t.dataId, true);
  return out!;
}
