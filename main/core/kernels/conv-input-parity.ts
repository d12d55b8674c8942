/**
 * A big stride-2 convolution's input gradient on wasm by output parity (the dilated convolution
 * without its zeros), for conv-grads.ts.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { heapViews, wasmOutputs, xnnConv, type WasmBackendLike } from './wasm-heap.js';

/**
 * From how many multiply-adds of the dilated convolution BI goes by parity: below, its four
 * XNNPACK convolutions (each set up anew with its own filter) and the interleave cost more than
 * the zeros they skip. Measured side by side in one process by CPU time, 2026-12-05, at load
 * ~17: a stride-2 3×3 over [8,33,33,16→32] 0.78× (slower), [8,17,17,32→64] 0.72×, [8,9,9,64→64]
 * 0.98×, [8,33,33,64→64] (321 M) 1.34× faster. So none of the tiny preset's convolutions
 * (≤ 43 M) go by parity; the 128-channel and 64² networks' do. Tests set it to 0.
 */
export const BY_PARITY = { minMacs: 150e6 };

/** One axis of a stride-2 BI's output parity r: its taps of the turned filter, rows, and dy's padding. */
function parityAxis(k: number, pad0: number, outLen: number, dyLen: number, r: number) {
  const taps: number[] = [];
  for (let p = 0; p < k; p++) if ((((pad0 - r - p) % 2) + 2) % 2 === 0) taps.push(p);
  const count = Math.ceil((outLen - r) / 2);
  const before = taps.length > 0 ? (pad0 - r - taps[0]!) / 2 : 0;
  const after = count - 1 + taps.length - dyLen - before;
  return { taps, count, before, after };
}

/**
 * BI of a stride-2 convolution without the dilated dy's zeros: an output row of parity r only
 * meets the turned filter's taps p ≡ pad − r (mod 2), over consecutive rows of dy, so each of the
 * four output parities is a stride-1 convolution of dy itself with its own taps (a quarter of the
 * dilated convolution's multiplies, which were 3/4 zeros), interleaved into dx. The nonzero
 * products are summed in the same window order, so the bits are the dilated convolution's
 * (test/unit/kernels-conv-grads.test.ts). Null where a parity would need a negative padding.
 */
export function backpropInputByParity(
  backend: WasmBackendLike,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  pads: [number, number, number, number],
  inShape: number[],
): tf.TensorInfo | null {
  const [kh, kw, cin, cout] = filter.shape as [number, number, number, number];
  const [n, ho, wo] = dy.shape as [number, number, number];
  const [hin, win] = [inShape[1]!, inShape[2]!];
  const rows = [0, 1].map((r) => parityAxis(kh, pads[0], hin, ho, r));
  const cols = [0, 1].map((s) => parityAxis(kw, pads[2], win, wo, s));
  for (const a of [...rows, ...cols])
    if (a.taps.length > 0 && a.count > 0 && (a.before < 0 || a.after < 0)) return null;
  const phases: { r: number; s: number; out: tf.TensorInfo }[] = [];
  for (let r = 0; r < 2; r++)
    for (let s = 0; s < 2; s++) {
      const [R, S] = [rows[r]!, cols[s]!];
      if (R.taps.length === 0 || S.taps.length === 0 || R.count <= 0 || S.count <= 0) continue; // zeros
      const [sub] = wasmOutputs(backend, [[R.taps.length, S.taps.length, cout, cin]]);
      const [W, T] = heapViews(backend, [filter, sub!]);
      for (const [i, p] of R.taps.entries())
        for (const [j, q] of S.taps.entries())
          for (let o = 0; o < cout; o++) {
            const to = ((i * S.taps.length + j) * cout + o) * cin;
            const from = ((kh - 1 - p) * kw + (kw - 1 - q)) * cin * cout + o;
            for (let c = 0; c < cin; c++) T![to + c] = W![from + c * cout]!;
          }
      phases.push({ r, s, out: xnnConv(backend, dy, sub!, [R.before, R.after, S.before, S.after], [1, 1]) });
      backend.disposeData(sub!.dataId, true);
    }
  const [out] = wasmOutputs(backend, [[n, hin, win, cin]]);
  const [O, ...P] = heapViews(backend, [out!, ...phases.map((ph) => ph.out)]);
  O!.fill(0);
  for (const [k, { r, s }] of phases.entries()) {
    const [cr, cs] = [rows[r]!.count, cols[s]!.count];
    const src = P[k]!;
    for (let b = 0; b < n; b++)
      for (let u = 0; u < cr; u++)
        for (let v = 0; v < cs; v++) {
          const from = ((b * cr + u) * cs + v) * cin;
          O!.set(src.subarray(from, from + cin), ((b * hin + 2 * u + r) * win + 2 * v + s) * cin);
        }
  }
  for (const ph of phases) backend.disposeData(ph.out.dataId, true);
  return out!;
}
