/**
 * WGSL programs for tfjs-backend-webgpu, built without importing the package (it registers
 * itself on import, and must be imported only once Dawn's globals exist: runtime/webgpu.ts). A
 * program follows the backend's WebGPUProgram interface (4.22): the backend declares the inputs
 * (`variableNames`, each an `array<f32>`), their shapes and strides, `uniforms.size` and the
 * program's own uniforms, and calls `main(index)` once per output element.
 */
import type * as tf from '@tensorflow/tfjs-core';

export interface WebGpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  size: boolean;
  uniforms?: string;
  getUserCode(): string;
}

export interface WebGpuBackendLike {
  runWebGPUProgram(
    program: WebGpuProgram,
    inputs: tf.TensorInfo[],
    outputDtype: tf.DataType,
    uniforms?: { type: 'float32' | 'int32'; data: number[] }[],
  ): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

export const isWebGpu = (backend: unknown): backend is WebGpuBackendLike =>
  typeof (backend as Partial<WebGpuBackendLike>).runWebGPUProgram === 'function';

const WORKGROUP = 64;

/**
 * A program with one invocation per output element. `body` is the inside of `fn main(index : i32)`
 * guarded by `index < uniforms.size`; it writes with `setOutputAtIndex(index, value)`.
 * `key` names the shader (with everything that changes its code) for the backend's cache.
 */
export function perElement(
  key: string,
  inputs: string[],
  outputShape: number[],
  body: string,
  uniforms: string[] = [],
  helpers = '',
): WebGpuProgram {
  const size = outputShape.reduce((a, b) => a * b, 1);
  return {
    variableNames: inputs,
    outputShape,
    shaderKey: `plumage_${key}`,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(size / WORKGROUP), 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    ...(uniforms.length ? { uniforms: uniforms.map((u) => `${u} : f32,`).join(' ') } : {}),
    getUserCode: () => `
      ${helpers}
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${body}
        }
      }`,
  };
}

/** Float uniforms in the order the program declared them. */
export const floats = (...values: number[]): { type: 'float32'; data: number[] }[] =>
  values.map((v) => ({ type: 'float32', data: [v] }));
