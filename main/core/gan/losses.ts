/**
 * The loss terms of StyleGAN2 (the reference's `training/loss.py`), as pure functions the
 * training step and the gradient tests share.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Non-saturating G loss: mean softplus(−D(G(z))) = −log σ(D(G(z))). logits [N,1] → scalar */
export const generatorLoss = (fakeLogits: tf.Tensor): tf.Scalar => tf.mean(tf.softplus(tf.neg(fakeLogits)));

/** D loss: mean softplus(D(G(z))) + mean softplus(−D(x)). */
export const discriminatorLoss = (fakeLogits: tf.Tensor, realLogits: tf.Tensor): tf.Scalar =>
  tf.add(tf.mean(tf.softplus(fakeLogits)), tf.mean(tf.softplus(tf.neg(realLogits))));

/**
 * R1 penalty per sample: ‖∇ₓ Σ D(x)‖² over each image. A gradient of a gradient when
 * differentiated for D's weights. `onLogits` receives the logits (for ADA's statistics).
 * reals [N,H,W,C] → [N]
 */
export function r1Penalty(
  discriminate: (x: tf.Tensor4D) => tf.Tensor,
  reals: tf.Tensor4D,
  onLogits?: (logits: tf.Tensor) => void,
): tf.Tensor1D {
  const grads = tf.grad((x: tf.Tensor) => {
    const logits = discriminate(x as tf.Tensor4D);
    onLogits?.(logits);
    return tf.sum(logits);
  })(reals);
  return tf.sum(tf.square(grads), [1, 2, 3]) as tf.Tensor1D;
}

/**
 * Path lengths per sample: ‖Jᵀy‖ with y = pl_noise (the image's shape, N(0,1)/res) and J the
 * Jacobian of the image w.r.t. ws, averaged over the ws layers as the reference does:
 * sqrt(mean over layers of Σ over w of grad²). ws [N,L,W] → [N]
 */
export function pathLengths(
  synthesize: (ws: tf.Tensor3D) => tf.Tensor4D,
  ws: tf.Tensor3D,
  plNoise: tf.Tensor4D,
): tf.Tensor1D {
  const grads = tf.grad((w: tf.Tensor) => tf.sum(tf.mul(synthesize(w as tf.Tensor3D), plNoise)))(ws); // [N,L,W]
  return tf.sqrt(tf.mean(tf.sum(tf.square(grads), 2), 1)) as tf.Tensor1D;
}
