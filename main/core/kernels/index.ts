/**
 * Registers Plumage's fused kernels (and the gradients that use them) once per thread: every
 * thread that runs the networks calls this before it computes, so all of them take the same
 * path and compute the same bits (the trainer, its replicas, the gallery's lanes).
 */
import * as tf from '@tensorflow/tfjs-core';
import { onFusedSwitch } from './fused.js';
import { useLeanGradients } from './lean-gradients.js';
import { optimiserKernels } from './optimiser.js';
import { upFirDnGradient, upFirDnKernels } from './upfirdn.js';
import { biasActGradients, biasActKernels } from './bias-act.js';
import { convGradGradients, convGradKernels } from './conv-grads.js';
import { leanOpGradients, leanOpKernels } from './lean-ops.js';
import { drawStylesKernels } from './draw-styles.js';
import { drawEpilogueKernels } from './draw-epilogue.js';

export { fusedHere, fusedKernelsEnabled, useFusedKernels } from './fused.js';

let registered = false;

export function registerFusedKernels(): void {
  if (registered) return;
  registered = true;
  const kernels = [
    optimiserKernels,
    upFirDnKernels,
    biasActKernels,
    convGradKernels,
    leanOpKernels,
    drawStylesKernels,
    drawEpilogueKernels,
  ];
  for (const k of kernels.flat()) tf.registerKernel(k);
  for (const g of [upFirDnGradient, ...biasActGradients, ...convGradGradients, ...leanOpGradients])
    tf.registerGradient(g);
  onFusedSwitch(useLeanGradients);
}
