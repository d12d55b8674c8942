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
 * When the GEMM is taken. `maxBytes`: the most the stacked operand may take, the memory it needs
 * beyond the convolution's (x's planes and dy's grid stand for its transposed x and dy); past it
 * the taps go in groups (one product each, dy packed once: XNNPACK keeps the operator on dy's
 * copy), and where one tap alone is past it the caller convolves instead. `maxWaste`: the most
 * products over the grid's padding, as the grid's size over dy's (Hq·Wq / Ho·Wo). Measured side
 * by side in one process by CPU time (`npm run bench -- conv-grads --repeats 25`, 2026-12-05,
 * load 8), the convolution's time over the GEMM's, waste in brackets: 1×1 (1) 2.0–2.7; 3×3 at
 * 32² (1.13) 1.24, stride 2 from 33² (1.13) 1.49; at 16² (1.27) 1.17, stride 2 from 17² (1.27)
 * 1.22; at 8² (1.56) 0.95, stride 2 from 9² (1.56) 0.57–0.94; at 4² (2.25) 0.77. Tests move both.
 */
export const BF_BY_GEMM = { maxBytes: 16 * 2 ** 20, maxWaste: 1.3 };

/**
 * The filter gradient [kh, kw, Cin, Cout] of a convolution of x [N, H, W, Cin] giving dy [N, Ho,
 * Wo, Cout] with `strides` and `pads` [top, bottom, left, right], or null where BF_BY_GEMM says
 * the convolution does better.
 */
export function backpropFilterByGemm(
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  strides: [number, number],
  pads: [number, number, number, number],
  kernel: [number, number],
): tf.TensorInfo | null {
  const [n, , , cin] = x.shape as [number, number, number, number];
  const [, ho, wo, cout] = dy.shape as [number, number, number, number];
  const [kh, kw] = kernel;
  const [sh, sw] = strides;
  // Within a phase plane tap p = s·i + a reaches i rows down: the grid is dy's plus the reach.
  const [reachH, reachW] = [Math.floor((kh - 1) / sh), Math.floor((kw - 1) / sw)];
  const [hq, wq] = [ho + reachH, wo + reachW];
  const grid = n * hq * wq;
  const tapFloats = cin * grid;
  const perGroup = Math.min(kh * kw, Math.floor(BF_BY_GEMM.maxBytes / 4 / tapFloats));
  if (perGroup < 1 || hq * wq > BF_BY_GEMM.maxWaste * ho * wo) return null;
  const planes = phasePlanes(backend, x, strides, pads, [hq, wq]);
  const [dyGrid] = wasmOutputs(backend, [[1, grid, cout]]);
  const [D, DG] = heapViews(backend, [dy, dyGrid!]);
  DG!.fill(0);
  for (let img = 0; img < n; img++)
    for (let y = 0; y < ho; y++) {
      const from = (img * ho + y) * wo * cout;
      DG!.set(D!.subarray(from, from + wo * cout), (img * hq + y) * wq * cout);
    }

  const groups: { first: number; product: tf.TensorInfo }[] = [];
  for (let first = 0; first < kh * kw; first += perGroup) {
    const taps = Math.min(perGroup, kh * kw - first);
    // One tap at no shift (a 1×1 at stride 1) is the first plane itself.
    const alone = kh * kw === 1 && sh * sw === 1;
    const [stacked] = alone ? [{ ...planes, shape: [1, cin, grid] }] : wasmOutputs(backend, [[1, taps * cin, grid]]);
    if (!alone) {
      const [S, P] = heapViews(backend, [stacked!, planes]);
      for (let t = 0; t < taps; t++) {
        const [p, q] = [Math.floor((first + t) / kw), (first + t) % kw];
        const from = ((p % sh) * sw + (q % sw)) * tapFloats + Math.floor(p / sh) * wq + Math.floor(q / sw);
        // The last plane's last channel runs past the end by the shift: over dy's zeros, so zeros.
        const run = Math.min(tapFloats, P!.length - from);
        S!.set(P!.subarray(from, from + run), t * tapFloats);
        S!.fill(0, t * tapFloats + run, (t + 1) * tapFloats);
      }
    }
    const product = backendKernel(
      backend,
      tf.BatchMatMul,
      { a: stacked!, b: dyGrid! },
      { transposeA: false, transposeB: false },
    );
    if (!alone) backend.disposeData(stacked!.dataId, true);
    groups.push({ first, product });
  }
  backend.disposeData(planes.dataId);
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

/**
 * x's stride phases [sh, sw, Cin, N, hq, wq]: phase (a, b) at (u, v) is x[n, sh·u + a − pt, sw·v + b − pl],
 * zero outside x. x is first padded (or cut) to [N, sh·hq, sw·wq, Cin] in whole rows, then one
 * transpose of the backend's (C++) deals the phases out: a JavaScript loop over single elements
 * was slower than the product it feeds.
 */
function phasePlanes(
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  [sh, sw]: [number, number],
  [pt, , pl]: [number, number, number, number],
  [hq, wq]: [number, number],
): tf.TensorInfo {
  const [n, h, w, cin] = x.shape as [number, number, number, number];
  const [hp, wp] = [sh * hq, sw * wq];
  let padded: tf.TensorInfo = x;
  if (pt !== 0 || pl !== 0 || hp !== h || wp !== w) {
    padded = wasmOutputs(backend, [[n, hp, wp, cin]])[0]!;
    const [X, P] = heapViews(backend, [x, padded]);
    P!.fill(0);
    const [c0, c1] = [Math.max(0, pl), Math.min(wp, w + pl)];
    for (let img = 0; img < n; img++)
      for (let r = Math.max(0, pt); r < Math.min(hp, h + pt); r++) {
        const from = ((img * h + r - pt) * w + c0 - pl) * cin;
        P!.set(X!.subarray(from, from + (c1 - c0) * cin), ((img * hp + r) * wp + c0) * cin);
      }
  }
  // [N·hq, sh, wq, sw·Cin] → [sh, sw·Cin, N·hq, wq] is [sh, sw, Cin, N, hq, wq]. Four axes: tfjs's
  // wasm transposes of 2, 3 or 5 axes ran 10–40× slower here (the general loop, not XNNPACK's).
  const [shape, perm] =
    sh * sw === 1
      ? [
          [n, hq, wq, cin],
          [3, 0, 1, 2],
        ]
      : [
          [n * hq, sh, wq, sw * cin],
          [1, 3, 0, 2],
        ];
  const planes = backendKernel(backend, tf.Transpose, { x: { ...padded, shape } }, { perm });
  // Unforced (as the planes' own release): a transpose that only moves size-1 axes is an
  // Identity, which a backend may answer with its input's buffer and one reference more.
  if (padded !== x) backend.disposeData(padded.dataId);
  return planes;
}
