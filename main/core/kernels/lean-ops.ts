/**
 * Reshape, add and sum for the passes that path length and R1 differentiate twice, with fewer
 * dispatches than tfjs's own. The cost they cut is the tape's, not the arithmetic's:
 * - tfjs saves a copy of every input a gradient might read (one Identity kernel each, and in the
 *   outer backward a Cast and an Add for each copy a gradient reaches), and Reshape, Add and Sum
 *   save their inputs only to learn their shapes. These run as kernels of their own name
 *   (PlumageReshape, PlumageAdd, PlumageSum: tfjs's own kernel function under another name)
 *   whose attributes carry the input shapes, so their gradients save nothing.
 * - A reshape outside any tape (the outer backward of R1 and path length, a plain backward, an
 *   inference pass) needs no kernel at all: it is a new tensor over the same data, which is all
 *   tfjs's Reshape kernel makes on wasm and webgpu (`backend.incRef` and a new shape).
 * - A product with a constant number (x·2 in a square's gradient, a layer's weight gain) saves
 *   x and the number for a gradient it never takes (the number's): PlumageScale saves neither,
 *   its gradient being dy times the same number.
 * The values are the very same bits: the same kernels compute them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { fusedHere } from './fused.js';

export const RESHAPE_KERNEL = 'PlumageReshape';
export const ADD_KERNEL = 'PlumageAdd';
export const SUM_KERNEL = 'PlumageSum';
export const SCALE_KERNEL = 'PlumageScale';

const { getReductionAxes } = tf.backend_util;

/** Whether a kernel run now is recorded for a gradient (false: nothing will differentiate it). */
const taped = (): boolean => tf.engine().isTapeOn();

/** x with `shape` over the same data, no kernel: only where no tape records (`taped()` false). */
function alias<T extends tf.Tensor>(x: tf.Tensor, shape: number[]): T {
  tf.backend().incRef(x.dataId);
  return tf.engine().makeTensorFromDataId(x.dataId, shape, x.dtype) as T;
}

/** The engine's (private) way to record a node on the tape, as its kernels are recorded; null if it has none. */
interface TapeRecorder {
  addTapeNode(
    kernelName: string,
    inputs: tf.NamedTensorMap,
    outputs: tf.Tensor[],
    gradientsFunc: null,
    saved: tf.Tensor[],
    attrs: tf.NamedAttrMap,
  ): void;
}
const recorder = (): TapeRecorder | null => {
  const engine = tf.engine() as unknown as Partial<TapeRecorder>;
  return typeof engine.addTapeNode === 'function' ? (engine as TapeRecorder) : null;
};

/**
 * tf.reshape without a kernel: off the tape the new tensor over the same data; on it the same,
 * recorded as a PlumageReshape node (what running the kernel would record, but no dispatch), so
 * a gradient of it, and a gradient of that, go through PlumageReshape's gradient.
 */
export function reshape<T extends tf.Tensor>(x: tf.Tensor, shape: number[]): T {
  if (!fusedHere(RESHAPE_KERNEL)) return tf.reshape(x, shape) as T;
  const full = tf.util.inferFromImplicitShape(shape, x.size);
  if (tf.util.sizeFromShape(full) !== x.size) throw new RangeError(`reshape: [${x.shape}] into [${shape}]`);
  if (!taped()) return alias<T>(x, full);
  const attrs = { shape: full, inShape: x.shape };
  const rec = recorder();
  if (!rec) return tf.engine().runKernel(RESHAPE_KERNEL, { x }, attrs) as T;
  const y = alias<T>(x, full);
  rec.addTapeNode(RESHAPE_KERNEL, { x }, [y], null, [], attrs);
  return y;
}

/** tf.add (float32; a number b as tf.add makes it): a kernel that saves nothing for its gradient. */
export function add<T extends tf.Tensor>(a: tf.Tensor, bOrNumber: tf.Tensor | number): T {
  const b = typeof bOrNumber === 'number' ? tf.scalar(bOrNumber) : bOrNumber;
  if (!fusedHere(ADD_KERNEL) || a.dtype !== 'float32' || b.dtype !== 'float32') return tf.add(a, b) as T;
  return tf.engine().runKernel(ADD_KERNEL, { a, b }, { aShape: a.shape, bShape: b.shape }) as T;
}

