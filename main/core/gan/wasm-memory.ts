/**
 * Memory on the wasm backend, where one instance addresses at most 4 GiB and its heap only grows.
 *
 * tfjs saves every tensor a gradient needs by cloning it (`engine.saveTensorsForBackwardMode`),
 * and a clone runs the Identity kernel. The cpu and webgl backends share the data there; the
 * wasm backend's Identity (4.22) copies it. So every weight and activation a taped forward pass
 * touched existed twice until the backward pass ended, and each copy of a conv weight had a new
 * data id, so XNNPACK packed it again. Measured on the 64² preset (4 images, G main phase): the
 * heap grew 659 → 2364 MB in the first third of the forward pass, most of it in Identity copies,
 * and the step aborted at 4 GiB. Sharing the data (refcounted, as the wasm backend's own Reshape
 * does) is safe because no tfjs kernel writes into its inputs and `Variable.assign` swaps data ids
 * rather than overwriting.
 */
import * as tf from '@tensorflow/tfjs-core';

interface WasmBackend {
  incRef(dataId: object): void;
  wasm: { HEAPU8: Uint8Array };
}

let shared = false;

/** Makes Identity on wasm share its input's data. Call after the wasm backend is registered. */
export function shareIdentityOnWasm(): void {
  if (shared) return;
  const stock = tf.getKernel(tf.Identity, 'wasm');
  if (!stock) return;
  shared = true;
  tf.unregisterKernel(tf.Identity, 'wasm');
  tf.registerKernel({
    kernelName: tf.Identity,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      if (x.dtype === 'string') return stock.kernelFunc(args) as tf.TensorInfo;
      (args.backend as unknown as WasmBackend).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
}

/**
 * Bytes of the wasm instance's linear memory: what the 4 GiB bound applies to. It never shrinks,
 * so read after a phase it is that phase's peak (with allocator slack). Null on other backends.
 */
export function wasmHeapBytes(): number | null {
  if (tf.getBackend() !== 'wasm') return null;
  return (tf.backend() as unknown as WasmBackend).wasm.HEAPU8.length;
}
