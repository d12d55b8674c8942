/**
 * Reading a tensor's values back to JavaScript. tfjs's synchronous reads (`dataSync`,
 * `arraySync`) cannot run on WebGPU in Node: its backend reads synchronously through
 * `OffscreenCanvas`, which Node lacks. So every path that may run on a GPU (the gallery,
 * `generate`, favourites, interpolation, prints, training) reads asynchronously, here or with
 * `await t.data()`; the lint rule refuses the synchronous reads outside the few places where a
 * CPU backend is certain.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** The tensor's floats; the tensor is disposed, read or not (a failed read leaks nothing). */
export async function readAndDispose(t: tf.Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}
