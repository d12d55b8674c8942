/**
 * The optimiser's arithmetic in one kernel per step instead of a dozen per parameter tensor:
 * Adam's update of every parameter, and the lerp that moves G_ema towards G. Both take every
 * tensor of a network at once (inputs p0, m0, v0, g0, p1, …), as PyTorch's multi-tensor Adam
 * does. On wasm each value goes through the same float32 operations, in the same order, as the
 * composed ops they replace (gan/adam.ts, training.ts's G_ema update), each result rounded to
 * float32 (`Math.fround`; +, −, ×, ÷ and √ in double precision and then rounded give the
 * correctly rounded float32 result): the same bits. No gradient: they run outside any tape.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapViews, isWasm, wasmOutputs } from './wasm-heap.js';
import { floats, isWebGpu, perElement } from './webgpu-program.js';

export const ADAM_KERNEL = 'PlumageAdam';
export const LERP_KERNEL = 'PlumageLerp';

/**
 * One Adam step's constants, as the composed update uses them:
 * m' = m·b1 + g·(1−b1); v' = v·b2 + g²·(1−b2); p' = p − m' / (√v' / √bc2 + eps) · lr/bc1.
 */
export interface AdamConstants {
  b1: number;
  b2: number;
  sqrtBc2: number; // √(1 − b2^step)
  eps: number;
  stepSize: number; // lr / (1 − b1^step)
}

interface AdamAttrs extends AdamConstants {
  count: number;
  /** 1 where the parameter has a gradient; 0: a zero gradient (the moments still decay). */
  hasGrad: number[];
}

/** The float32 scalars of an Adam step, in the order the composed ops take them. */
const adamScalars = (k: AdamConstants): [number, number, number, number, number, number, number] => {
  const f = Math.fround;
  return [f(k.b1), f(1 - k.b1), f(k.b2), f(1 - k.b2), f(k.sqrtBc2), f(k.eps), f(k.stepSize)];
};

/**
 * Adam for many parameters in one dispatch. `grads[i]` null: a zero gradient. Returns the new
 * [parameter, m, v] of each, to assign.
 */
