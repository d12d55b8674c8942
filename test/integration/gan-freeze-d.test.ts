// Freeze-D (the reference's --freezed): D's first N layers keep their weights bit for bit while
// training goes on, counted as the reference counts them; a checkpoint keeps the setting.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadCheckpoint, saveCheckpoint } from '../../main/core/netfile/checkpoint.js';
import { frozenDParams } from '../../main/core/gan/discriminator.js';
import { RandomState } from '../../main/core/gan/rng.js';
import { GanTrainer } from '../../main/core/gan/training.js';
import { tempDir } from '../helpers/paths.js';
import { backendReady, micro } from '../helpers/gan.js';

let tmp: ReturnType<typeof tempDir>;
before(async () => {
  await backendReady;
  tmp = tempDir('freezed');
});
after(() => tmp.cleanup());

test("Freeze-D counts layers as the reference does: fromRGB, then each block's conv0, conv1, skip", () => {
  const c = micro(); // 16²: blocks b16, b8
  assert.deepEqual(frozenDParams(c, 0), []);
  assert.deepEqual(frozenDParams(c, 2), [
    'b16.fromrgb.weight',
    'b16.fromrgb.bias',
    'b16.conv0.weight',
    'b16.conv0.bias',
  ]);
  assert.deepEqual(frozenDParams(c, 5).slice(-3), ['b16.skip.weight', 'b8.conv0.weight', 'b8.conv0.bias']);
  assert.ok(!frozenDParams(c, 99).some((n) => n.startsWith('b4.')), 'the epilogue is never frozen');
  assert.throws(() => micro({ freezeD: -1 }), /freezeD must be a whole number/);
});

test('frozen layers stay bit-identical through D and R1 steps; the others train', async () => {
  const config = micro({ freezeD: 4 }); // all of b16
  const trainer = new GanTrainer(config, 5);
  const rng = new RandomState(2);
  const reals = tf.tensor4d(rng.randnF32(4 * 16 * 16 * 3), [4, 16, 16, 3]);
  try {
    const before = await trainer.D.exportRef();
    for (let i = 0; i < 3; i++) await trainer.trainStep(reals); // step 0 runs every phase, R1 included
    const after = await trainer.D.exportRef();
    const frozen = new Set(frozenDParams(config, 4).map((n) => `D.${n}`));
    assert.equal(frozen.size, 7);
    for (const [name, { spec, data }] of after) {
      if (!spec.trainable) continue;
      const same = data.every((v, i) => Object.is(v, before.get(name)!.data[i]));
      assert.equal(same, frozen.has(name), `${name} ${frozen.has(name) ? 'must not move' : 'must train'}`);
    }
    // the setting travels with the run: a checkpoint of it resumes frozen
    const file = join(tmp.dir, 'frozen.safetensors');
    await saveCheckpoint(trainer, file);
    const again = await loadCheckpoint(file);
    try {
      assert.equal(again.config.freezeD, 4);
      assert.equal(again.optD.frozen.size, 7);
    } finally {
      again.dispose();
    }
  } finally {
    reals.dispose();
    trainer.dispose();
  }
});
