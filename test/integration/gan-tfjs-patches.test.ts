/**
 * Plumage's two tfjs patches change when memory is let go, never a number: the frugal backward
 * pass (runtime/tape.ts) and the shared wasm Identity (runtime/wasm-memory.ts) give every phase's
 * gradients and statistics bit for bit as stock tfjs does, and a run of steps holds no more
 * wasm buffers at its end than after its first step (a reference counted twice would keep a
 * buffer, and its heap, that `tf.memory()` no longer counts).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { useStockGradients } from '../../main/core/runtime/tape.js';
import { GanTrainer, type PhaseName } from '../../main/core/gan/training.js';
import { useStockIdentity, wasmDataIds, wasmHeapBytes } from '../../main/core/runtime/wasm-memory.js';
import { RandomState } from '../../main/core/gan/rng.js';
import { backendReady, micro } from '../helpers/gan.js';
import { HeldTrainer, PHASES, heldPhase, referenceFixture, type HeldPhase } from '../helpers/reference-step.js';

before(async () => {
  await backendReady;
});

const bits = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function assertSameBits(phase: string, patched: HeldPhase, stock: HeldPhase): void {
  assert.deepEqual([...patched.grads.keys()], [...stock.grads.keys()], `${phase}: the same parameters`);
  for (const [name, g] of patched.grads)
    assert.ok(bits(g).equals(bits(stock.grads.get(name)!)), `${phase}: ∇${name} differs from stock tfjs's`);
  for (const [name, v] of Object.entries(patched.stats))
    assert.ok(Object.is(v, stock.stats[name as keyof typeof stock.stats]), `${phase}: ${name} differs`);
  assert.ok(Object.is(patched.plMean, stock.plMean), `${phase}: pl_mean differs`);
}

async function stockTfjs<T>(f: () => Promise<T>): Promise<T> {
  useStockGradients(true);
  useStockIdentity(true);
  try {
    return await f();
  } finally {
    useStockGradients(false);
    useStockIdentity(false);
  }
}

test('every phase, whole-batch and in rounds: the patched gradients equal stock tfjs’s bit for bit', async () => {
  // Both patches are in place here (installed by the backend chain), and the switch swaps them.
  const gradients = (): unknown => (tf.engine() as unknown as { gradients: unknown }).gradients;
  const identity = (): unknown => tf.getKernel(tf.Identity, 'wasm')?.kernelFunc;
  const patched = [gradients(), identity()];
  const stock = await stockTfjs(async () => [gradients(), identity()]);
  assert.notEqual(stock[0], patched[0], 'the frugal backward pass is installed');
  if (tf.getBackend() === 'wasm') assert.notEqual(stock[1], patched[1], 'the shared Identity is installed');
  assert.deepEqual([gradients(), identity()], patched);
  const fixture = referenceFixture();
  for (const [phases, batchGpu] of [
    [PHASES, undefined],
    [['Gmain', 'Dmain', 'Dreg'], 4],
    [['Greg'], 2], // path length's two passes, the second differentiating a gradient per round
  ] as [PhaseName[], number | undefined][]) {
    const trainer = new HeldTrainer(fixture, batchGpu ? { batchGpu } : {});
    const reals = trainer.reals();
    try {
      for (const phase of phases) {
        const patched = await heldPhase(trainer, phase, reals);
        const stock = await stockTfjs(() => heldPhase(trainer, phase, reals));
        assertSameBits(`${phase} (rounds of ${batchGpu ?? 'the batch'})`, patched, stock);
      }
    } finally {
      reals.dispose();
      trainer.dispose();
    }
  }
});

test('steps of every phase leave the wasm backend holding no more buffers than the first did', async (t) => {
  if (tf.getBackend() !== 'wasm') return t.skip(`the tests run on ${tf.getBackend()}, not wasm`);
  // Augmentation and style mixing on, random noise: every kernel a real step runs.
  const trainer = new GanTrainer(micro({ ada: { target: 0.6, interval: 4, kimg: 500, initialP: 0.5 } }), 3);
  const rng = new RandomState(9);
  const c = trainer.config;
  const reals = tf.tensor4d(rng.randnF32(c.batchSize * c.resolution ** 2 * 3, 0.5), [
    c.batchSize,
    c.resolution,
    c.resolution,
    3,
  ]);
  const counts: { ids: number; tensors: number; heap: number }[] = [];
  try {
    for (let step = 0; step < 6; step++) {
      await trainer.trainStep(reals, PHASES);
      await trainer.takeStats();
      await trainer.syncCounters();
      counts.push({ ids: wasmDataIds()!, tensors: tf.memory().numTensors, heap: wasmHeapBytes()! });
    }
  } finally {
    reals.dispose();
    trainer.dispose();
  }
  t.diagnostic(`after each step: ${counts.map((x) => `${x.ids} buffers, ${x.tensors} tensors`).join('; ')}`);
  // The first step makes what lives on (kernels' constants, Adam's moments, the statistics' sums).
  for (const [i, x] of counts.entries()) {
    assert.equal(x.tensors, counts[0]!.tensors, `tensors after step ${i + 1}`);
    assert.equal(
      x.ids,
      counts[0]!.ids,
      `wasm buffers after step ${i + 1}: ${x.ids}, after the first ${counts[0]!.ids}`,
    );
  }
  assert.equal(counts.at(-1)!.heap, counts[1]!.heap, 'the wasm heap grew after the second step');
});
