/**
 * Kernels over the wasm backend's heap, in JavaScript. A wasm kernel gets TensorInfos whose data
 * live in the instance's linear memory; it allocates its outputs there (`makeOutput`) and reads
 * and writes them through typed-array views. Allocating can grow the memory, which detaches
 * every view taken before: take views only after the last allocation (`heapViews`).
 */
import * as tf from '@tensorflow/tfjs-core';

export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
  disposeData(dataId: object, force?: boolean): boolean;
}

export const isWasm = (backend: unknown): backend is WasmBackendLike =>
  typeof (backend as Partial<WasmBackendLike>).typedArrayFromHeap === 'function' &&
  typeof (backend as Partial<WasmBackendLike>).makeOutput === 'function';

/** Float32 views of `infos` (inputs and outputs alike), taken after every output is allocated. */
export function heapViews(backend: WasmBackendLike, infos: tf.TensorInfo[]): Float32Array[] {
  return infos.map((info) => {
    if (info.dtype !== 'float32') throw new TypeError(`a fused wasm kernel takes float32, got ${info.dtype}`);
    return backend.typedArrayFromHeap(info);
  });
}

/** Float32 outputs of the given shapes (their views come from heapViews, afterwards). */
export const wasmOutputs = (backend: WasmBackendLike, shapes: number[][]): tf.TensorInfo[] =>
  shapes.map((s) => backend.makeOutput(s, 'float32'));

/** The wasm backend's own kernel `name` (its C++ and XNNPACK), called as a function inside one of ours. */
export function backendKernel(
  backend: WasmBackendLike,
  name: string,
  inputs: Record<string, tf.TensorInfo>,
  attrs: Record<string, unknown>,
): tf.TensorInfo {
  return tf.getKernel(name, 'wasm')!.kernelFunc({
    inputs,
    backend: backend as unknown as tf.KernelBackend,
    attrs: attrs as unknown as tf.NamedAttrMap,
  }) as tf.TensorInfo;
}

/** The wasm backend's own Conv2D (XNNPACK) at stride 1, its padding [top, bottom, left, right] explicit. */
export const xnnConv = (
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  [top, bottom, left, right]: [number, number, number, number],
  dilations: [number, number],
): tf.TensorInfo =>
  backendKernel(
    backend,
    tf.Conv2D,
    { x, filter },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations,
    },
  );
