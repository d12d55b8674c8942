// Starting a run from an NVIDIA pickle (the reference's --resume): G, G_ema and D from the file,
// ADA p from its augment_pipe, and at another resolution exactly the tensors that match; a run
// started so resumes bit-exactly like any other.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadCheckpoint, saveCheckpoint } from '../../main/core/netfile/checkpoint.js';
import { RandomState } from '../../main/core/gan/rng.js';
import { GanTrainer } from '../../main/core/gan/training.js';
import { describeTransfer, trainerFromNetworkFile } from '../../main/core/netfile/transfer.js';
import { tempDir } from '../helpers/paths.js';
import { backendReady } from '../helpers/gan.js';
import { PICKLES, expectedTensors } from '../helpers/pickles.js';

const SNAPSHOT = join(PICKLES, 'network-snapshot-000120.pkl');
let tmp: ReturnType<typeof tempDir>;
before(async () => {
  await backendReady;
  tmp = tempDir('pkl-transfer');
});
after(() => tmp.cleanup());

test('at its own resolution every tensor of G, G_ema and D comes from the pickle, and ADA p too', async () => {
  const { trainer, report } = await trainerFromNetworkFile(SNAPSHOT, 1, { batchSize: 4 });
  try {
    const want = expectedTensors();
    for (const set of [trainer.G, trainer.G_ema, trainer.D])
      for (const [name, { data }] of await set.exportRef()) assert.deepEqual(data, want.get(name)!.data, name);
    assert.deepEqual(report.networks, ['G', 'G_ema', 'D']);
    assert.deepEqual(report.fresh, []);
    assert.equal(report.copied, report.total);
    assert.equal(trainer.counters.augmentP, 0.125);
    assert.equal(report.kimg, 120);
    assert.match(
      describeTransfer(report),
      /\(120 kimg\): G, G_ema, D — 187 of 187 tensors kept; ADA p starts at 0\.125/,
    );
  } finally {
    trainer.dispose();
  }
});

test('at another resolution exactly the tensors whose name and shape match are kept; the rest start fresh', async () => {
  for (const resolution of [64, 16]) {
    const seed = 4;
    const { trainer, report } = await trainerFromNetworkFile(SNAPSHOT, seed, { resolution, batchSize: 4 });
    const fresh = new GanTrainer(trainer.config, seed); // what a run from scratch would start with
    try {
      const want = expectedTensors();
      let kept = 0;
      for (const [set, base] of [
        [trainer.G, fresh.G],
        [trainer.G_ema, fresh.G_ema],
        [trainer.D, fresh.D],
      ] as const) {
        const init = await base.exportRef();
        for (const [name, { spec, data }] of await set.exportRef()) {
          const file = want.get(name);
          const matches = file !== undefined && file.shape.join() === spec.refShape.join();
          assert.deepEqual(data, matches ? file.data : init.get(name)!.data, `${resolution}²: ${name}`);
          if (matches) kept++;
        }
      }
      assert.equal(report.copied, kept);
      assert.ok(kept > 0 && kept < report.total, `${resolution}²: ${kept} of ${report.total}`);
      if (resolution === 64)
        assert.ok(report.fresh.includes('G.synthesis.b64') && report.kept.includes('G.synthesis.b16'));
      if (resolution === 16) assert.ok(report.kept.includes('G.mapping') && report.fresh.includes('D.b16'));
    } finally {
      fresh.dispose();
      trainer.dispose();
    }
  }
});

test('a run started from a pickle resumes bit-exactly', async () => {
  const reals = (i: number): tf.Tensor4D => tf.tensor4d(new RandomState(i).randnF32(4 * 32 * 32 * 3), [4, 32, 32, 3]);
  const { trainer } = await trainerFromNetworkFile(SNAPSHOT, 7, { batchSize: 4, freezeD: 2 });
  const file = join(tmp.dir, 'after-2.safetensors');
  let resumed: GanTrainer | null = null;
  try {
    for (let i = 0; i < 2; i++) await trainer.trainStep(reals(i));
    await saveCheckpoint(trainer, file);
    await trainer.trainStep(reals(2));
    resumed = await loadCheckpoint(file);
    await resumed.trainStep(reals(2));
    for (const [a, b] of [
      [trainer.G, resumed.G],
      [trainer.G_ema, resumed.G_ema],
      [trainer.D, resumed.D],
    ] as const) {
      const x = await a.exportRef();
      const y = await b.exportRef();
      for (const [name, { data }] of x) assert.deepEqual(y.get(name.replace(/^[^.]+/, b.prefix))!.data, data, name);
    }
    assert.deepEqual(resumed.counters, trainer.counters);
  } finally {
    resumed?.dispose();
    trainer.dispose();
  }
});

test('a converted TensorFlow pickle starts a run too, and it trains (the reference itself stumbles here)', async () => {
  const { trainer, report } = await trainerFromNetworkFile(join(PICKLES, 'stylegan2-tf.pkl'), 2, { batchSize: 4 });
  const reals = tf.tensor4d(new RandomState(3).randnF32(4 * 32 * 32 * 3), [4, 32, 32, 3]);
  try {
    assert.deepEqual(
      [report.networks, report.copied === report.total, report.augmentP],
      [['G', 'G_ema', 'D'], true, null],
    );
    const want = expectedTensors();
    for (const set of [trainer.G, trainer.G_ema, trainer.D])
      for (const [name, { data }] of await set.exportRef()) assert.deepEqual(data, want.get(name)!.data, name);
    for (let i = 0; i < 2; i++) await trainer.trainStep(reals);
    const stats = await trainer.takeStats();
    assert.ok(Number.isFinite(stats.lossG) && Number.isFinite(stats.lossD), JSON.stringify(stats));
  } finally {
    reals.dispose();
    trainer.dispose();
  }
});
