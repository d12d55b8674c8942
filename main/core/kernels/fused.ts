/**
 * Plumage's fused kernels (issue #21): one kernel where tfjs would dispatch many, registered
 * per backend (wasm: JavaScript over the instance's heap, calling XNNPACK where it computes;
 * webgpu: WGSL). Every site that uses one keeps the composed ops it replaces as its fallback:
 * for a backend without the kernel (pure JS, tfjs-node), and for the tests and the bench, which
 * hold the fused path to the composed one and measure the two side by side in one process.
 */
import * as tf from '@tensorflow/tfjs-core';

let enabled = true;
const switches: ((on: boolean) => void)[] = [];

/** Turns the fused kernels (and the lean gradients) on or off for this thread: tests and the bench compare the two. */
export function useFusedKernels(on: boolean): void {
  if (on === enabled) return;
  enabled = on;
  for (const s of switches) s(on);
}

/** Something else that follows the switch (registered gradients), set to the current state now. */
export function onFusedSwitch(s: (on: boolean) => void): void {
  switches.push(s);
  s(enabled);
}

export const fusedKernelsEnabled = (): boolean => enabled;

/** Whether the fused kernel `name` runs here: the kernels are on and the current backend has it. */
export function fusedHere(name: string): boolean {
  return enabled && tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** What a kernel function is handed: its inputs, the backend and its attributes. */
export type KernelArgs = { inputs: Record<string, tf.TensorInfo>; backend: unknown; attrs?: tf.NamedAttrMap };

/** A kernel's registration for one backend. */
export const kernelConfig = (
  kernelName: string,
  backendName: string,
  func: (a: KernelArgs) => tf.TensorInfo,
): tf.KernelConfig => ({ kernelName, backendName, kernelFunc: func as unknown as tf.KernelFunc });
