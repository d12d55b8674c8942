/**
 * The filter gradient on wasm as ONE matrix product through the backend's BatchMatMul (XNNPACK's
 * GEMM): dW[p,q,c,o] = Σ_{n,y,x} x[n, s·y+p−pt, s·x+q−pl, c] · dy[n,y,x,o].
 *
 * The batch↔channel-swapped convolution this replaces hands XNNPACK a convolution with 8 input
 * channels (the batch), a 3×3 output and dy as a kernel the size of the map: its indirect GEMM
 * reached a fifth to a quarter of wasm's peak. Here x is split by stride phase into planes
 * [Cin, N, Hq, Wq] (padded, a stride-s convolution is a stride-1 one over each of s² phases), dy
 * is laid over the same Hq×Wq grid with zeros beyond its own Ho×Wo, and then each tap's operand is
 * ONE contiguous run of its phase plane, shifted by the tap's offset i·Wq + j: a row of it (one
 * channel) meets dy's zeros wherever the shift runs past a row's or an image's end, so no
 * im2col gather is needed, only kh·kw copies of whole runs. The taps' runs stacked
 * [kh·kw·Cin, N·Hq·Wq] times dy [N·Hq·Wq, Cout] is the filter's own layout [kh, kw, Cin, Cout].
 * The products over the grid's padding (Hq·Wq against Ho·Wo: 1.13× at 32², 2.25× at 4²) are zeros.
 */
import * as tf from '@tensorflow/tfjs-core';
import { backendKernel, heapViews, wasmOutputs, type WasmBackendLike } from './wasm-heap.js';

/**
 * The most bytes the stacked operand may take: past it the taps go in groups (one product
 * each, dy packed once: XNNPACK keeps the operator on dy's copy), and where one tap alone is past
 * it the caller convolves instead. Tests lower it to cover the groups and the fallback.
 */
export const BF_BY_GEMM = { maxBytes: 64 * 2 ** 20 };

/**
 * The filter gradient [kh, kw, Cin, Cout] of a convolution of x [N, H, W, Cin] giving dy [N, Ho,
 * Wo, Cout] with `strides` and `pads` [top, bottom, left, right], or null where one tap's operand
 * would pass BF_BY_GEMM.maxBytes.
 */
export function backpropFilterByGemm(
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  strides: [number, number],
  pads: [number, number, number, number],
  kernel: [number, number],
): tf.TensorInfo | null {
  const [n, h, w, cin] = x.shape as [number, number, number, number];
  const [, ho, wo, cout] = dy.shape as [number, number, number, number];
  const [kh, kw] = kernel;
  const [sh, sw] = strides;
  const [pt, , pl] = pads;
  // Within a phase plane tap p = s·i + a reaches i rows down: the grid is dy's plus the reach.
  const [reachH, reachW] = [Math.floor((kh - 1) / sh), Math.floor((kw - 1) / sw)];
  const [hq, wq] = [ho + reachH, wo + reachW];
  const grid = n * hq * wq;
  const tapFloats = cin * grid;
  const perGroup = Math.min(kh * kw, Math.floor(BF_BY_GEMM.maxBytes / 4 / tapFloats));
  if (perGroup < 1) return null;
  const [phH, phW] = [Math.min(sh, kh), Math.min(sw, kw)];
  // A plane runs on past its end by the farthest tap's shift, zeros, so the last channel's run fits.
  const planeFloats = tapFloats + reachH * wq + reachW;

  const xT = backendKernel(backend, tf.Transpose, { x }, { perm: [3, 0, 1, 2] }); // [cin, n, h, w]
  const [planes, dyGrid] = wasmOutputs(backend, [[phH * phW * planeFloats], [1, grid, cout]]);
  const [XT, P, D, DG] = heapViews(backend, [xT, planes!, dy, dyGrid!]);
  P!.fill(0);
  for (let a = 0; a < phH; a++)
    for (let b = 0; b < phW; b++) {
      const plane = (a * phW + b) * planeFloats;
      // The columns v whose source s·v + b − pl lies inside x.
      const v0 = Math.max(0, Math.ceil((pl - b) / sw));
      const v1 = Math.min(wq, Math.floor((w - 1 + pl - b) / sw) + 1);
      if (v1 <= v0) continue;
      for (let cn = 0; cn < cin * n; cn++)
        for (let u = 0; u < hq; u++) {
          const y = sh * u + a - pt;
          if (y < 0 || y >= h) continue;
          const to = plane + (cn * hq + u) * wq;
          const from = (cn * h + y) * w + b - pl;
          if (sw === 1) P!.set(XT!.subarray(from + v0, from + v1), to + v0);
          else for (let v = v0; v < v1; v++) P![to + v] = XT![from + sw * v]!;
        }
    }
  backend.disposeData(xT.dataId); // unforced: a transpose of size-1 axes may be x's own buffer
  DG!.fill(0);
  for (let img = 0; img < n; img++)
    for (let y = 0; y < ho; y++) {
      const from = (img * ho + y) * wo * cout;
      DG!.set(D!.subarray(from, from + wo * cout), (img * hq + y) * wq * cout);
    }

  const groups: { first: number; product: tf.TensorInfo }[] = [];
  for (let first = 0; first < kh * kw; first += perGroup) {
    const taps = Math.min(perGroup, kh * kw - first);
    const [stacked] = wasmOutputs(backend, [[1, taps * cin, grid]]);
    const [S, Pv] = heapViews(backend, [stacked!, planes!]);
    for (let t = 0; t < taps; t++) {
      const [p, q] = [Math.floor((first + t) / kw), (first + t) % kw];
      const from = ((p % sh) * phW + (q % sw)) * planeFloats + Math.floor(p / sh) * wq + Math.floor(q / sw);
      S!.set(Pv!.subarray(from, from + tapFloats), t * tapFloats);
    }
    const product = backendKernel(
      backend,
      tf.BatchMatMul,
      { a: stacked!, b: dyGrid! },
      { transposeA: false, transposeB: false },
    );
    backend.disposeData(stacked!.dataId, true);
    groups.push({ first, product });
  }
  backend.disposeData(planes!.dataId, true);
  // Forced: XNNPACK's operator (dy packed) is kept on this id until it goes.
  backend.disposeData(dyGrid!.dataId, true);
  if (groups.length === 1) {
    const out = groups[0]!.product;
    out.shape = [kh, kw, cin, cout];
    return out;
  }
  const [out] = wasmOutputs(backend, [[kh, kw, cin, cout]]);
  const [O, ...G] = heapViews(backend, [out!, ...groups.map((g) => g.product)]);
  for (const [k, { first }] of groups.entries()) O!.set(G[k]!, first * cin * cout);
  for (const { product } of groups) backend.disposeData(product.dataId, true);
  return out!;
}
