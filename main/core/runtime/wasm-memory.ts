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
import { assertPatchedVersion } from './tfjs-version.js';

interface WasmBackend {
  incRef(dataId: object): void;
  numDataIds(): number;
  wasm: { HEAPU8: Uint8Array };
}

/** The wasm backend's own Identity and ours, once installed. */
let identities: { stock: tf.KernelConfig; shared: tf.KernelConfig } | null = null;

/**
 * Makes Identity on wasm share its input's data. Call after the wasm backend is registered, with
 * its `version_wasm`: the kernel counts on that release's reference counting (and tfjs-core's
 * kernel registry), so it refuses any other.
 */
export function shareIdentityOnWasm(wasmVersion: string, coreVersion: string = tf.version_core): void {
  if (identities) return;
  const stock = tf.getKernel(tf.Identity, 'wasm');
  if (!stock) return;
  assertPatchedVersion(
    'The shared wasm Identity (runtime/wasm-memory.ts)',
    '@tensorflow/tfjs-backend-wasm',
    wasmVersion,
  );
  assertPatchedVersion('The shared wasm Identity (runtime/wasm-memory.ts)', '@tensorflow/tfjs-core', coreVersion);
  identities = {
    stock,
    shared: {
      kernelName: tf.Identity,
      backendName: 'wasm',
      kernelFunc: (args) => {
        const x = args.inputs.x as tf.TensorInfo;
        if (x.dtype === 'string') return stock.kernelFunc(args) as tf.TensorInfo;
        (args.backend as unknown as WasmBackend).incRef(x.dataId);
        return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
      },
    },
  };
  tf.unregisterKernel(tf.Identity, 'wasm');
  tf.registerKernel(identities.shared);
}

/**
 * Switches between the wasm backend's own Identity (`true`, a copy) and the shared one, once
 * installed: the tests hold the shared one to the stock one, bit for bit.
 */
export function useStockIdentity(stock: boolean): void {
  if (!identities) return;
  tf.unregisterKernel(tf.Identity, 'wasm');
  tf.registerKernel(stock ? identities.stock : identities.shared);
}

/**
 * Data buffers the wasm backend holds (each tensor's data id, counted once however many tensors
 * share it): a reference counted twice keeps a buffer, and its heap, that `tf.memory()` no longer
 * counts. Null on other backends.
 */
export function wasmDataIds(): number | null {
  if (tf.getBackend() !== 'wasm') return null;
  return (tf.backend() as unknown as WasmBackend).numDataIds();
}

/**
 * Bytes of the wasm instance's linear memory: what the 4 GiB bound applies to. It never shrinks,
 * so it is the peak so far (with the allocator's slack). Null on other backends.
 */
export function wasmHeapBytes(): number | null {
  if (tf.getBackend() !== 'wasm') return null;
  return (tf.backend() as unknown as WasmBackend).wasm.HEAPU8.length;
}
