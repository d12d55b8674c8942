/**
 * Adam as torch.optim.Adam computes it, with its moments held as tfjs variables so a checkpoint
 * can store and restore them exactly. Lazy regularisation shares one optimiser between the main
 * and the regularisation phases, with lr·c and β^c, c = interval / (interval + 1).
 */
import * as tf from '@tensorflow/tfjs-core';
import { fusedHere } from '../kernels/fused.js';
import { ADAM_KERNEL, adamUpdate } from '../kernels/optimiser.js';
import { variableOf } from './params.js';

export interface AdamSettings {
  lr: number;
  betas: [number, number];
  eps: number;
}

/** The lazy-regularisation correction of the reference's training loop. */
export function lazyRegularised(base: AdamSettings, interval: number): AdamSettings {
  const c = interval / (interval + 1);
  return { lr: base.lr * c, betas: [base.betas[0] ** c, base.betas[1] ** c], eps: base.eps };
}

export class Adam {
  readonly settings: AdamSettings;
  /** Optimiser steps taken (the bias corrections use it). */
  step = 0;
  readonly #params: tf.Variable[];
  readonly m: tf.Variable[];
  readonly v: tf.Variable[];
  /** Parameters (by variable name) this optimiser leaves untouched, moments included: Freeze-D. */
  frozen: ReadonlySet<string> = new Set();

  constructor(params: tf.Variable[], settings: AdamSettings, label: string) {
    this.settings = settings;
    this.#params = params;
    this.m = params.map((p) => variableOf(tf.zerosLike(p), false, `${p.name}/adam_m/${label}`));
    this.v = params.map((p) => variableOf(tf.zerosLike(p), false, `${p.name}/adam_v/${label}`));
  }

  /**
   * One update. A parameter missing from `grads` takes a zero gradient (as the reference's
   * `loss + output·0` trick gives every parameter one), so all moments decay in step.
   */
  apply(grads: tf.NamedTensorMap): void {
    this.step++;
    const { lr, betas, eps } = this.settings;
    const [b1, b2] = betas;
    const bc1 = 1 - b1 ** this.step;
    const bc2 = 1 - b2 ** this.step;
    const live = this.#params.flatMap((p, i) => (this.frozen.has(p.name) ? [] : [i]));
    if (fusedHere(ADAM_KERNEL)) {
      // One kernel for every parameter, the same float32 operations as below.
      tf.tidy(() => {
        const k = { b1, b2, sqrtBc2: Math.sqrt(bc2), eps, stepSize: lr / bc1 };
        const grad = (i: number): tf.Tensor | null => grads[this.#params[i]!.name] ?? null;
        const pick = <T>(xs: T[]): T[] => live.map((i) => xs[i]!);
        const out = adamUpdate(pick(this.#params), pick(this.m), pick(this.v), live.map(grad), k);
        live.forEach((i, j) => {
          this.#params[i]!.assign(out[j]![0]);
          this.m[i]!.assign(out[j]![1]);
          this.v[i]!.assign(out[j]![2]);
        });
      });
      return;
    }
    this.#params.forEach((p, i) => {
      if (this.frozen.has(p.name)) return;
      tf.tidy(() => {
        const g = grads[p.name] ?? tf.zerosLike(p);
        const m = tf.add(tf.mul(this.m[i]!, b1), tf.mul(g, 1 - b1));
        const v = tf.add(tf.mul(this.v[i]!, b2), tf.mul(tf.square(g), 1 - b2));
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), eps);
        p.assign(tf.sub(p, tf.mul(tf.div(m, denom), lr / bc1)));
        this.m[i]!.assign(m);
        this.v[i]!.assign(v);
      });
    });
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
  }
}
