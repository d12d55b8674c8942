/**
 * Gradients tfjs lacks or gets wrong for training StyleGAN2 on every backend
 * (measured in ../shared/docs/tfjs-notes.md):
 * - Conv2D: the stock gradient needs the Conv2DBackpropFilter kernel, which wasm does not have,
 *   and whose own gradient no backend has (so R1 and path length, which differentiate a
 *   gradient, fail). Here both gradients are plain Conv2D calls on padded / dilated /
 *   transposed tensors: every piece is differentiable again, and XNNPACK runs them fast.
 * - LeakyRelu: the stock gradient uses `Greater`, which has no gradient, so second-order
 *   paths fail. `step(x, α)` is the same derivative, and Step's own gradient is zero.
 * - DepthwiseConv2dNative (the FIR filters): wasm has no depthwise backprop kernels. The input
 *   gradient is again a depthwise convolution (dilated, padded dy with the filter turned 180°).
 *   The filters are constants, so no filter gradient is offered.
 */
import * as tf from '@tensorflow/tfjs-core';
import { fusedHere } from '../kernels/fused.js';
import { CONV_BI_KERNEL, adjointPads, convBackpropFilter, convBackpropInput } from '../kernels/conv-grads.js';

let registered = false;

interface Conv2DAttrs {
  strides: number | [number, number];
  /** Explicit padding is tfjs's [[0, 0], [top, bottom], [left, right], [0, 0]] (NHWC). */
  pad: 'valid' | 'same' | number | number[][];
  dataFormat: string;
  dilations: number | [number, number];
}

const pair = (v: number | [number, number]): [number, number] => (Array.isArray(v) ? v : [v, v]);

/**
 * Puts each sample at s·(y, x) with zeros between: [N,H,W,C] → [N,H·s,W·s,C]. Written with
 * 4-D tensors only (columns, then rows, each a pad of a size-1 axis), because tfjs-webgpu's
 * pad and transpose programs do not compile above four dimensions.
 */
export function spreadSpatial(x: tf.Tensor4D, s: number): tf.Tensor4D {
  if (s === 1) return x;
  const [n, h, w, c] = x.shape;
  const cols = tf.pad(tf.reshape(x, [n * h, w, 1, c]), [
    [0, 0],
    [0, 0],
    [0, s - 1],
    [0, 0],
  ]); // [N·H, W, s, C]
  const rows = tf.pad(tf.reshape(cols, [n, h, 1, w * s * c]), [
    [0, 0],
    [0, 0],
    [0, s - 1],
    [0, 0],
  ]); // [N, H, s, W·s·C]
  return tf.reshape(rows, [n, h * s, w * s, c]);
}

/** Inserts (s-1) zeros between samples along H and W: [N,H,W,C] → [N,(H-1)s+1,(W-1)s+1,C]. */
export function dilateSpatial(x: tf.Tensor4D, s: number): tf.Tensor4D {
  if (s === 1) return x;
  const [n, h, w, c] = x.shape;
  return tf.slice(spreadSpatial(x, s), [0, 0, 0, 0], [n, (h - 1) * s + 1, (w - 1) * s + 1, c]);
}

/**
 * The first half of a strided convolution's adjoint: dy dilated by the stride and padded so
 * that a stride-1 'valid' correlation with the kernel turned 180° covers the whole padded
 * input [hp, wp] (rows a strided window never reached get zeros).
 */
function dilateAndPadForAdjoint(
  dy: tf.Tensor4D,
  stride: [number, number],
  kernel: [number, number],
  padded: [number, number],
): tf.Tensor4D {
  const [, ho, wo] = dy.shape;
  const [sh, sw] = stride;
  const [kh, kw] = kernel;
  const extraH = padded[0] - ((ho - 1) * sh + kh);
  const extraW = padded[1] - ((wo - 1) * sw + kw);
  return tf.pad(dilateSpatial(dy, sh), [
    [0, 0],
    [kh - 1, kh - 1 + extraH],
    [kw - 1, kw - 1 + extraW],
    [0, 0],
  ]);
}

/** TF's padding for 'same' / 'valid' / explicit, as [top, bottom, left, right]. */
function explicitPadding(
  pad: Conv2DAttrs['pad'],
  h: number,
  w: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
): [number, number, number, number] {
  if (typeof pad === 'number') return [pad, pad, pad, pad];
  // Read as 'same' before: a frozen generator's up-sampling phases (explicit, uneven padding)
  // got a wrong gradient, so a projection descended along a wrong direction.
  if (Array.isArray(pad)) return [pad[1]![0]!, pad[1]![1]!, pad[2]![0]!, pad[2]![1]!];
  if (pad === 'valid') return [0, 0, 0, 0];
  const outH = Math.ceil(h / sh);
  const outW = Math.ceil(w / sw);
  const ph = Math.max((outH - 1) * sh + kh - h, 0);
  const pw = Math.max((outW - 1) * sw + kw - w, 0);
  return [Math.floor(ph / 2), ph - Math.floor(ph / 2), Math.floor(pw / 2), pw - Math.floor(pw / 2)];
}