/** tf.sum over `axes` (float32): a kernel that saves nothing for its gradient. */
export function sum<T extends tf.Tensor>(x: tf.Tensor, axes: number | number[], keepDims = false): T {
  if (!fusedHere(SUM_KERNEL) || x.dtype !== 'float32') return tf.sum(x, axes, keepDims) as T;
  const axis = tf.util.parseAxisParam(axes, x.shape);
  return tf.engine().runKernel(SUM_KERNEL, { x }, { axis, keepDims, inShape: x.shape }) as T;
}

/** x·c for a constant c (float32): tf.mul(x, c)'s kernel, saving nothing for its gradient. */
export function scale<T extends tf.Tensor>(x: tf.Tensor, c: number): T {
  if (!fusedHere(SCALE_KERNEL) || x.dtype !== 'float32') return tf.mul(x, c) as T;
  return tf.engine().runKernel(SCALE_KERNEL, { a: x, b: tf.scalar(c) }, { c }) as T;
}

/**
 * g's share for an input of `shape` broadcast to g's shape. g itself where nothing was broadcast
 * and g is `fresh` (made for this input alone); otherwise a new tensor, as a gradient must be
 * (the tape disposes one input's gradient when it adds another to it).
 */
export function unbroadcast(g: tf.Tensor, shape: number[], fresh = false): tf.Tensor {
  const axes = getReductionAxes(shape, g.shape);
  if (axes.length === 0) return fresh ? g : reshape(g, shape);
  // A sum that keeps its dims, or drops them, often has the shape already (a bias [C] of
  // [N,H,W,C], styles [N,1,1,C]): no reshape after it, which on a tape would be a kernel.
  const keep = shape.length === g.rank;
  const summed = sum(g, axes, keep);
  return tf.util.arraysEqual(summed.shape, shape) ? summed : reshape(summed, shape);
}

/** dy of a reduction over `axes` of an input of `shape`, broadcast back to it (divided by `divisor` first). */
export function spread(dy: tf.Tensor, shape: number[], axes: number[], divisor: number | null): tf.Tensor {
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const g = reshape(dy, kept);
  const scaled = divisor === null ? g : tf.div(g, divisor);
  // Broadcast by a multiply with ones (x·1 is x, to the bit), as tfjs does: wasm's Tile kernel
  // takes 30–100 ms to spread a scalar over a 256K-value activation, Fill and Multiply ~1 ms.
  return axes.length === 0 ? scaled : tf.mul(scaled, tf.ones(shape, 'float32'));
}

type Args = { inputs: Record<string, tf.TensorInfo>; backend: unknown; attrs?: tf.NamedAttrMap };

/** `stock`'s kernel function for `backendName`, under `name`: the same computation. */
const aliasOf = (name: string, stock: string, backendName: string): tf.KernelConfig => ({
  kernelName: name,
  backendName,
  kernelFunc: ((args: Args) => {
    const k = tf.getKernel(stock, backendName);
    if (!k) throw new Error(`${name}: no ${stock} kernel on ${backendName}`);
    return k.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]);
  }) as unknown as tf.KernelFunc,
});

export const leanOpKernels: tf.KernelConfig[] = ['wasm', 'webgpu'].flatMap((b) => [
  aliasOf(RESHAPE_KERNEL, tf.Reshape, b),
  aliasOf(ADD_KERNEL, tf.Add, b),
  aliasOf(SUM_KERNEL, tf.Sum, b),
  aliasOf(SCALE_KERNEL, tf.Multiply, b),
]);

type Shapes = Record<string, number[]>;

export const leanOpGradients: tf.GradConfig[] = [
  {
    kernelName: RESHAPE_KERNEL,
    gradFunc: (dy, _saved, attrs) => ({ x: () => reshape(dy as tf.Tensor, (attrs as unknown as Shapes).inShape!) }),
  },
  {
    kernelName: ADD_KERNEL,
    gradFunc: (dy, _saved, attrs) => {
      const { aShape, bShape } = attrs as unknown as Shapes;
      return { a: () => unbroadcast(dy as tf.Tensor, aShape!), b: () => unbroadcast(dy as tf.Tensor, bShape!) };
    },
  },
  {
    kernelName: SUM_KERNEL,
    gradFunc: (dy, _saved, attrs) => {
      const { axis, inShape } = attrs as unknown as Shapes;
      return { x: () => spread(dy as tf.Tensor, inShape!, axis!, null) };
    },
  },
  {
    // b, the constant, is on no gradient's path: the tape asks for a's only.
    kernelName: SCALE_KERNEL,
    gradFunc: (dy, _saved, attrs) => ({ a: () => scale(dy as tf.Tensor, (attrs as unknown as { c: number }).c) }),
  },
];
