/**
 * The convolution's fused gradients (main/core/kernels/conv-grads.ts) against the composed ones
 * in gan/grads.ts (which gan-grads holds to finite differences), for each geometry the networks
 * use: each gradient to the bit by convolution (wasm; to rounding on webgpu) and to rounding by
 * GEMM (conv-filter-gemm.ts, conv-input-gemm.ts: the same products in another order), R1's
 * gradient of a gradient (which differentiates both kernels again) to float32 rounding, and
 * fewer kernels dispatched.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { fusedHere, useFusedKernels } from '../../main/core/kernels/fused.js';
import { BY_PARITY, CONV_BI_KERNEL, convBackpropFilter } from '../../main/core/kernels/conv-grads.js';
import { BF_BY_GEMM } from '../../main/core/kernels/conv-filter-gemm.js';
import { BI_BY_GEMM } from '../../main/core/kernels/conv-input-gemm.js';
import { RandomState } from '../../main/core/gan/rng.js';
import { backendReady, maxAbsDiff } from '../helpers/gan.js';

before(() => backendReady);

const bits = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

type Pad = 'same' | 'valid' | number;

async function run(on: boolean, x: tf.Tensor4D, f: tf.Tensor4D, stride: number, pad: Pad) {
  useFusedKernels(on);
  try {
    const conv = (u: tf.Tensor, v: tf.Tensor): tf.Tensor => tf.conv2d(u as tf.Tensor4D, v as tf.Tensor4D, stride, pad);
    const y = conv(x, f);
    const w = tf.sin(tf.mul(tf.range(0, y.size).reshape(y.shape), 0.7));
    const loss = (u: tf.Tensor, v: tf.Tensor): tf.Scalar => tf.sum(tf.mul(conv(u, v), w));
    const backwardKernels = (await tf.profile(() => tf.dispose(tf.grads(loss)([x, f])))).kernels.length;
    const [dx, df] = tf.grads(loss)([x, f]);
    // R1's shape: the input gradient squared, differentiated again for the input and the filter.
    const [ddx, ddf] = tf.grads((u: tf.Tensor, v: tf.Tensor) =>
      tf.sum(tf.square(tf.grad((s: tf.Tensor) => tf.sum(tf.mul(tf.square(conv(s, v)), w)))(u))),
    )([x, f]);
    const read = async (t: tf.Tensor): Promise<Float32Array> => (await t.data()) as Float32Array;
    const out = {
      dx: await read(dx!),
      df: await read(df!),
      ddx: await read(ddx!),
      ddf: await read(ddf!),
      backwardKernels,
    };
    tf.dispose([w, y, dx!, df!, ddx!, ddf!]);
    return out;
  } finally {
    useFusedKernels(true);
  }
}

for (const [name, xShape, fShape, stride, pad] of [
  ["a 3×3 'same' layer", [2, 6, 5, 3], [3, 3, 3, 4], 1, 'same'],
  ["the up-sampling layer's 2×2 polyphase convolution", [2, 5, 5, 3], [2, 2, 3, 8], 1, 'valid'],
  ["the down-sampling layer's stride-2 3×3 (a row left over)", [2, 8, 9, 4], [3, 3, 4, 3], 2, 'valid'],
  ['a 1×1 skip / toRGB', [3, 4, 4, 5], [1, 1, 5, 2], 1, 'valid'],
  ['a stride-2 3×3 with padding 1', [1, 7, 6, 2], [3, 3, 2, 3], 2, 1],
  ['a stride-2 1×1 (odd rows and columns get no tap)', [2, 6, 7, 3], [1, 1, 3, 2], 2, 'valid'],
  ['a stride-2 3×3, even size, valid', [2, 10, 10, 5], [3, 3, 5, 4], 2, 'valid'],
] as [string, number[], number[], number, Pad][]) {
  // A stride-2 input gradient goes by output parity from a size up (BY_PARITY), a strided one
  // below it by GEMM (BI_BY_GEMM); the filter gradient by GEMM below a waste of products
  // (BF_BY_GEMM): every way, on any size.
  const biWays = stride === 2 ? (['parity', 'gemm', 'conv'] as const) : (['gemm', 'conv'] as const);
  const ways = biWays.flatMap((bi) => [true, false].map((gemm) => ({ bi, gemm })));
  for (const { bi, gemm } of ways) {
    const how = `, input gradient by ${bi === 'conv' && stride === 2 ? 'dilated convolution' : bi}, filter gradient by ${gemm ? 'GEMM' : 'convolution'}`;
    test(`fused conv gradients, ${name}${how}: first order as the composed, R1's second order to rounding`, async (t) => {
      if (!fusedHere(CONV_BI_KERNEL)) return t.skip(`no fused conv gradients on ${tf.getBackend()}`);
      const rng = new RandomState(21);
      const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);
      const x = tf.tensor4d(rng.randnF32(size(xShape)), xShape as [number, number, number, number]);
      const f = tf.tensor4d(rng.randnF32(size(fShape), 0.5), fShape as [number, number, number, number]);
      const [minMacs, bf, biGemm] = [BY_PARITY.minMacs, { ...BF_BY_GEMM }, { ...BI_BY_GEMM }];
      BY_PARITY.minMacs = bi === 'parity' ? 0 : Infinity;
      BI_BY_GEMM.minStride = bi === 'gemm' ? 1 : Infinity;
      Object.assign(BF_BY_GEMM, gemm ? { maxWaste: Infinity } : { maxBytes: 0 });
      try {
        const composed = await run(false, x, f, stride, pad);
        const fused = await run(true, x, f, stride, pad);
        // wasm: the same XNNPACK convolutions over the same numbers, so the same bits (a GEMM
        // sums the products in another order); webgpu: the backend's own
        // backprop programs, which sum in another order.
        const exact = tf.getBackend() === 'wasm';
        const bitwise = exact ? [...(bi === 'gemm' ? [] : ['dx' as const]), ...(gemm ? [] : ['df' as const])] : [];
        for (const k of bitwise) assert.ok(bits(fused[k]).equals(bits(composed[k])), `${k} differs`);
        for (const k of ['dx', 'df', 'ddx', 'ddf'] as const) {
          const scale = Math.max(...composed[k].map(Math.abs));
          const diff = maxAbsDiff(fused[k], composed[k]);
          assert.ok(diff <= 1e-5 * scale, `${k}: off by ${diff} of ${scale}`);
        }
        assert.ok(
          fused.backwardKernels < composed.backwardKernels,
          `${fused.backwardKernels} vs ${composed.backwardKernels}`,
        );
      } finally {
        BY_PARITY.minMacs = minMacs;
        Object.assign(BF_BY_GEMM, bf);
        Object.assign(BI_BY_GEMM, biGemm);
        tf.dispose([x, f]);
      }
    });
  }
}

test('fused filter gradient at batch 1 and one channel: the composed bits, and its inputs left alive', async (t) => {
  if (!fusedHere(CONV_BI_KERNEL)) return t.skip(`no fused conv gradients on ${tf.getBackend()}`);
  const rng = new RandomState(3);
  // n = 1 and one channel: both transposes only move size-1 axes, which tfjs's wasm Transpose
  // answers with an Identity (a copy today; the kernel releases it unforced in case it is not).
  const x = tf.tensor4d(rng.randnF32(5 * 5), [1, 5, 5, 1]);
  const dy = tf.tensor4d(rng.randnF32(5 * 5 * 2), [1, 5, 5, 2]);
  const before = [(await x.data()).slice(), (await dy.data()).slice()];
  const g = { strides: [1, 1] as [number, number], pads: [1, 1, 1, 1] as [number, number, number, number] };
  const tensors = tf.memory().numTensors;
  const bf = { ...BF_BY_GEMM };
  BF_BY_GEMM.maxBytes = 0; // the convolution: its bits (the GEMM's are held to rounding above)
  const df = convBackpropFilter(x, dy, g, [3, 3, 1, 2]);
  Object.assign(BF_BY_GEMM, bf);
  useFusedKernels(false);
  const f0 = tf.zeros([3, 3, 1, 2]);
  const composed = tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, 1, 'same'), dy)))(f0);
  useFusedKernels(true);
  try {
    const [fused, reference] = [(await df.data()) as Float32Array, (await composed.data()) as Float32Array];
    if (tf.getBackend() === 'wasm') assert.ok(bits(fused).equals(bits(reference)));
    else assert.ok(maxAbsDiff(fused, reference) <= 1e-5 * Math.max(...reference.map(Math.abs)));
    assert.deepEqual(await x.data(), before[0]);
    assert.deepEqual(await dy.data(), before[1]);
  } finally {
    tf.dispose([x, dy, df, composed, f0]);
  }
  assert.equal(tf.memory().numTensors, tensors - 2);
});

test('filter gradient by GEMM: taps in groups past its memory budget, one channel and one image, inputs alive', async (t) => {
  if (!fusedHere(CONV_BI_KERNEL) || tf.getBackend() !== 'wasm') return t.skip('the GEMM is the wasm path');
  const rng = new RandomState(5);
  const bf = { ...BF_BY_GEMM };
  // [x shape, kernel, stride, pads]: odd sizes, uneven padding, a 2×3 kernel, stride 2 with a row left over.
  for (const [xs, [kh, kw, cout], s, pads] of [
    [[2, 7, 8, 3], [3, 2, 4], 1, [2, 0, 1, 1]],
    [[1, 9, 7, 1], [3, 3, 2], 2, [1, 1, 0, 1]],
    [[3, 5, 5, 2], [1, 1, 3], 2, [0, 0, 0, 0]],
    [[1, 1, 1, 4], [1, 1, 2], 1, [0, 0, 0, 0]],
  ] as [number[], number[], number, [number, number, number, number]][]) {
    const [n, h, w, cin] = xs as [number, number, number, number];
    const [ho, wo] = [
      Math.floor((h + pads[0] + pads[1] - kh!) / s) + 1,
      Math.floor((w + pads[2] + pads[3] - kw!) / s) + 1,
    ];
    const x = tf.tensor4d(rng.randnF32(n * h * w * cin), [n, h, w, cin]);
    const dy = tf.tensor4d(rng.randnF32(n * ho * wo * cout!), [n, ho, wo, cout!]);
    const before = [(await x.data()).slice(), (await dy.data()).slice()];
    const g = { strides: [s, s] as [number, number], pads };
    const shape = [kh!, kw!, cin, cout!];
    // One tap's operand: Cin × the grid (dy's map plus the taps' reach within a stride phase).
    const tapBytes = 4 * cin * n * (ho + Math.floor((kh! - 1) / s)) * (wo + Math.floor((kw! - 1) / s));
    const tensors = tf.memory().numTensors;
    try {
      const results: Float32Array[] = [];
      for (const maxBytes of [0, Infinity, tapBytes, 2 * tapBytes]) {
        Object.assign(BF_BY_GEMM, { maxBytes, maxWaste: Infinity });
        const df = convBackpropFilter(x, dy, g, shape);
        results.push((await df.data()) as Float32Array);
        df.dispose();
      }
      const [conv, ...gemms] = results as [Float32Array, ...Float32Array[]];
      const scale = Math.max(...conv.map(Math.abs));
      for (const [i, r] of gemms.entries())
        assert.ok(maxAbsDiff(r, conv) <= 1e-5 * scale, `${xs} ${shape} way ${i}: off by ${maxAbsDiff(r, conv)}`);
      assert.deepEqual(await x.data(), before[0]);
      assert.deepEqual(await dy.data(), before[1]);
      assert.equal(tf.memory().numTensors, tensors);
    } finally {
      Object.assign(BF_BY_GEMM, bf);
      tf.dispose([x, dy]);
    }
  }
});