/** What both convolution gradients need to know of the forward call (dilation 1 only). */
function convGeometry(x: tf.Tensor4D, filter: tf.Tensor4D, attrs: Conv2DAttrs, kernel: string) {
  const [dh, dw] = pair(attrs.dilations);
  if (dh !== 1 || dw !== 1 || (attrs.dataFormat && attrs.dataFormat !== 'NHWC')) {
    throw new Error(`Plumage ${kernel} gradient supports NHWC without dilation only`);
  }
  const stride = pair(attrs.strides);
  const [, h, w] = x.shape;
  const [kh, kw] = filter.shape;
  const [pt, pb, pl, pr] = explicitPadding(attrs.pad, h, w, kh, kw, stride[0], stride[1]);
  return {
    stride,
    kernel: [kh, kw] as [number, number],
    pads: [pt, pb, pl, pr] as const,
    padded: [h + pt + pb, w + pl + pr] as [number, number],
  };
}

export function registerPlumageGradients(): void {
  if (registered) return;
  registered = true;

  tf.registerGradient({
    kernelName: tf.Conv2D,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const [x4, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      const geo = convGeometry(x4, filter, attrs as unknown as Conv2DAttrs, 'Conv2D');
      const [sh, sw] = geo.stride;
      const [n, h, w, cin] = x4.shape;
      const [kh, kw, , cout] = filter.shape;
      const [pt, pb, pl, pr] = geo.pads;
      const [hp, wp] = geo.padded;
      const dy4 = dy as tf.Tensor4D;
      const fused = { strides: geo.stride, pads: [pt, pb, pl, pr] as [number, number, number, number] };
      if (fusedHere(CONV_BI_KERNEL) && adjointPads(fused, [kh, kw], dy4.shape, x4.shape))
        return {
          x: () => convBackpropInput(dy4, filter, fused, x4.shape),
          filter: () => convBackpropFilter(x4, dy4, fused, filter.shape),
        };
      return {
        // dx: the adjoint of a strided correlation is a correlation of the dilated, padded dy
        // with the filter turned 180° and in/out swapped.
        x: () => {
          const dpad = dilateAndPadForAdjoint(dy4, [sh, sw], [kh, kw], [hp, wp]);
          const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]); // [kh,kw,out,in]
          const dxp = tf.conv2d(dpad, flipped as tf.Tensor4D, 1, 'valid');
          return pt || pb || pl || pr ? tf.slice(dxp, [0, pt, pl, 0], [n, h, w, cin]) : dxp;
        },
        // dW[a,b,ci,co] = Σ_{n,oy,ox} xp[n, s·oy+a, s·ox+b, ci] · dy[n,oy,ox,co]: a convolution of
        // x (batch ↔ channels swapped) with dy as the filter, dilated by the stride.
        filter: () => {
          const xp =
            pt || pb || pl || pr
              ? tf.pad(x4, [
                  [0, 0],
                  [pt, pb],
                  [pl, pr],
                  [0, 0],
                ])
              : x4;
          const xT = tf.transpose(xp, [3, 1, 2, 0]); // [cin, hp, wp, n]
          const dyT = tf.transpose(dy4, [1, 2, 0, 3]); // [ho, wo, n, cout]
          let g = tf.conv2d(xT as tf.Tensor4D, dyT as tf.Tensor4D, 1, 'valid', 'NHWC', [sh, sw]); // [cin, kh', kw', cout]
          if (g.shape[1] !== kh || g.shape[2] !== kw) g = tf.slice(g, [0, 0, 0, 0], [cin, kh, kw, cout]);
          return tf.transpose(g, [1, 2, 0, 3]); // [kh, kw, cin, cout]
        },
      };
    },
  });

  tf.registerGradient({
    kernelName: tf.DepthwiseConv2dNative,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const [x4, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      if (filter.shape[3] !== 1) throw new Error('Plumage depthwise gradient supports channel multiplier 1 only');
      const geo = convGeometry(x4, filter, attrs as unknown as Conv2DAttrs, 'depthwise');
      const [n, h, w, c] = x4.shape;
      const [pt, pb, pl, pr] = geo.pads;
      const dy4 = dy as tf.Tensor4D;
      return {
        x: () => {
          const dpad = dilateAndPadForAdjoint(dy4, geo.stride, geo.kernel, geo.padded);
          const dxp = tf.depthwiseConv2d(dpad, tf.reverse(filter, [0, 1]) as tf.Tensor4D, 1, 'valid');
          return pt || pb || pl || pr ? tf.slice(dxp, [0, pt, pl, 0], [n, h, w, c]) : dxp;
        },
        filter: () => {
          throw new Error('Plumage treats depthwise filters as constants (FIR kernels): no filter gradient');
        },
      };
    },
  });

  tf.registerGradient({
    kernelName: tf.LeakyRelu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [tf.Tensor];
      const alpha = (attrs as unknown as { alpha: number }).alpha;
      return { x: () => tf.mul(dy as tf.Tensor, tf.step(x, alpha)) };
    },
  });
}