export function adamUpdate(
  params: tf.Tensor[],
  ms: tf.Tensor[],
  vs: tf.Tensor[],
  grads: (tf.Tensor | null)[],
  k: AdamConstants,
): [tf.Tensor, tf.Tensor, tf.Tensor][] {
  const inputs: tf.NamedTensorMap = {};
  params.forEach((p, i) => {
    inputs[`p${i}`] = p;
    inputs[`m${i}`] = ms[i]!;
    inputs[`v${i}`] = vs[i]!;
    const g = grads[i];
    if (g) inputs[`g${i}`] = g;
  });
  const attrs: AdamAttrs = { ...k, count: params.length, hasGrad: grads.map((g) => (g ? 1 : 0)) };
  const out = tf.engine().runKernel(ADAM_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return params.map((_, i) => [out[3 * i]!, out[3 * i + 1]!, out[3 * i + 2]!]);
}

/** a + (b − a)·t for each pair, in one dispatch: G_ema ← lerp(G, G_ema, β) is lerpAll(G, G_ema, β). */
export function lerpAll(a: tf.Tensor[], b: tf.Tensor[], t: number): tf.Tensor[] {
  const inputs: tf.NamedTensorMap = {};
  a.forEach((x, i) => {
    inputs[`a${i}`] = x;
    inputs[`b${i}`] = b[i]!;
  });
  return tf.engine().runKernel(LERP_KERNEL, inputs, { count: a.length, t }) as tf.Tensor[];
}

type Inputs = Record<string, tf.TensorInfo>;

function adamWasm({ inputs, backend, attrs }: { inputs: Inputs; backend: unknown; attrs?: tf.NamedAttrMap }) {
  if (!isWasm(backend)) throw new Error(`${ADAM_KERNEL}: not the wasm backend`);
  const a = attrs as unknown as AdamAttrs;
  const [b1, c1, b2, c2, s2, eps, step] = adamScalars(a);
  const f = Math.fround;
  const outs: tf.TensorInfo[] = [];
  for (let i = 0; i < a.count; i++) {
    const shape = inputs[`p${i}`]!.shape;
    outs.push(...wasmOutputs(backend, [shape, shape, shape]));
  }
  for (let i = 0; i < a.count; i++) {
    const ins = [inputs[`p${i}`]!, inputs[`m${i}`]!, inputs[`v${i}`]!, ...(a.hasGrad[i] ? [inputs[`g${i}`]!] : [])];
    const [P, M, V, G] = heapViews(backend, ins);
    const [Po, Mo, Vo] = heapViews(backend, outs.slice(3 * i, 3 * i + 3));
    for (let j = 0; j < P!.length; j++) {
      const g = G ? G[j]! : 0;
      const m = f(f(M![j]! * b1) + f(g * c1));
      const v = f(f(V![j]! * b2) + f(f(g * g) * c2));
      const denom = f(f(f(Math.sqrt(v)) / s2) + eps);
      Po![j] = f(P![j]! - f(f(m / denom) * step));
      Mo![j] = m;
      Vo![j] = v;
    }
  }
  return outs;
}

function adamWebGpu({ inputs, backend, attrs }: { inputs: Inputs; backend: unknown; attrs?: tf.NamedAttrMap }) {
  if (!isWebGpu(backend)) throw new Error(`${ADAM_KERNEL}: not the webgpu backend`);
  const a = attrs as unknown as AdamAttrs;
  const [b1, c1, b2, c2, s2, eps, step] = adamScalars(a);
  const outs: tf.TensorInfo[] = [];
  for (let i = 0; i < a.count; i++) {
    const [p, m, v, g] = [inputs[`p${i}`]!, inputs[`m${i}`]!, inputs[`v${i}`]!, inputs[`g${i}`]];
    const grad = a.hasGrad[i] ? 'G[index]' : '0.0';
    const mProgram = perElement(
      `adam_m_${a.hasGrad[i]}`,
      a.hasGrad[i] ? ['M', 'G'] : ['M'],
      p.shape,
      `setOutputAtIndex(index, M[index] * uniforms.b1 + ${grad} * uniforms.c1);`,
      ['b1', 'c1'],
    );
    const vProgram = perElement(
      `adam_v_${a.hasGrad[i]}`,
      a.hasGrad[i] ? ['V', 'G'] : ['V'],
      p.shape,
      `let g = ${grad}; setOutputAtIndex(index, V[index] * uniforms.b2 + (g * g) * uniforms.c2);`,
      ['b2', 'c2'],
    );
    const m2 = backend.runWebGPUProgram(mProgram, g && a.hasGrad[i] ? [m, g] : [m], 'float32', floats(b1, c1));
    const v2 = backend.runWebGPUProgram(vProgram, g && a.hasGrad[i] ? [v, g] : [v], 'float32', floats(b2, c2));
    const pProgram = perElement(
      'adam_p',
      ['P', 'M', 'V'],
      p.shape,
      `let denom = sqrt(V[index]) / uniforms.s2 + uniforms.eps;
       setOutputAtIndex(index, P[index] - (M[index] / denom) * uniforms.step);`,
      ['s2', 'eps', 'step'],
    );
    const p2 = backend.runWebGPUProgram(pProgram, [p, m2, v2], 'float32', floats(s2, eps, step));
    outs.push(p2, m2, v2);
  }
  return outs;
}

function lerpWasm({ inputs, backend, attrs }: { inputs: Inputs; backend: unknown; attrs?: tf.NamedAttrMap }) {
  if (!isWasm(backend)) throw new Error(`${LERP_KERNEL}: not the wasm backend`);
  const { count, t } = attrs as { count: number; t: number };
  const f = Math.fround;
  const ft = f(t);
  const outs = wasmOutputs(
    backend,
    Array.from({ length: count }, (_, i) => inputs[`a${i}`]!.shape),
  );
  for (let i = 0; i < count; i++) {
    const [A, B, O] = heapViews(backend, [inputs[`a${i}`]!, inputs[`b${i}`]!, outs[i]!]);
    for (let j = 0; j < A!.length; j++) O![j] = f(A![j]! + f(f(B![j]! - A![j]!) * ft));
  }
  return outs;
}

function lerpWebGpu({ inputs, backend, attrs }: { inputs: Inputs; backend: unknown; attrs?: tf.NamedAttrMap }) {
  if (!isWebGpu(backend)) throw new Error(`${LERP_KERNEL}: not the webgpu backend`);
  const { count, t } = attrs as { count: number; t: number };
  const outs: tf.TensorInfo[] = [];
  for (let i = 0; i < count; i++) {
    const a = inputs[`a${i}`]!;
    const program = perElement(
      'lerp',
      ['A', 'B'],
      a.shape,
      'setOutputAtIndex(index, A[index] + (B[index] - A[index]) * uniforms.t);',
      ['t'],
    );
    outs.push(backend.runWebGPUProgram(program, [a, inputs[`b${i}`]!], 'float32', floats(t)));
  }
  return outs;
}

export const optimiserKernels: tf.KernelConfig[] = [
  { kernelName: ADAM_KERNEL, backendName: 'wasm', kernelFunc: adamWasm as unknown as tf.KernelFunc },
  { kernelName: ADAM_KERNEL, backendName: 'webgpu', kernelFunc: adamWebGpu as unknown as tf.KernelFunc },
  { kernelName: LERP_KERNEL, backendName: 'wasm', kernelFunc: lerpWasm as unknown as tf.KernelFunc },
  { kernelName: LERP_KERNEL, backendName: 'webgpu', kernelFunc: lerpWebGpu as unknown as tf.KernelFunc },
];
